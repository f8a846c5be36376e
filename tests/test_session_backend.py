"""The session engine (florasite.sessions) and the auth backend's get_user (florasite.auth),
both reading their row with one prepared query (florasite.lib.prepared): the same behaviour
as Django's database sessions and ModelBackend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from florasite.lib.prepared import PreparedGet
from florasite.sessions import SessionStore
from runs.models import Run
from runs.views.status import STATUS_FIELDS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
PAGE = "/"  # needs a login (a logged-in member is sent on to the techniques)


def _user(username: str = "erin", **extra) -> User:
    user = User.objects.create_user(username, password=PASSWORD, **extra)
    return user


def _log_in(client: Client, username: str = "erin"):
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _is_logged_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_engine_is_ours_and_loads_a_session_in_one_query():
    assert settings.SESSION_ENGINE == "florasite.sessions"
    store = SessionStore()
    store["answer"] = 42
    store.create()
    with CaptureQueriesContext(connection) as queries:
        loaded = SessionStore(store.session_key)
        assert loaded["answer"] == 42
    assert len(queries) == 1
    assert "django_session" in queries[0]["sql"]


def test_an_expired_session_loads_nothing_and_logs_out():
    _user()
    client = Client()
    key = _log_in(client)
    assert not _is_logged_out(client.get(PAGE))
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None  # saving it makes a new key, never revives the old one
    assert _is_logged_out(client.get(PAGE))


def test_an_unknown_or_tampered_session_loads_nothing():
    store = SessionStore()
    store["x"] = 1
    store.create()
    Session.objects.filter(pk=store.session_key).update(session_data="not-signed")
    assert SessionStore(store.session_key).load() == {}
    assert SessionStore("nosuchkeynosuchkeynosuchkey00000").load() == {}


def test_logging_in_cycles_the_key_and_logging_out_deletes_the_row():
    _user()
    client = Client()
    client.get("/accounts/login/")
    before = client.session
    before["seen"] = True
    before.save()
    old_key = before.session_key
    key = _log_in(client)
    assert key != old_key
    assert not Session.objects.filter(pk=old_key).exists()
    assert not _is_logged_out(client.get(PAGE))
    client.post("/accounts/logout/")
    assert not Session.objects.filter(pk=key).exists()
    assert _is_logged_out(client.get(PAGE))


def test_a_password_change_logs_out_the_other_sessions():
    user = _user()
    first, second = Client(), Client()
    _log_in(first)
    _log_in(second)
    assert not _is_logged_out(second.get(PAGE))
    user.set_password("another horse battery")
    user.save()
    # django.contrib.auth.get_user still compares the session's password hash.
    assert _is_logged_out(second.get(PAGE))
    assert _is_logged_out(first.get(PAGE))


def test_an_inactive_user_is_refused():
    user = _user()
    client = Client()
    _log_in(client)
    assert not _is_logged_out(client.get(PAGE))
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert _is_logged_out(client.get(PAGE))


def test_a_deleted_user_is_logged_out():
    user = _user()
    client = Client()
    _log_in(client)
    User.objects.filter(pk=user.pk).delete()
    assert _is_logged_out(client.get(PAGE))


def test_prepared_get_makes_instances_as_the_orm_does():
    user = _user(email="erin@example.com")
    by_pk = PreparedGet(User, ("pk",))
    for _ in range(2):  # the first call compiles, the second only executes
        got = by_pk.get(user.pk)
        orm = User.objects.get(pk=user.pk)
        assert [getattr(got, f.attname) for f in User._meta.concrete_fields] == [
            getattr(orm, f.attname) for f in User._meta.concrete_fields
        ]
        assert got.is_active is True
        assert timezone.is_aware(got.date_joined)
        assert got._state.adding is False and got._state.db == "default"
    assert by_pk.get(user.pk + 1000) is None


def test_prepared_get_leaves_the_other_fields_deferred(team_a):
    run = Run.objects.create(team=team_a, technique_id="t", technique_name="T", inputs={"a": 1})
    by_code = PreparedGet(Run, ("code", "team_id"), STATUS_FIELDS)
    got = by_code.get(run.code, team_a.pk)
    assert got.pk == run.pk
    assert "inputs" in got.get_deferred_fields()
    assert got.inputs == {"a": 1}  # read on access, as with .only()
    assert by_code.get(run.code, team_a.pk + 99) is None  # another team's code: nothing


def test_prepared_get_uses_the_orm_when_a_lookup_changes_its_value():
    _user("frank")
    # __contains wraps the value in wildcards: the adapted value is not the compiled one.
    contains = PreparedGet(User, ("username__contains",))
    assert contains.get("ran").username == "frank"
    assert contains.get("ran").username == "frank"
    assert contains.get("zzz") is None
