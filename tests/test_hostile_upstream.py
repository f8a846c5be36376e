"""A slow or huge FLORA (a real server on 127.0.0.1) cannot hold a thread or fill memory.

Every FLORA call has a total deadline enforced on the socket (flora._transport), bodies are
read up to a limit, and one team's calls pass through that team's bulkhead and breaker
(teams.upstream). Each test here hung, grew, or held threads before those existed; each is
bounded in time by the server's own limits.
"""

from __future__ import annotations

import threading
import time
import tracemalloc

import httpx
import pytest

from flora import APIResponseValidationError, APITimeoutError, Flora, RequestNotSent
from tests.conftest import make_member, make_team
from tests.hostile import HostileFlora, answer, drip, huge

TECHNIQUES = b'{"techniques": [], "meta": {"next_cursor": null}}'
WORKSPACES = {"workspaces": [{"workspace_id": "ws_h", "name": "Hostile", "role": "admin"}]}


@pytest.fixture
def hostile():
    with HostileFlora() as server:
        server.route("/api/v1/workspaces", answer(WORKSPACES))
        yield server


def _client(server: HostileFlora, **options) -> Flora:
    from teams.services import new_http_client

    return Flora(
        api_key="sk_test_hostile_0000000000",
        base_url=f"{server.url}/api/v1",
        http_client=new_http_client(),
        **options,
    )


# --- the client: deadlines and body limits -------------------------------------------------


@pytest.mark.parametrize(
    ("headers_first", "every"), [(True, 3.0), (False, 0.2)], ids=["body-drip", "header-drip"]
)
def test_a_slow_drip_is_cut_at_the_deadline_not_after_every_byte(hostile, headers_first, every):
    # A byte every few seconds never trips a 30 s read timeout, and no chunk arrives to be
    # checked between; the 1 s deadline still holds, on the socket.
    hostile.route("/api/v1/techniques", drip(TECHNIQUES, every=every, headers_first=headers_first))
    client = _client(hostile, deadline=1.0, max_retries=0)
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        client.techniques.list()
    assert time.monotonic() - started < 1.5


def test_the_deadline_covers_retries_and_their_waits(hostile):
    hostile.route("/api/v1/techniques", drip(TECHNIQUES, every=0.2))
    client = _client(hostile, deadline=1.5, max_retries=5)
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        client.techniques.list()
    assert time.monotonic() - started < 2.5
    # The first attempt used the whole deadline: no time was left for a second one.
    assert len(hostile.hits) == 1


def test_with_options_changes_a_copy_and_shares_the_pool(hostile):
    client = _client(hostile, deadline=30.0)
    quick = client.with_options(deadline=1.0, max_retries=0)
    assert (client.deadline, client.max_retries) == (30.0, 2)
    assert (quick.deadline, quick.max_retries) == (1.0, 0)
    assert quick._http is client._http
    quick.close()  # a copy never closes the shared pool
    assert not client._http.is_closed


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "no-length"])
def test_a_huge_answer_is_refused_without_reading_it_into_memory(hostile, declare_length):
    hostile.route("/api/v1/techniques", huge(1024**3, declare_length=declare_length))
    client = _client(hostile, deadline=10.0, max_retries=2)
    tracemalloc.start()
    try:
        with pytest.raises(APIResponseValidationError, match="larger than the 8 MB limit"):
            client.techniques.list()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024**2
    # Not retried: the same request would get the same answer.
    assert len(hostile.hits) == 1


def test_a_huge_error_body_is_refused_too(hostile):
    def huge_error(handler):
        handler.send_response(500)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(1024**3))
        handler.end_headers()
        handler.wfile.write(b"{")

    hostile.route("/api/v1/techniques", huge_error)
    with pytest.raises(APIResponseValidationError, match="larger than"):
        _client(hostile, max_retries=0).techniques.list()


# --- the dashboard: one team's slow FLORA holds a bounded number of threads -----------------


@pytest.fixture
def real_http(monkeypatch, hostile):
    """FLORA calls over real sockets to the hostile server; the sandbox stays in-process."""
    from sandbox.testing import wsgi_transport
    from teams import services

    with wsgi_transport() as sandbox:
        client = httpx.Client(
            timeout=services.FLORA_TIMEOUT,
            mounts={"http://testserver": sandbox, "all://": services.new_http_client()._transport},
        )
        monkeypatch.setattr("teams.services.get_http_client", lambda: client)
        from django.conf import settings

        monkeypatch.setattr(settings, "FLORA_PAGE_DEADLINE", 1.0)
        yield client


