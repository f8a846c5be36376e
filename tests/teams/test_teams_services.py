from __future__ import annotations

import httpx
import pytest

from flora import APIConnectionError, AuthenticationError, Flora
from teams import services
from teams.models import FloraConnection, SecretChange, Team

pytestmark = pytest.mark.django_db


def _fake_flora(monkeypatch, handler) -> list[httpx.Request]:
    """Route teams.services to a stub FLORA (for faults the sandbox cannot produce)."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record))
    monkeypatch.setattr("teams.services.get_http_client", lambda: client)
    return seen


# --- flora_client -----------------------------------------------------------------------


def test_flora_client_uses_the_decrypted_key_and_shared_http_client(monkeypatch, team_a):
    seen = _fake_flora(
        monkeypatch,
        lambda r: httpx.Response(200, json={"workspaces": []}, headers={"request-id": "req_1"}),
    )
    client = services.flora_client(team_a)
    assert isinstance(client, Flora)
    assert client.base_url == "http://testserver/sandbox/api/v1"
    assert client.timeout == 30 and client.max_retries == 2
    assert client._http is services.get_http_client()
    client.workspaces.list()
    assert seen[0].headers["authorization"] == "Bearer sk_sandbox_demo"
    assert str(seen[0].url) == "http://testserver/sandbox/api/v1/workspaces"
    assert "sk_sandbox_demo" not in repr(client)


def test_the_real_http_client_is_one_per_process(monkeypatch):
    monkeypatch.undo()  # the suite's guard replaces get_http_client; look at the real one
    monkeypatch.setattr(services, "_http_client", None)
    first = services.get_http_client()
    assert services.get_http_client() is first
    assert first.follow_redirects is False
    first.close()
    monkeypatch.setattr(services, "_http_client", None)


def test_no_connection_is_a_clear_error(db):
    team = Team.objects.create(name="Bare", slug="bare")
    with pytest.raises(services.NoConnection, match="Bare is not connected to FLORA"):
        services.flora_client(team)


def test_no_workspaces_is_a_clear_error(team_a):
    FloraConnection.objects.filter(team=team_a).update(workspace_ids=[])
    team_a.refresh_from_db()
    with pytest.raises(services.NoConnection, match="No FLORA workspace is chosen for Acme"):
        services.flora_client(team_a)


def test_no_key_is_a_clear_error(team_a):
    FloraConnection.objects.filter(team=team_a).update(api_key_encrypted="")
    team_a.refresh_from_db()
    with pytest.raises(services.NoConnection, match="no FLORA API key"):
        services.flora_client(team_a)


# --- check_connection against the in-process sandbox ------------------------------------


def test_check_connection_records_the_workspaces(sandbox_http, team_a):
    connection = team_a.connection
    workspaces = services.check_connection(connection)
    assert [ws.workspace_id for ws in workspaces] == ["ws_demo", "ws_brand"]
    fresh = FloraConnection.objects.get(pk=connection.pk)
    assert fresh.status == "ok"
    assert fresh.last_checked_at is not None
    assert (fresh.last_error, fresh.last_request_id) == ("", "")
    assert [ws["workspace_id"] for ws in fresh.available_workspaces] == ["ws_demo", "ws_brand"]
    assert fresh.available_workspaces[0]["name"] == "Demo Studio"


def test_check_connection_records_a_rejected_key(sandbox_http, team_a):
    connection = team_a.connection
    services.save_connection(connection, actor="test", api_key="sk_sandbox_wrong_key")
    with pytest.raises(AuthenticationError):
        services.check_connection(connection)
    fresh = FloraConnection.objects.get(pk=connection.pk)
    assert fresh.status == "failing"
    assert fresh.last_error.startswith("HTTP 401")
    assert fresh.last_request_id.startswith("req_")
    assert "sk_sandbox_wrong_key" not in fresh.last_error


def test_check_connection_records_a_network_failure(monkeypatch, team_a):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    _fake_flora(monkeypatch, refuse)
    monkeypatch.setattr(Flora, "__init__", _no_sleep_init(Flora.__init__))
    with pytest.raises(APIConnectionError):
        services.check_connection(team_a.connection)
    fresh = FloraConnection.objects.get(team=team_a)
    assert fresh.status == "failing" and "connection refused" in fresh.last_error


def _no_sleep_init(init):
    def wrapped(self, **kwargs):
        init(self, **kwargs)
        self._sleep = lambda seconds: None

    return wrapped


def test_check_connection_does_not_overwrite_a_key_saved_meanwhile(sandbox_http, team_a):
    stale = FloraConnection.objects.get(team=team_a)
    services.save_connection(
        FloraConnection.objects.get(team=team_a), actor="test", api_key="sk_sandbox_other"
    )
    services.check_connection(stale)  # still holds the old key in memory
    fresh = FloraConnection.objects.get(team=team_a)
    assert fresh.decrypt_api_key() == "sk_sandbox_other"


def test_mark_failing_records_error_and_request_id(team_a):
    class FakeError(Exception):
        request_id = "req_abc"

    services.mark_failing(team_a.connection, FakeError("FLORA said no"))
    fresh = FloraConnection.objects.get(team=team_a)
    assert (fresh.status, fresh.last_error, fresh.last_request_id) == (
        "failing",
        "FLORA said no",
        "req_abc",
    )
    services.mark_failing(team_a.connection, "plain text")
    assert FloraConnection.objects.get(team=team_a).last_error == "plain text"


# --- save_connection: audit -------------------------------------------------------------


def test_every_secret_change_is_audited_without_the_value(team_a, alice):
    connection = team_a.connection
    SecretChange.objects.all().delete()
    new_key = "sk_live_Q1w2E3r4T5y6U7i8O9p0A1s2D3f4"
    services.save_connection(connection, actor=alice, api_key=new_key)
    services.save_connection(connection, actor=alice, clear_webhook_secret=True)
    services.save_connection(connection, actor="command-line")  # no secret: no audit row
    rows = list(SecretChange.objects.order_by("id"))
    assert [(r.secret, r.hint, r.actor, r.actor_label, r.team_name) for r in rows] == [
        ("api_key", "sk_live_…D3f4", alice, "alice", "Acme"),
        ("webhook_secret", "", alice, "alice", "Acme"),
    ]
    assert rows[0].created_at is not None
    assert not connection.has_webhook_secret
    for row in rows:
        assert new_key not in repr(row) and new_key not in str(row)


def test_audit_rows_outlive_the_team(team_a):
    team_a.delete()
    assert set(SecretChange.objects.values_list("team", "team_name")) == {(None, "Acme")}
