from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_login_page_renders_styled_form(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert "css/site.css" in html
    assert "<script" in html and "htmx" in html  # htmx from django-htmx, no CDN
    assert "cdn" not in html.lower()


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_admin_requires_staff_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302


def test_login_then_logout_by_post(client):
    User.objects.create_user("erin", password="correct horse battery")
    response = client.post(
        "/accounts/login/", {"username": "erin", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    page = client.get(response["Location"], follow=True)
    assert page.status_code == 200
    html = page.content.decode()
    assert "erin" in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    # Logout is a POST (a GET must not log anyone out).
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_a_message(client):
    User.objects.create_user("erin", password="correct horse battery")
    response = client.post("/accounts/login/", {"username": "erin", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def _fail_login(client, username, times):
    for _ in range(times):
        client.post("/accounts/login/", {"username": username, "password": "wrong-password"})


def test_login_is_throttled_after_repeated_failures(client, settings):
    settings.LOGIN_FAILURES_PER_USER = 3
    User.objects.create_user("erin", password="correct horse battery")
    _fail_login(client, "erin", 3)
    response = client.post(
        "/accounts/login/", {"username": "erin", "password": "correct horse battery"}
    )
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_throttle_message_does_not_reveal_whether_the_user_exists(client, settings):
    settings.LOGIN_FAILURES_PER_USER = 2
    User.objects.create_user("erin", password="correct horse battery")
    _fail_login(client, "erin", 2)
    _fail_login(client, "nobody-here", 2)
    real = client.post("/accounts/login/", {"username": "erin", "password": "x"})
    fake = client.post("/accounts/login/", {"username": "nobody-here", "password": "x"})
    assert real.status_code == fake.status_code == 429
    assert real.context["form"].non_field_errors() == fake.context["form"].non_field_errors()


def test_one_client_is_throttled_across_usernames(client, settings):
    settings.LOGIN_FAILURES_PER_CLIENT = 4
    User.objects.create_user("erin", password="correct horse battery")
    for name in ("a", "b", "c", "d"):
        _fail_login(client, name, 1)
    response = client.post(
        "/accounts/login/", {"username": "erin", "password": "correct horse battery"}
    )
    assert response.status_code == 429


def test_success_resets_the_username_counter(client, settings):
    settings.LOGIN_FAILURES_PER_USER = 3
    User.objects.create_user("erin", password="correct horse battery")
    _fail_login(client, "erin", 2)
    client.post("/accounts/login/", {"username": "erin", "password": "correct horse battery"})
    client.post("/accounts/logout/")
    _fail_login(client, "erin", 2)
    response = client.post(
        "/accounts/login/", {"username": "erin", "password": "correct horse battery"}
    )
    assert response.status_code == 302


def test_behind_a_proxy_one_client_failing_does_not_lock_out_the_others(settings):
    # Behind the TLS proxy or load balancer the README describes, every request arrives from
    # the proxy's address: the per-client count must be of the address the proxy forwards.
    from django.test import Client

    settings.FLORASITE_PROXY_COUNT = 1
    settings.LOGIN_FAILURES_PER_CLIENT = 4
    User.objects.create_user("erin", password="correct horse battery")
    proxy = "10.0.0.2"
    attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    for name in ("a", "b", "c", "d"):
        _fail_login(attacker, name, 1)
    good = {"username": "erin", "password": "correct horse battery"}
    assert attacker.post("/accounts/login/", good).status_code == 429
    # Claiming another address in front of the proxy's own entry changes nothing.
    forged = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7")
    assert forged.post("/accounts/login/", good).status_code == 429
    colleague = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert colleague.post("/accounts/login/", good).status_code == 302


def test_without_a_configured_proxy_forwarded_addresses_are_ignored(client, settings):
    settings.LOGIN_FAILURES_PER_CLIENT = 2
    User.objects.create_user("erin", password="correct horse battery")
    _fail_login(client, "a", 2)
    # A client cannot escape its count by sending X-Forwarded-For itself.
    response = client.post(
        "/accounts/login/",
        {"username": "erin", "password": "correct horse battery"},
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    assert response.status_code == 429


def test_login_page_of_the_sandbox_demo_says_where_the_logins_are(client, settings, tmp_path):
    settings.FLORA_SANDBOX_ENABLED = True
    settings.BASE_DIR = tmp_path
    settings.VAR_DIR = tmp_path / "var"
    call_command("setup_demo", stdout=io.StringIO())
    html = client.get("/accounts/login/").content.decode()
    assert "<code>var/demo-credentials.txt</code>" in html
    password = (tmp_path / "var" / "demo-credentials.txt").read_text().split()[-1]
    assert password not in html


def test_login_page_names_no_file_without_the_demo(client, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.FLORA_SANDBOX_ENABLED = True
    # The sandbox is on but setup_demo never ran: no file to point at.
    assert "demo-credentials" not in client.get("/accounts/login/").content.decode()
    # A file left behind on a site whose sandbox is off is not mentioned either.
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo-credentials.txt").write_text("demo pw\n")
    settings.FLORA_SANDBOX_ENABLED = False
    assert "demo-credentials" not in client.get("/accounts/login/").content.decode()
