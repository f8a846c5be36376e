"""Small network helpers shared by the dashboard's apps.

client_ip: who is asking, also behind reverse proxies. Behind a TLS proxy or a load
balancer, REMOTE_ADDR is the proxy's address for every request, so per-client limits (login
throttling, share page views) would count everyone as one client. Each trusted proxy
appends the address it saw to X-Forwarded-For; with FLORASITE_PROXY_COUNT proxies, the
client is the entry that many places from the right. Entries further left are whatever the
client claimed, so they are never believed.

http_url: a URL that came from outside (FLORA's answers) as an href or src, only when it is
a plain http(s) link.
"""

from __future__ import annotations

import re
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
