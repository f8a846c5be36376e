"""The download guard's address checks: internal hosts, unsafe URLs, DNS rebinding."""

from __future__ import annotations

import httpcore
import pytest
import respx

from florasite.lib import public_http
from runs.models import OutputKeepStatus
from tests.runs.results_helpers import PUBLIC_IP
from tests.runs.results_helpers import keep_and_reload as _keep
from tests.runs.results_helpers import pending_output as _pending_output

pytestmark = pytest.mark.django_db


# --- Refusals: addresses --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.7",
        "172.16.3.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
    ],
)
def test_it_refuses_hosts_that_resolve_to_internal_addresses(team_a, bob, public_dns, address):
    public_dns["files.internal.example"] = [address]
    output = _pending_output(team_a, bob, "https://files.internal.example/still.png")
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__startswith="https://files.internal.example/")
        output = _keep(output)
    assert not route.called
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "private or reserved" in output.last_error


def test_a_host_with_one_internal_address_among_public_ones_is_refused(team_a, bob, public_dns):
    public_dns["mixed.example"] = [PUBLIC_IP, "10.1.2.3"]
    output = _keep(_pending_output(team_a, bob, "https://mixed.example/a.png"))
    assert output.keep_status == OutputKeepStatus.FAILED


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://169.254.169.254/latest/meta-data", "private or reserved"),
        ("https://[::1]/x.png", "private or reserved"),
        ("http://cdn.flora-files.example/x.png", "Only https"),
        ("ftp://cdn.flora-files.example/x.png", "not a web address"),
        ("https://user:secret@cdn.flora-files.example/x.png", "credentials"),
        ("https:///nohost.png", "not a web address"),
        ("https://cdn.flora-files.example:99999/x.png", "malformed"),
    ],
)
def test_it_refuses_unsafe_urls_without_fetching(team_a, bob, public_dns, url, message):
    output = _pending_output(team_a, bob, url)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route()
        output = _keep(output)
    assert not route.called
    assert output.keep_status == OutputKeepStatus.FAILED
    assert message in output.last_error
    assert "secret" not in output.last_error


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f000001",
        "2130706433",
        "127.0.0.1.",
        "10.0.0.1.",
        "012.0.0.1",
        "169.254.169.254.",
        "localhost",
        "localhost.",
        "LOCALHOST",
        "files.localhost",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:0:0:1]",
    ],
)
def test_internal_hosts_are_refused_in_every_spelling(public_dns, host):
    """Whatever a DNS server would answer for them (here: a public address)."""
    with pytest.raises(public_http.DownloadRefused, match="private or reserved"):
        public_http.check_url(f"https://{host}/still.png")


def test_plain_http_is_allowed_only_for_the_sandbox_origin(settings):
    settings.FLORA_SANDBOX_ENABLED = True
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8033"
    public_http.check_url("http://127.0.0.1:8033/sandbox/media/run_x/still.png")  # no error
    with pytest.raises(public_http.DownloadRefused):
        public_http.check_url("http://127.0.0.1:8034/sandbox/media/run_x/still.png")
    settings.FLORA_SANDBOX_ENABLED = False
    with pytest.raises(public_http.DownloadRefused):
        public_http.check_url("http://127.0.0.1:8033/sandbox/media/run_x/still.png")


def test_the_connection_goes_to_the_checked_address(monkeypatch):
    """DNS rebinding: the backend resolves, checks, and connects to that very address."""
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])
    monkeypatch.setattr(public_http, "resolve_host", lambda host, port: next(answers))
    connected: list[tuple[str, int]] = []

    def fake_connect(self, host, port, *args, **kwargs):
        connected.append((host, port))
        raise httpcore.ConnectError("no network in tests")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", fake_connect)
    backend = public_http._PublicOnlyBackend()
    with pytest.raises(httpcore.ConnectError):
        backend.connect_tcp("rebind.example", 443)
    assert connected == [(PUBLIC_IP, 443)]
    # The second answer (rebound to loopback) is refused before any connection.
    with pytest.raises(public_http.DownloadRefused):
        backend.connect_tcp("rebind.example", 443)
    assert connected == [(PUBLIC_IP, 443)]


def test_a_rebound_host_is_refused_by_the_real_client(team_a, bob, monkeypatch):
    """The URL check sees a public address, the connection attempt sees loopback: refused."""
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])
    monkeypatch.setattr(public_http, "resolve_host", lambda host, port: next(answers))
    monkeypatch.setattr(public_http, "_client", None)
    output = _keep(_pending_output(team_a, bob, "https://rebind.example/still.png"))
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "private or reserved" in output.last_error


def test_an_unknown_host_is_retried(team_a, bob, monkeypatch):
    def fail(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(public_http, "resolve_host", fail)
    output = _keep(_pending_output(team_a, bob, "https://gone.example/still.png"))
    assert output.keep_status == OutputKeepStatus.PENDING
    assert "could not be found" in output.last_error


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("10.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1%eth0", False),
        ("not-an-ip", False),
    ],
)
def test_is_public_address(address, public):
    assert public_http.is_public_address(address) is public
