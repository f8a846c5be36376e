"""Fixtures of the runs tests: FLORA counted, FLORA faked with respx, a hostile file host."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from florasite.lib import public_http
from tests.hostile import HostileFlora
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
