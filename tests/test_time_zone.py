"""The viewer's time zone: the `tz` cookie of static/js/tz.js, checked by
florasite.middleware.ViewerTimeZoneMiddleware; anything odd falls back to TIME_ZONE."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from florasite.middleware import ViewerTimeZoneMiddleware

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]


def _page(client, cookie: str | None = None, url: str = "/runs/") -> str:
    client.cookies.pop("tz", None)
    if cookie is not None:
        client.cookies["tz"] = cookie
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_known_zone_is_used_and_named_in_the_footer(bob_client):
    html = _page(bob_client, "Asia/Kolkata")
    assert "Times in Asia/Kolkata" in html
    assert 'title="Your browser\'s time zone"' in html


def test_the_answer_varies_on_the_cookie(bob_client):
    bob_client.cookies["tz"] = "Europe/Paris"
    response = bob_client.get("/runs/")
    assert "Cookie" in response["Vary"]


@pytest.mark.parametrize(
    "cookie",
    [
        "",
        "Mars/Olympus_Mons",
        "../../../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "localtime",
        "Europe/Paris\\054x",
        "Europe%2FParis%00",
        "<script>alert(1)</script>",
        "A" * 4000,
        "Europe/" + "Paris/" * 500,
    ],
)
def test_a_bad_cookie_falls_back_to_the_sites_zone_and_says_so(bob_client, cookie):
    html = _page(bob_client, cookie)
    assert "Times in UTC" in html
    assert "The site's time zone: your browser's is used once" in html
    assert "<script>alert" not in html


def test_without_a_cookie_the_sites_zone_is_used(bob_client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert "Times in Europe/Berlin" in _page(bob_client)


def test_pages_without_a_login_name_their_zone_too(client):
    assert "Times in America/Denver" in _page(client, "America/Denver", "/accounts/login/")


def test_one_viewers_zone_never_stays_for_the_next_request(bob_client, rf: RequestFactory):
    _page(bob_client, "Pacific/Auckland")
    assert timezone.get_current_timezone_name() == django_settings.TIME_ZONE

    def broken_view(request):
        assert timezone.get_current_timezone_name() == "Asia/Tokyo"
        raise RuntimeError("the view failed")

    request = rf.get("/", HTTP_COOKIE="tz=Asia/Tokyo")
    with pytest.raises(RuntimeError):
        ViewerTimeZoneMiddleware(broken_view)(request)
    assert timezone.get_current_timezone_name() == django_settings.TIME_ZONE


def test_the_request_says_whether_the_zone_is_the_viewers(rf: RequestFactory):
    seen = {}

    def view(request):
        seen[request.COOKIES.get("tz")] = request.time_zone_known
        return HttpResponse()

    for cookie in ("tz=Asia/Tokyo", "tz=nowhere", ""):
        ViewerTimeZoneMiddleware(view)(rf.get("/", HTTP_COOKIE=cookie))
    assert seen == {"Asia/Tokyo": True, "nowhere": False, None: False}


def test_every_page_loads_the_zone_script_from_a_file():
    for layout in ("templates/base.html", "templates/runs/public_base.html"):
        assert "<script src=\"{% static 'js/tz.js' %}\" defer></script>" in (
            (ROOT / layout).read_text()
        )
    # What the script does in a browser: tests/e2e/test_e2e_time_zone.py.
