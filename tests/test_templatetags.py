from __future__ import annotations

from decimal import Decimal

import pytest

from florasite.templatetags.florasite import (
    duration,
    media_label,
    price_per_run,
    safe_http_url,
    usd,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.4"), "$0.40"),
        (0.4, "$0.40"),
        ("1.5", "$1.50"),
        (Decimal("0.025"), "$0.025"),
        (Decimal("1234.5"), "$1,234.50"),
        (None, ""),
        ("nonsense", ""),
    ],
)
def test_usd(value, expected):
    assert usd(value) == expected


def test_price_per_run():
    assert price_per_run(Decimal("0.40")) == "$0.40 per run"
    assert price_per_run(0) == "Free"
    assert price_per_run(None) == "Price unknown"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 s"),
        (42.4, "42 s"),
        (60, "1 min"),
        (185, "3 min 5 s"),
        (7440, "2 h 4 min"),
        (None, ""),
    ],
)
def test_duration(seconds, expected):
    assert duration(seconds) == expected


def test_media_label():
    assert media_label("imageUrl") == "Image"
    assert media_label("somethingNew") == "somethingNew"


@pytest.mark.parametrize(
    "url", ["https://cdn.example/a.png", "http://cdn.example/a.png?x=1", "HTTPS://CDN.example/a"]
)
def test_safe_http_url_keeps_http_links(url):
    assert safe_http_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x00javascript:alert(1)",
        "https://cdn.example/a.png ",
        "data:image/png;base64,AAAA",
        "file:///etc/passwd",
        "ftp://cdn.example/a.png",
        "//cdn.example/a.png",
        "/relative",
        "https:a.png",
        "https://[::1/",
        "",
        None,
        42,
    ],
)
def test_safe_http_url_refuses_everything_else(url):
    assert safe_http_url(url) == ""
