"""Fixtures of the runs tests: FLORA counted, FLORA faked with respx, a hostile file host,
public DNS for the download guard, and the completed runs several result modules share."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from florasite.lib import public_http
from runs.models import Run, RunOutput, RunStatus
from teams.models import Membership, Role
from tests.hostile import HostileFlora
from tests.runs.results_helpers import CRITIQUE, PUBLIC_IP, UGC, make_run, sandbox_downloads
from tests.runs.submit_helpers import CALLBACK, Upstream

# Where teams point when FLORA's answers are faked with respx (fake_flora).
FAKE_FLORA_ROOT = "http://flora.test/api/v1"


@pytest.fixture
def flora(upstream: Upstream) -> Upstream:
    """The in-process sandbox, counting what it receives (flora.get_run, flora.list_runs)."""
    return upstream


@pytest.fixture
def fake_flora(monkeypatch: pytest.MonkeyPatch, team_a) -> Iterator[respx.MockRouter]:
    """respx where team A's FLORA stands, for answers the sandbox never sends."""
    connection = team_a.connection
    connection.base_url = FAKE_FLORA_ROOT
    connection.save()
    with respx.mock(base_url=FAKE_FLORA_ROOT, assert_all_called=False) as mock:
        client = httpx.Client(transport=httpx.MockTransport(mock.handler))
        monkeypatch.setattr("teams.services.get_http_client", lambda: client)
        yield mock


@pytest.fixture
def _reachable_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A callback URL the sandbox accepts (test settings' http://testserver is refused).

    Used by the submission and reconciliation modules (pytestmark usefixtures).
    """
    monkeypatch.setattr("runs.submit.callback_url_for", lambda team: CALLBACK)
    monkeypatch.setattr("runs.reconcile.callback_url_for", lambda team: CALLBACK)


@pytest.fixture
def hostile(settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileFlora]:
    """The hostile server (tests/hostile.py) as FLORA's file host, reached by the real
    download client: the sandbox origin is the one plain-http loopback address it allows."""
    with HostileFlora() as server:
        settings.PUBLIC_BASE_URL = server.url
        monkeypatch.setattr(public_http, "_client", None)  # a fresh real client for this server
        yield server
        if public_http._client is not None:
            public_http._client.close()


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Resolve every host to a public address unless the test says otherwise."""
    answers: dict[str, list[str]] = {}
    monkeypatch.setattr(
        public_http, "resolve_host", lambda host, port: answers.get(host, [PUBLIC_IP])
    )
    return answers


# -- completed runs of the result-page and share tests -------------------------------------


@pytest.fixture
def runs_by_type(team_a, bob, sandbox_http, clock, monkeypatch) -> dict[str, Run]:
    with sandbox_downloads(monkeypatch):
        return {
            "critique": make_run(team_a, bob, *CRITIQUE, clock),  # text, image, pdf
            "ugc": make_run(team_a, bob, *UGC, clock),  # video, audio
        }


@pytest.fixture
def pending_run(team_a, bob) -> Run:
    run = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="tech_cctv-cam",
        technique_name="CCTV Cam",
        status=RunStatus.COMPLETED,
        completed_at=timezone.now(),
    )
    RunOutput.objects.create(
        run=run,
        output_id="still",
        type="imageUrl",
        source_url="https://cdn.flora-files.example/still.png",
    )
    return run


@pytest.fixture
def run(team_a, bob, sandbox_http, clock, monkeypatch) -> Run:
    """bob's completed Art Director's Critique run: text, image and PDF outputs, kept."""
    with sandbox_downloads(monkeypatch):
        return make_run(team_a, bob, *CRITIQUE, clock)


@pytest.fixture
def erin(team_a):
    """Another member of team A."""
    user = get_user_model().objects.create_user("erin")
    Membership.objects.create(user=user, team=team_a, role=Role.MEMBER)
    return user


@pytest.fixture
def erin_client(erin) -> Client:
    client = Client()
    client.force_login(erin)
    return client
