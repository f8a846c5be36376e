from __future__ import annotations

import pytest
from django.contrib.auth.models import User

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
