"""Who is asking: the client's address, also behind reverse proxies.

Behind a TLS proxy or a load balancer, REMOTE_ADDR is the proxy's address for every request,
so per-client limits (login throttling, share page views) would count everyone as one
client. Each trusted proxy appends the address it saw to X-Forwarded-For; with
FLORASITE_PROXY_COUNT proxies, the client is the entry that many places from the right.
Entries further left are whatever the client claimed, so they are never believed.
"""

from __future__ import annotations

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
