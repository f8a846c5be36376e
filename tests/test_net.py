"""Address parsing shared by the output downloads and the sandbox's webhooks (florasite.lib.net)."""

from __future__ import annotations

import ipaddress

import pytest

from florasite.lib.net import host_address, is_public_ip


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("10.0.0.1.", "10.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("localhost.", "127.0.0.1"),
        ("Files.LocalHost", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("::1", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("0x01.0x01.0x01.0x01", "1.1.1.1"),
    ],
)
def test_host_address_reads_every_spelling_the_resolver_reads(host, address):
    assert host_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host", ["hooks.example.com", "hooks.example.com.", "deadbeef", "face.b00c", "1.2.3.4 x", ""]
)
def test_names_are_not_addresses(host):
    assert host_address(host) is None


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("1.1.1.1", True),
        ("2606:4700::1111", True),
        ("127.1", False),
        ("10.0.0.1.", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("0", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),
    ],
)
def test_is_public_ip(host, public):
    address = host_address(host)
    assert address is not None
    assert is_public_ip(address) is public
