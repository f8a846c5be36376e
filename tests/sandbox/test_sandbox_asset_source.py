"""POST /assets with a `source` URL: fetched by the sandbox, public hosts only, 50 MB at most.

No network in tests: the resolver (sandbox.webhooks.resolve_host) and the fetch transport
(sandbox.asset_fetch.transport) are replaced; the SSRF checks themselves run for real.
"""

from __future__ import annotations

import httpx
import pytest

from sandbox import asset_fetch
from sandbox.models import SandboxAsset
from tests.sandbox.asset_helpers import fields_of, image

PUBLIC = "93.184.216.34"
DNS = {
    "images.example.com": [PUBLIC],
    "cdn.example.com": [PUBLIC],
    "evil.example.com": ["10.0.0.7"],
}


class Web:
    """A fake internet: DNS answers from DNS, `pages[url]` answers, `fetched` what was asked."""

    def __init__(self) -> None:
        self.pages: dict[str, httpx.Response] = {}
        self.fetched: list[str] = []

    def __setitem__(self, url: str, response: httpx.Response) -> None:
        self.pages[url] = response


@pytest.fixture
def web(monkeypatch) -> Web:
    internet = Web()

    def resolve(host: str, port: int) -> list[str]:
        if host not in DNS:
            raise OSError("no such host")
        return DNS[host]

    def handler(request: httpx.Request) -> httpx.Response:
        internet.fetched.append(str(request.url))
        return internet.pages.get(str(request.url), httpx.Response(404))

    monkeypatch.setattr("sandbox.webhooks.resolve_host", resolve)
    monkeypatch.setattr(asset_fetch, "transport", lambda: httpx.MockTransport(handler))
    return internet


def _create(api, source: str, **body):
    return api.post("/assets", {"workspace_id": "ws_demo", "source": source, **body})


def test_a_public_image_is_fetched_and_ready(api, web):
    data = image("JPEG", (100, 80))
    web["https://images.example.com/p/cat.jpg"] = httpx.Response(200, content=data)

    response = _create(api, "https://images.example.com/p/cat.jpg")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "ready" and body["uploaded_via"] == "url"
    detail = api.get(f"/assets/{body['asset_id']}").json()
    assert detail["content_type"] == "image/jpeg" and detail["name"] == "cat.jpg"
    assert (detail["width"], detail["height"]) == (100, 80)
    assert bytes(SandboxAsset.objects.get().data) == data


def test_a_public_redirect_is_followed_and_checked(api, web):
    web["https://images.example.com/a"] = httpx.Response(
        302, headers={"Location": "https://cdn.example.com/b.png"}
    )
    web["https://cdn.example.com/b.png"] = httpx.Response(200, content=image("PNG"))
    assert _create(api, "https://images.example.com/a").status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x.png",
        "https://127.1/x.png",
        "https://0x7f.0.0.1/x.png",
        "https://10.1.2.3/x.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/x.png",
        "https://[::ffff:127.0.0.1]/x.png",
        "https://localhost./x.png",
        "https://evil.example.com/x.png",
    ],
)
def test_private_loopback_and_metadata_hosts_are_refused(api, web, url):
    message = fields_of(_create(api, url))["source"]
    assert "private or internal address; it was not fetched" in message
    assert web.fetched == []


@pytest.mark.parametrize(
    "location", ["https://169.254.169.254/latest/meta-data/", "https://evil.example.com/x"]
)
def test_a_redirect_to_an_internal_host_is_refused(api, web, location):
    web["https://images.example.com/a"] = httpx.Response(302, headers={"Location": location})
    assert (
        "private or internal" in fields_of(_create(api, "https://images.example.com/a"))["source"]
    )
    assert web.fetched == ["https://images.example.com/a"]


def test_a_redirect_to_plain_http_is_refused(api, web):
    web["https://images.example.com/a"] = httpx.Response(
        301, headers={"Location": "http://images.example.com/a"}
    )
    message = fields_of(_create(api, "https://images.example.com/a"))["source"]
    assert message == 'Expected a public https:// URL or "signed-url"'


def test_endless_redirects_stop(api, web):
    web["https://images.example.com/a"] = httpx.Response(302, headers={"Location": "/a"})
    message = fields_of(_create(api, "https://images.example.com/a"))["source"]
    assert message == "The source redirected more than 3 times"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("http://images.example.com/a.png", 'Expected a public https:// URL or "signed-url"'),
        ("ftp://images.example.com/a.png", 'Expected a public https:// URL or "signed-url"'),
        ("signed-url-please", 'Expected a public https:// URL or "signed-url"'),
        ("", 'Expected a public https:// URL or "signed-url"'),
        ("https://user:pw@images.example.com/a.png", "The source URL must not contain credentials"),
        ("https://nowhere.example.com/a.png", "The source host nowhere.example.com could not be"),
    ],
)
def test_bad_sources(api, web, source, message):
    assert fields_of(_create(api, source))["source"].startswith(message)


def test_an_error_answer_is_reported(api, web):
    message = fields_of(_create(api, "https://images.example.com/missing.png"))["source"]
    assert message == "The source answered HTTP 404"


def test_a_declared_size_over_50_mb_is_refused_unread(api, web):
    web["https://images.example.com/big.mp4"] = httpx.Response(
        200, headers={"Content-Length": str(50 * 1024 * 1024 + 1)}, content=b""
    )
    message = fields_of(_create(api, "https://images.example.com/big.mp4"))["source"]
    assert message == "The source is larger than 50 MB"


def test_an_undeclared_size_over_50_mb_is_cut(api, web, monkeypatch):
    monkeypatch.setattr("sandbox.assets.MAX_SOURCE_BYTES", 1024 * 1024)

    def chunks():
        for _ in range(20):
            yield b"\0" * 65536

    web["https://images.example.com/stream"] = httpx.Response(200, content=chunks())
    message = fields_of(_create(api, "https://images.example.com/stream"))["source"]
    assert message == "The source is larger than 1 MB"


def test_a_fetched_file_of_the_wrong_type_is_refused(api, web):
    web["https://images.example.com/page"] = httpx.Response(
        200, content=b"<html></html>", headers={"Content-Type": "image/png"}
    )
    assert (
        "Unsupported file type"
        in fields_of(_create(api, "https://images.example.com/page"))["source"]
    )
    assert SandboxAsset.objects.count() == 0


def test_the_real_transport_never_connects_to_an_internal_address(monkeypatch):
    monkeypatch.setattr("sandbox.webhooks.resolve_host", lambda host, port: ["127.0.0.1"])
    backend = asset_fetch._backend()
    with pytest.raises(asset_fetch.FetchProblem, match="private or internal"):
        backend.connect_tcp("rebound.example.com", 443)
