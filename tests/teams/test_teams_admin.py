from __future__ import annotations

import re

import pytest

from teams.models import FloraConnection, SecretChange, Team

pytestmark = pytest.mark.django_db

NEW_KEY = "sk_live_P0o9I8u7Y6t5R4e3W2q1A2s3D4f5"


def _change_url(team: Team) -> str:
    return f"/admin/teams/team/{team.pk}/change/"


def _post_change(admin_client, read_form, team: Team, **changes: str | list[str]):
    html = admin_client.get(_change_url(team)).content.decode()
    data = read_form(html, "team_form")
    for name, value in changes.items():
        data[name] = value if isinstance(value, list) else [value]
    data["_continue"] = ["Save and continue editing"]
    return admin_client.post(_change_url(team), data, follow=True)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/teams/team/",
        "/admin/teams/team/?q=acme",
        "/admin/teams/team/?connection__status__exact=ok",
        "/admin/teams/team/add/",
        "/admin/teams/membership/",
        "/admin/teams/membership/?role__exact=manager&q=alice",
        "/admin/teams/floraconnection/",
        "/admin/teams/floraconnection/?status__exact=unchecked&q=acme",
        "/admin/teams/secretchange/",
        "/admin/teams/secretchange/?secret__exact=api_key&q=acme",
    ],
)
def test_admin_pages_render_without_the_key(admin_client, alice, bob, team_a, team_b, url):
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "sk_sandbox_demo" not in html and "whsec_sandbox_demo" not in html
    assert team_a.connection.api_key_encrypted not in html


