"""The plaintext API key and webhook secret appear nowhere: not in the database, not in any
rendered page, not in logs or error reports, not in any object's repr."""

from __future__ import annotations

import io
import sys

import httpx
import pytest
from django.core.management import call_command
from django.core.signals import got_request_exception
from django.db import connection as db
from django.test import Client
from django.views.debug import ExceptionReporter

from teams import services
from teams.forms import FloraConnectionForm
from teams.models import FloraConnection, SecretChange, SecretUnavailable

pytestmark = pytest.mark.django_db

# Distinctive values that exist nowhere else (the sandbox rejects them: 401).
KEY = "sk_live_S3cr3tK3yN0b0dyM4yS33_7f3a9c1e"
SECRET = "whsec_S1gn1ngS3cr3tN0b0dyM4yS33_b2d4e6"


def assert_hidden(text: str, where: str = "") -> None:
    for value in (KEY, SECRET):
        assert value not in text, f"plaintext secret found in {where}"
        # Nor a large piece of it (e.g. a truncated or prefixed copy).
        assert value[8:-4] not in text, f"part of a secret found in {where}"


@pytest.fixture
def secret_team(admin_client, read_form, sandbox_http, team_a, monkeypatch):
    """Team A after an admin typed KEY and SECRET into its change page."""
    # The sandbox knows no such key: let the check before saving pass, as real FLORA would.
    monkeypatch.setattr(services, "try_key", lambda *args, **kwargs: [])
    url = f"/admin/teams/team/{team_a.pk}/change/"
    data = read_form(admin_client.get(url).content.decode(), "team_form")
    data["connection-0-api_key"] = [KEY]
    data["connection-0-webhook_secret"] = [SECRET]
    data["_continue"] = ["Save"]
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert_hidden(response.content.decode(), "the page after saving")
    connection = FloraConnection.objects.get(team=team_a)
    assert connection.decrypt_api_key() == KEY  # really stored
    return team_a


def test_database_dump_has_no_plaintext(secret_team):
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue()
    assert "api_key_encrypted" in dump  # the dump does cover the connection
    assert_hidden(dump, "dumpdata")


def test_no_table_holds_the_plaintext(secret_team):
    found_connection_row = False
    with db.cursor() as cursor:
        for table in db.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")
            for row in cursor.fetchall():
                text = " ".join(
                    v.decode("utf-8", "replace") if isinstance(v, bytes | memoryview) else str(v)
                    for v in (bytes(c) if isinstance(c, memoryview) else c for c in row)
                )
                assert_hidden(text, f"table {table}")
                found_connection_row |= table == "teams_floraconnection"
    assert found_connection_row


def test_no_page_shows_the_plaintext(secret_team, admin_client, alice_client):
    connection = secret_team.connection
    change = SecretChange.objects.filter(team=secret_team).first()
    for url in (
        "/admin/teams/team/",
        f"/admin/teams/team/{secret_team.pk}/change/",
        f"/admin/teams/team/{secret_team.pk}/history/",
        "/admin/teams/floraconnection/",
        f"/admin/teams/floraconnection/{connection.pk}/change/",
        "/admin/teams/secretchange/",
        f"/admin/teams/secretchange/{change.pk}/change/",
        "/admin/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert_hidden(response.content.decode(), url)
    # The home page is the catalog, which calls FLORA with the key (rejected: 401).
    assert_hidden(alice_client.get("/", follow=True).content.decode(), "the home page")


def test_logs_have_no_plaintext(secret_team, admin_client, sandbox_http, caplog, capsys):
    caplog.set_level("DEBUG")
    connection = FloraConnection.objects.get(team=secret_team)
    with pytest.raises(Exception):  # noqa: B017 - the sandbox rejects this key (401)
        services.check_connection(connection)
    admin_client.post(f"/admin/teams/team/{secret_team.pk}/test-connection/", follow=True)
    assert "HTTP 401" in caplog.text  # the failures were logged...
    assert_hidden(caplog.text, "log records")  # ...without the key
    captured = capsys.readouterr()
    assert_hidden(captured.out + captured.err, "console output")


def test_error_reports_of_the_admin_hide_the_posted_secret(
    admin_user, read_form, team_a, settings, monkeypatch
):
    """A crash while saving a key: the 500 report (e-mailed to admins) shows no secret."""
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    url = f"/admin/teams/team/{team_a.pk}/change/"
    data = read_form(client.get(url).content.decode(), "team_form")
    data["connection-0-api_key"] = [KEY]
    data["connection-0-webhook_secret"] = [SECRET]

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom while checking")

    # The key is tried on FLORA before it is saved: crash there, with the key in hand.
    monkeypatch.setattr(services, "get_http_client", crash)
    reports: list[str] = []

    def report(sender: object, request: object, **kwargs: object) -> None:
        reporter = ExceptionReporter(request, *sys.exc_info(), is_email=True)
        reports.append(reporter.get_traceback_text())
        reports.append(reporter.get_traceback_html())

    got_request_exception.connect(report)
    try:
        response = client.post(url, data)
    finally:
        got_request_exception.disconnect(report)
    assert response.status_code == 500
    assert reports and "boom while checking" in reports[0]
    assert "connection-0-api_key" in reports[0]  # the POST is listed, its value starred
    for text in reports:
        assert_hidden(text, "the error report")


def test_error_reports_from_inside_the_flora_client_hide_the_key(team_a, monkeypatch, settings):
    """Frames of the flora client (whose locals hold the Authorization header) are
    cleansed when called under teams.services."""
    settings.DEBUG = False
    services.save_connection(team_a.connection, actor="test", api_key=KEY)

    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("unexpected failure deep inside the transport")

    client = httpx.Client(transport=httpx.MockTransport(explode))
    monkeypatch.setattr(services, "get_http_client", lambda: client)
    with pytest.raises(RuntimeError) as info:
        services.check_connection(FloraConnection.objects.get(team=team_a))
    reporter = ExceptionReporter(None, info.type, info.value, info.tb)
    text = reporter.get_traceback_text()
    assert "_request" in text  # the flora frames are in the report...
    assert_hidden(text, "the error report")  # ...with their variables starred
    assert_hidden(reporter.get_traceback_html(), "the HTML error report")


def test_reprs_have_no_plaintext(team_a, sandbox_http, monkeypatch):
    services.save_connection(team_a.connection, actor="test", api_key=KEY, webhook_secret=SECRET)
    connection = FloraConnection.objects.get(team=team_a)
    client = services.flora_client(team_a)
    form = FloraConnectionForm(instance=connection)
    objects: list[object] = [
        team_a,
        connection,
        client,
        form,
        *SecretChange.objects.all(),
        *team_a.memberships.all(),
    ]
    try:
        services.check_connection(connection)
    except Exception as exc:  # noqa: BLE001 - the sandbox refuses this key
        objects += [exc, exc.__cause__]
    for obj in objects:
        assert_hidden(repr(obj), f"repr of {type(obj).__name__}")
        assert_hidden(str(obj), f"str of {type(obj).__name__}")
    assert_hidden(str(form), "the rendered connection form")
    assert_hidden(repr(vars(connection)), "the connection's attributes")


def test_undecryptable_secret_error_has_no_ciphertext_or_plaintext(team_a, settings):
    from cryptography.fernet import Fernet

    services.save_connection(team_a.connection, actor="test", api_key=KEY)
    connection = FloraConnection.objects.get(team=team_a)
    settings.FLORASITE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretUnavailable) as info:
        services.flora_client(team_a)
    assert connection.api_key_encrypted not in str(info.value)
    assert_hidden(str(info.value))
