"""Fixtures shared by the whole suite.

App-specific fixtures live in tests/<app>/conftest.py; here are those every folder uses: the
cast of users and teams (alice, bob, carol, dave), FLORA (`upstream`, `sandbox_http`) and the
sandbox's clock. tests/README.md says which FLORA fixture to use when.
"""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(settings: object) -> None:
    """Give every test its own cache namespace.

    The database cache is rolled back with each test's transaction, but Redis (the CI run on
    PostgreSQL) is shared, so each test gets a key prefix of its own instead of a flush.
    """
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    for conf in caches.values():
        conf["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


# --- The cast: teams A and B, alice/bob/carol in A, dave in B ----------------------------
# Users have no password at all (clients use force_login): nothing to leak into logs.

SANDBOX_BASE_URL = "http://testserver/sandbox/api/v1"


@pytest.fixture(autouse=True)
def _no_real_flora(monkeypatch: pytest.MonkeyPatch) -> None:
    """A FLORA call from a test must never reach the network: it fails loudly instead.

    Tests that talk to FLORA use `upstream`/`sandbox_http` (the in-process sandbox) or respx.
    """
    import httpx

    def refuse(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(
            f"A test tried to reach FLORA at {request.url.host}: use the sandbox_http fixture."
        )

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    monkeypatch.setattr("teams.services.get_http_client", lambda: client)
    # Team ids are reused across tests: every test starts with closed breakers.
    from teams import upstream

    upstream.reset()


def make_team(
    name: str,
    slug: str,
    *,
    api_key: str,
    workspaces: list[str],
    base_url: str = SANDBOX_BASE_URL,
    webhook_secret: str | None = None,
    checked: bool = True,
):
    """A team connected to FLORA (by default the in-process sandbox).

    ``checked``: as if an admin had tested the connection (workspace names known); pass False
    for a team set up from the command line and never checked.
    """
    from django.utils import timezone

    from teams.models import FloraConnection, Team
    from teams.services import save_connection

    team = Team.objects.create(name=name, slug=slug)
    connection = FloraConnection(team=team, base_url=base_url, workspace_ids=workspaces)
    save_connection(connection, actor="test setup", api_key=api_key, webhook_secret=webhook_secret)
    if checked:
        FloraConnection.objects.filter(pk=connection.pk).update(
            last_checked_at=timezone.now(),
            available_workspaces=[
                {"workspace_id": ws, "name": SANDBOX_WORKSPACE_NAMES.get(ws, ws), "role": "admin"}
                for ws in workspaces
            ],
        )
    return team


SANDBOX_WORKSPACE_NAMES = {"ws_demo": "Demo Studio", "ws_brand": "Brand Team", "ws_other": "Other"}


def make_member(username: str, team, role: str):
    from django.contrib.auth import get_user_model

    from teams.models import Membership

    user = get_user_model().objects.create_user(username)  # no usable password
    Membership.objects.create(user=user, team=team, role=role)
    return user


@pytest.fixture
def team_a(db):
    """Team A, "Acme", on the sandbox with sk_sandbox_demo: ws_demo + ws_brand, default ws_demo."""
    return make_team(
        "Acme",
        "acme",
        api_key="sk_sandbox_demo",
        webhook_secret="whsec_sandbox_demo",
        workspaces=["ws_demo", "ws_brand"],
    )


@pytest.fixture
def team_b(db):
    """Team B, "Bravo", on the sandbox with sk_sandbox_other: ws_other."""
    return make_team("Bravo", "bravo", api_key="sk_sandbox_other", workspaces=["ws_other"])


@pytest.fixture
def alice(team_a):
    """Manager of team A."""
    return make_member("alice", team_a, "manager")


@pytest.fixture
def bob(team_a):
    """Member of team A."""
    return make_member("bob", team_a, "member")


@pytest.fixture
def carol(team_a):
    """Viewer of team A."""
    return make_member("carol", team_a, "viewer")


@pytest.fixture
def dave(team_b):
    """Member of team B only."""
    return make_member("dave", team_b, "member")


def _logged_in(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice):
    return _logged_in(alice)


@pytest.fixture
def bob_client(bob):
    return _logged_in(bob)


@pytest.fixture
def carol_client(carol):
    return _logged_in(carol)


@pytest.fixture
def dave_client(dave):
    return _logged_in(dave)


# --- FLORA and its clock (tests/README.md says which fake to use when) ----------------------


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch, db):
    """FLORA for a test: the sandbox served by this very Django, in-process, behind a
    transport that records every request and can fail on demand
    (tests/runs/submit_helpers.Upstream: calls(), creates, get_run, fail(), drop()...).

    Requests run in the test's thread and transaction, so the sandbox sees the test's data.
    """
    from tests.runs.submit_helpers import upstream_for_tests

    with upstream_for_tests(monkeypatch) as flora:
        yield flora


@pytest.fixture
def sandbox_http(upstream):
    """The same FLORA, for tests that only need it to be there: the httpx client that
    teams.services hands out."""
    return upstream.client


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """The sandbox's clock, frozen: sandbox runs move on only when the test says so
    (clock.advance(seconds), clock.advance_past(run_id))."""
    from sandbox.testing import FrozenClock

    return FrozenClock.install(monkeypatch)


@pytest.fixture
def fake_assets(monkeypatch: pytest.MonkeyPatch):
    """FLORA's assets resource replaced by a recorder (tests/uploads/fakes.py) that answers
    a ready asset: for upload tests that need no sandbox."""
    from tests.uploads.fakes import FakeAssets

    fake = FakeAssets()
    monkeypatch.setattr("uploads.services._assets", lambda client: fake)
    return fake
