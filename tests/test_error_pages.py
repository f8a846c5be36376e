from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_csrf_failure_page_is_in_the_product_look(bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form has expired" in html
    assert "css/site.css" in html
    assert "nothing was changed" in html


def test_permission_denied_page_is_in_the_product_look(carol_client, team_a):
    # A viewer may not start runs.
    response = carol_client.post("/techniques/tech_tarot-pull/run", {})
    assert response.status_code == 403
    html = response.content.decode()
    assert "css/site.css" in html
    assert "Not allowed" in html or "not allowed" in html


def test_server_error_page_is_in_the_product_look(client, settings):
    from django.test import override_settings
    from django.urls import path

    def boom(request):
        raise RuntimeError("boom")

    boom.login_required = False  # LoginRequiredMiddleware looks at this flag

    urlpatterns = [path("boom", boom)]
    client.raise_request_exception = False
    with override_settings(ROOT_URLCONF=type("U", (), {"urlpatterns": urlpatterns})):
        response = client.get("/boom")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "boom" not in html