@pytest.fixture
def hostile_team(db, hostile):
    return make_team(
        "Hostile",
        "hostile",
        api_key="sk_test_hostile_0000000000",
        workspaces=["ws_h"],
        base_url=f"{hostile.url}/api/v1",
    )


def test_a_teams_slow_flora_takes_two_page_slots_and_no_more(
    hostile, hostile_team, real_http, team_b, dave_client
):
    from django.test import Client

    from teams.services import interactive_client

    hostile.route("/api/v1/techniques", drip(TECHNIQUES, every=0.1))
    # Two of the team's page calls are stuck in the drip...
    stuck = [interactive_client(hostile_team) for _ in range(2)]
    errors: list[BaseException] = []

    def wait(client):
        try:
            client.techniques.list()
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=wait, args=(c,)) for c in stuck]
    for thread in threads:
        thread.start()
    time.sleep(0.3)

    # ...so a third is refused at once, with words, instead of taking another thread.
    member = Client()
    member.force_login(make_member("hank", hostile_team, "member"))
    started = time.monotonic()
    page = member.get("/techniques/")
    assert time.monotonic() - started < 0.5
    assert page.status_code == 503
    assert "still waiting for FLORA" in page.content.decode()

    # Another team's catalog (the sandbox) is served as usual meanwhile.
    other = dave_client.get("/techniques/")
    assert other.status_code == 200

    for thread in threads:
        thread.join(5)
    assert len(errors) == 2 and all(isinstance(e, APITimeoutError) for e in errors)


def test_after_two_slow_timeouts_the_team_is_refused_at_once_then_tried_again(
    hostile, hostile_team, real_http, monkeypatch
):
    from teams import upstream
    from teams.services import interactive_client

    hostile.route("/api/v1/techniques", drip(TECHNIQUES, every=0.1))
    for _ in range(2):
        with pytest.raises(APITimeoutError):
            interactive_client(hostile_team).techniques.list()
    hits = len(hostile.hits)

    started = time.monotonic()
    with pytest.raises(RequestNotSent, match="not been answering"):
        interactive_client(hostile_team).techniques.list()
    assert time.monotonic() - started < 0.2
    assert len(hostile.hits) == hits  # nothing was sent

    # Once the breaker's time is up, the next call goes through (and closes it).
    monkeypatch.setattr(upstream.guard_for(hostile_team.pk), "_open_until", 0.0)
    hostile.route("/api/v1/techniques", answer({"techniques": [], "meta": {}}))
    hostile._server.routes.reverse()  # the normal answer first
    assert interactive_client(hostile_team).techniques.list().items == []
    assert not upstream.guard_for(hostile_team.pk).is_open


def test_the_catalog_page_answers_within_the_page_deadline(hostile, hostile_team, real_http):
    from django.test import Client

    hostile.route("/api/v1/techniques", drip(TECHNIQUES, every=0.1))
    member = Client()
    member.force_login(make_member("hank", hostile_team, "member"))
    started = time.monotonic()
    page = member.get("/techniques/")
    assert time.monotonic() - started < 2.0
    assert page.status_code == 503
    assert "FLORA is not answering" in page.content.decode()


def test_the_status_fragment_answers_within_its_deadline(hostile, hostile_team, real_http):
    from django.test import Client

    from runs.models import Run, RunStatus

    run = Run.objects.create(
        team=hostile_team,
        technique_id="tech_x",
        technique_name="X",
        status=RunStatus.RUNNING,
        flora_run_id="run_1",
        workspace_id="ws_h",
    )
    hostile.route("/api/v1/techniques/tech_x/runs/run_1", drip(b'{"run_id": "run_1"}', every=0.1))
    member = Client()
    member.force_login(make_member("hank", hostile_team, "member"))
    started = time.monotonic()
    response = member.get(f"/runs/{run.code}/status", HTTP_HX_REQUEST="true")
    assert time.monotonic() - started < 7.0  # the fragment's own 5 s deadline, not minutes
    assert response.status_code == 200
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING


def test_a_check_refused_by_the_teams_guard_does_not_mark_the_key_failing(
    hostile, hostile_team, real_http
):
    from teams import upstream
    from teams.models import ConnectionStatus, FloraConnection
    from teams.services import check_connection

    connection = FloraConnection.objects.get(team=hostile_team)
    FloraConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.OK)
    upstream.guard_for(hostile_team.pk)._open_until = time.monotonic() + 30
    with pytest.raises(RequestNotSent):
        check_connection(connection, interactive=True)
    # Nothing reached FLORA, so nothing is known about the key: the connection stays OK.
    assert FloraConnection.objects.get(pk=connection.pk).status == ConnectionStatus.OK
    assert hostile.hits == []
