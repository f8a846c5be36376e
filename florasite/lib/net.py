"""Small network helpers shared by the dashboard's apps.

client_ip: who is asking, also behind reverse proxies. Behind a TLS proxy or a load
balancer, REMOTE_ADDR is the proxy's address for every request, so per-client limits (login
throttling, share page views) would count everyone as one client. Each trusted proxy
appends the address it saw to X-Forwarded-For; with FLORASITE_PROXY_COUNT proxies, the
client is the entry that many places from the right. Entries further left are whatever the
client claimed, so they are never believed.

http_url: a URL that came from outside (FLORA's answers) as an href or src, only when it is
a plain http(s) link.

host_address / is_public_ip: whether a URL's host is an internal address, however it is
spelled. The product's output downloads and the sandbox's webhook deliveries both refuse
internal hosts and read them with these (the sandbox never imports the product, nor the
product the sandbox, so the shared rules live here).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.FLORASITE_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


# Browsers drop tabs and newlines anywhere in a URL and strip spaces and control characters
# around it, so "java\tscript:" runs as "javascript:". A URL holding any of them is refused
# outright rather than cleaned up into something else.
_URL_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def http_url(value: object) -> str:
    """The value when it is an absolute http(s) URL with a host, else "" (show it as text)."""
    if not isinstance(value, str) or _URL_CONTROL.search(value):
        return ""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # a malformed [IPv6] host
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return ""
    return value


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The characters of the IPv4 forms inet_aton reads (127.1, 0177.0.0.1, 0x7f.0.0.1,
# 2130706433). Checked first: glibc's inet_aton also accepts "1.2.3.4 anything".
_IPV4_ANY_FORM = re.compile(r"[0-9a-fx.]+")
# NAT64 (RFC 6052) embeds an IPv4 address in an IPv6 one.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def normal_host(host: str) -> str:
    """A URL host as name lookups see it: lowercase, no [brackets], no final root dot."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") and not host.endswith("..") else host


def host_address(host: str) -> IPAddress | None:
    """The address a URL host names without any DNS lookup, or None for a real name.

    Reads the host as the resolver does: every IPv4 form inet_aton accepts (short, octal,
    hex, a single number), a trailing dot, IPv6 with a zone; `localhost` and `*.localhost`
    are loopback whatever a DNS server says (RFC 6761).
    """
    host = normal_host(host)
    if host == "localhost" or host.endswith(".localhost"):
        return LOOPBACK
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _IPV4_ANY_FORM.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_public_ip(ip: IPAddress) -> bool:
    """True for a globally routable unicast address; False for anything internal."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )
