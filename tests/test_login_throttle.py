"""Log-in throttling on every path that checks a password: our page, the admin's, and any
call of django.contrib.auth.authenticate. At most the limit of passwords are ever checked,
also when the attempts arrive at once."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.db import connection as db
from django.test import Client, RequestFactory

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed log-in attempts"
PASSWORD = "correct horse battery"


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """Every password compared against a stored hash, across threads."""
    checks: list[str] = []
    lock = threading.Lock()
    real = AbstractBaseUser.check_password

    def counted(user, raw_password):
        with lock:
            checks.append(user.get_username())
        # As slow as a real hasher (tests use MD5): the window a racing request would use.
        time.sleep(0.02)
        return real(user, raw_password)

    monkeypatch.setattr(AbstractBaseUser, "check_password", counted)
    return checks


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_check_at_most_the_limit(settings, password_checks):
    settings.LOGIN_FAILURES_PER_USER = 5
    User.objects.create_user("erin", password=PASSWORD)
    attempts = 40
    clients = [Client() for _ in range(attempts)]
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def attempt(client: Client) -> None:
        try:
            barrier.wait()
            response = client.post("/accounts/login/", {"username": "erin", "password": "no"})
            statuses.append(response.status_code)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    # At most the limit, and no fewer: only the attempts over it are refused.
    assert len(password_checks) == 5
    assert sorted(statuses) == [200] * len(password_checks) + [429] * (40 - len(password_checks))
    # Still locked afterwards, even with the right password.
    response = Client().post("/accounts/login/", {"username": "erin", "password": PASSWORD})
    assert response.status_code == 429


def test_a_locked_username_has_no_password_checked(client, settings, password_checks):
    settings.LOGIN_FAILURES_PER_USER = 2
    User.objects.create_user("erin", password=PASSWORD)
    for _ in range(4):
        client.post("/accounts/login/", {"username": "erin", "password": "no"})
    assert len(password_checks) == 2


def test_admin_login_is_throttled_with_a_clear_message(client, settings, password_checks):
    settings.LOGIN_FAILURES_PER_USER = 2
    User.objects.create_superuser("root", password=PASSWORD)
    for _ in range(3):
        client.post("/admin/login/?next=/admin/", {"username": "root", "password": "no"})
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})

    assert len(password_checks) == 2
    html = response.content.decode()
    assert LOCKED in html
    assert "Please enter the correct username and password" not in html
    assert "_auth_user_id" not in client.session


def test_failures_on_one_login_page_count_on_the_other(client, settings):
    settings.LOGIN_FAILURES_PER_USER = 2
    User.objects.create_superuser("root", password=PASSWORD)
    for _ in range(2):
        client.post("/accounts/login/", {"username": "root", "password": "no"})
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_any_authenticate_call_with_a_request_is_throttled(settings, password_checks):
    settings.LOGIN_FAILURES_PER_USER = 2
    User.objects.create_user("erin", password=PASSWORD)
    request = RequestFactory().post("/api/token")
    for _ in range(3):
        assert authenticate(request, username="erin", password="no") is None
    assert authenticate(request, username="erin", password=PASSWORD) is None
    assert len(password_checks) == 2


def test_an_admin_login_clears_the_username_counter(client, settings):
    settings.LOGIN_FAILURES_PER_USER = 2
    User.objects.create_superuser("root", password=PASSWORD)
    client.post("/admin/login/?next=/admin/", {"username": "root", "password": "no"})
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302
    client.post("/admin/logout/")
    client.post("/admin/login/?next=/admin/", {"username": "root", "password": "no"})
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302


def test_throttling_does_not_depend_on_the_cache(client, settings):
    # The counts live in the database, claimed with conditional UPDATEs: a cache that keeps
    # nothing (or whose incr is a read then a write, as the database cache's) changes nothing.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    settings.LOGIN_FAILURES_PER_USER = 2
    User.objects.create_user("erin", password=PASSWORD)
    for _ in range(2):
        client.post("/accounts/login/", {"username": "erin", "password": "no"})
    response = client.post("/accounts/login/", {"username": "erin", "password": PASSWORD})
    assert response.status_code == 429