def test_object_pages_render_without_the_key(admin_client, alice, team_a):
    connection = team_a.connection
    membership = alice.team_memberships.get()
    change = SecretChange.objects.filter(team=team_a).first()
    for url in (
        _change_url(team_a),
        f"/admin/teams/team/{team_a.pk}/history/",
        f"/admin/teams/floraconnection/{connection.pk}/change/",
        f"/admin/teams/membership/{membership.pk}/change/",
        f"/admin/teams/secretchange/{change.pk}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "sk_sandbox_demo" not in html and "whsec_sandbox_demo" not in html, url
        assert connection.api_key_encrypted not in html, url


def test_change_page_shows_hints_and_write_only_inputs(admin_client, team_a):
    html = admin_client.get(_change_url(team_a)).content.decode()
    assert "Current key: sk_sandbox_…demo (write-only)" in html
    assert "Current secret: whsec_sandbox_…demo (write-only)" in html
    for name in ("connection-0-api_key", "connection-0-webhook_secret"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        assert 'type="password"' in tag and "value=" not in tag
        assert 'autocomplete="new-password"' in tag
    assert "Test connection" in html
    assert f"/hooks/flora/{team_a.webhook_token}<" in html


def test_blank_secret_fields_keep_the_current_values(admin_client, read_form, sandbox_http, team_a):
    before = FloraConnection.objects.get(team=team_a)
    audit_rows = SecretChange.objects.count()
    response = _post_change(admin_client, read_form, team_a, name="Acme Corp")
    assert response.status_code == 200
    assert Team.objects.get(pk=team_a.pk).name == "Acme Corp"
    after = FloraConnection.objects.get(team=team_a)
    assert after.api_key_encrypted == before.api_key_encrypted
    assert after.webhook_secret_encrypted == before.webhook_secret_encrypted
    assert SecretChange.objects.count() == audit_rows


def test_a_new_key_is_stored_encrypted_audited_and_checked(
    admin_client, admin_user, read_form, sandbox_http, team_a, caplog
):
    caplog.set_level("DEBUG")
    response = _post_change(
        admin_client, read_form, team_a, **{"connection-0-api_key": "sk_sandbox_other"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "sk_sandbox_other" not in html

    connection = FloraConnection.objects.get(team=team_a)
    assert connection.decrypt_api_key() == "sk_sandbox_other"
    change = SecretChange.objects.latest("id")
    assert (change.secret, change.hint, change.actor, change.team) == (
        "api_key",
        "sk_sandbox_…ther",
        admin_user,
        team_a,
    )
    # The check on save ran against the sandbox: this key sees ws_other only.
    assert connection.status == "ok"
    messages = _messages(response)
    assert any("Other Customer (ws_other)" in m for m in messages), messages
    assert any("cannot see the team's workspace(s) ws_demo, ws_brand" in m for m in messages)
    assert "sk_sandbox_other" not in caplog.text


def test_a_key_flora_rejects_is_not_saved_and_says_why(admin_client, read_form, upstream, team_a):
    before = FloraConnection.objects.get(team=team_a)
    audit_rows = SecretChange.objects.count()
    response = _post_change(admin_client, read_form, team_a, **{"connection-0-api_key": NEW_KEY})
    html = response.content.decode()
    assert response.status_code == 200
    assert "FLORA refused this key: HTTP 401 unauthorized" in html
    assert "It was not saved; the current key is kept." in html
    assert NEW_KEY not in html
    assert "changed successfully" not in html
    assert not any("changed successfully" in m for m in _messages(response))
    after = FloraConnection.objects.get(team=team_a)
    assert after.api_key_encrypted == before.api_key_encrypted
    assert after.decrypt_api_key() == "sk_sandbox_demo"
    assert (after.status, after.last_error) == (before.status, before.last_error)
    assert SecretChange.objects.count() == audit_rows
    # Only the candidate was tried: the working key was not marked failing by it.
    assert upstream.calls("GET", "/workspaces") == 1


def test_a_key_is_not_saved_when_flora_cannot_be_asked(admin_client, read_form, upstream, team_a):
    upstream.drop(path="/workspaces")
    before = FloraConnection.objects.get(team=team_a)
    response = _post_change(
        admin_client, read_form, team_a, **{"connection-0-api_key": "sk_sandbox_other"}
    )
    html = response.content.decode()
    assert "FLORA could not be asked whether this key works" in html
    assert "changed successfully" not in html
    after = FloraConnection.objects.get(team=team_a)
    assert after.api_key_encrypted == before.api_key_encrypted


def test_a_new_team_with_a_rejected_key_is_not_created(admin_client, read_form, sandbox_http):
    data = read_form(admin_client.get("/admin/teams/team/add/").content.decode(), "team_form")
    data.update(
        {
            "name": ["Northwind"],
            "slug": ["northwind"],
            "connection-0-base_url": ["http://testserver/sandbox/api/v1"],
            "connection-0-api_key": ["sk_sandbox_nope"],
            "_save": ["Save"],
        }
    )
    response = admin_client.post("/admin/teams/team/add/", data)
    assert response.status_code == 200
    assert "FLORA refused this key" in response.content.decode()
    assert not Team.objects.filter(slug="northwind").exists()


def test_secret_can_be_removed(admin_client, read_form, sandbox_http, team_a):
    _post_change(admin_client, read_form, team_a, **{"connection-0-clear_webhook_secret": "on"})
    assert not FloraConnection.objects.get(team=team_a).has_webhook_secret
    assert SecretChange.objects.latest("id").hint == ""


def test_invalid_key_is_refused_without_echo(admin_client, read_form, team_a):
    before = FloraConnection.objects.get(team=team_a).api_key_encrypted
    response = _post_change(
        admin_client, read_form, team_a, **{"connection-0-api_key": "sk live spaced key"}
    )
    html = response.content.decode()
    assert "must be one line without spaces" in html
    assert "sk live spaced key" not in html
    assert FloraConnection.objects.get(team=team_a).api_key_encrypted == before


def test_test_connection_button_stores_the_workspaces(admin_client, sandbox_http, team_a):
    response = admin_client.post(f"/admin/teams/team/{team_a.pk}/test-connection/", follow=True)
    assert response.redirect_chain[-1][0] == _change_url(team_a)
    messages = _messages(response)
    assert any("OK" in m and "Demo Studio (ws_demo), Brand Team (ws_brand)" in m for m in messages)
    connection = FloraConnection.objects.get(team=team_a)
    assert connection.status == "ok"
    assert [w["workspace_id"] for w in connection.available_workspaces] == ["ws_demo", "ws_brand"]
    # Now the workspaces are offered as checkboxes, the team's current ones ticked.
    html = response.content.decode()
    for ws in ("ws_demo", "ws_brand"):
        tag = re.search(
            rf'<input[^>]*name="connection-0-workspace_ids"[^>]*value="{ws}"[^>]*>', html
        )
        assert tag and "checked" in tag.group(0)


def test_test_connection_with_a_rejected_key_shows_flora_error_and_request_id(
    admin_client, sandbox_http, team_a
):
    from teams.services import save_connection

    save_connection(team_a.connection, actor="test", api_key="sk_sandbox_revoked")
    response = admin_client.post(f"/admin/teams/team/{team_a.pk}/test-connection/", follow=True)
    messages = _messages(response)
    assert any(
        "FLORA refused the connection of Acme: HTTP 401" in m and "request id req_" in m
        for m in messages
    ), messages
    connection = FloraConnection.objects.get(team=team_a)
    assert connection.status == "failing"
    html = response.content.decode()
    assert connection.last_request_id in html  # also on the page, under "Last check"
    assert "sk_sandbox_revoked" not in html


def test_test_connection_needs_post(admin_client, team_a):
    assert admin_client.get(f"/admin/teams/team/{team_a.pk}/test-connection/").status_code == 405


def test_test_connection_action_on_the_changelist(admin_client, sandbox_http, team_a, team_b):
    response = admin_client.post(
        "/admin/teams/team/",
        {"action": "test_connection", "_selected_action": [team_a.pk, team_b.pk]},
        follow=True,
    )
    messages = _messages(response)
    assert any("Connection of Acme OK" in m for m in messages)
    assert any("Connection of Bravo OK" in m and "ws_other" in m for m in messages)
    assert set(FloraConnection.objects.values_list("status", flat=True)) == {"ok"}


def test_connection_changelist_action(admin_client, sandbox_http, team_b):
    response = admin_client.post(
        "/admin/teams/floraconnection/",
        {"action": "test_connection", "_selected_action": [team_b.connection.pk]},
        follow=True,
    )
    assert any("Connection of Bravo OK" in m for m in _messages(response))


def test_add_a_team_then_choose_from_the_keys_workspaces(
    admin_client, admin_user, read_form, sandbox_http
):
    data = read_form(admin_client.get("/admin/teams/team/add/").content.decode(), "team_form")
    data.update(
        {
            "name": ["Northwind"],
            "slug": ["northwind"],
            "connection-0-base_url": ["http://testserver/sandbox/api/v1"],
            "connection-0-api_key": ["sk_sandbox_demo"],
            "_save": ["Save"],
        }
    )
    response = admin_client.post("/admin/teams/team/add/", data, follow=True)
    team = Team.objects.get(slug="northwind")
    # Saved without workspaces: back on the change page, which now offers the key's ones.
    assert response.redirect_chain[-1][0] == _change_url(team)
    assert any("choose the workspaces" in m for m in _messages(response))
    html = response.content.decode()
    assert "sk_sandbox_demo" not in html
    assert 'value="ws_brand"' in html

    response = _post_change(
        admin_client,
        read_form,
        team,
        **{
            "connection-0-workspace_ids": ["ws_brand"],
            "connection-0-default_workspace_id": "",
        },
    )
    connection = FloraConnection.objects.get(team=team)
    assert connection.workspace_ids == ["ws_brand"]
    assert connection.default_workspace_id == "ws_brand"
    assert SecretChange.objects.get(team=team).actor == admin_user


def test_a_chosen_connection_needs_at_least_one_workspace(
    admin_client, read_form, sandbox_http, team_a
):
    admin_client.post(f"/admin/teams/team/{team_a.pk}/test-connection/")
    response = _post_change(admin_client, read_form, team_a, **{"connection-0-workspace_ids": []})
    assert "This field is required" in response.content.decode()
    assert FloraConnection.objects.get(team=team_a).workspace_ids == ["ws_demo", "ws_brand"]


def test_a_new_connection_needs_a_key(admin_client, read_form):
    data = read_form(admin_client.get("/admin/teams/team/add/").content.decode(), "team_form")
    data.update(
        {
            "name": ["Keyless"],
            "slug": ["keyless"],
            "connection-0-workspace_ids": ["ws_demo"],
            "_save": ["Save"],
        }
    )
    response = admin_client.post("/admin/teams/team/add/", data)
    assert response.status_code == 200
    assert "Enter the team&#x27;s FLORA API key." in response.content.decode()
    assert not Team.objects.filter(slug="keyless").exists()


def test_audit_trail_is_read_only(admin_client, team_a):
    change = SecretChange.objects.get(team=team_a, secret="api_key")
    assert admin_client.get("/admin/teams/secretchange/add/").status_code == 403
    page = admin_client.get(f"/admin/teams/secretchange/{change.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = admin_client.post(
        f"/admin/teams/secretchange/{change.pk}/change/", {"hint": "forged"}
    )
    assert response.status_code == 403
    assert SecretChange.objects.get(pk=change.pk).hint == "sk_sandbox_…demo"
    assert admin_client.post(f"/admin/teams/secretchange/{change.pk}/delete/").status_code == 403


def test_connections_are_edited_on_the_team_page_only(admin_client, team_a):
    assert admin_client.get("/admin/teams/floraconnection/add/").status_code == 403
    html = admin_client.get(
        f"/admin/teams/floraconnection/{team_a.connection.pk}/change/"
    ).content.decode()
    assert _change_url(team_a) in html
    assert 'name="api_key"' not in html


def test_test_connection_of_a_malformed_id_is_not_a_server_error(admin_client):
    # Not our URL any more (ids are numbers): the admin's own "no such object" handling.
    response = admin_client.post("/admin/teams/team/abc/test-connection/", follow=True)
    assert response.status_code == 200
    assert "doesn’t exist" in response.content.decode()
