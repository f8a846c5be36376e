"""What every page anyone may open (a share link's) answers with: no index, no referrer,
the same 404 for every dead token, and the rate limit's 429.

Run share links (runs.views.shares) and board share links (boards) both answer through here.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

__all__ = ["PUBLIC_HEADERS", "public", "too_many", "unavailable"]

PUBLIC_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Referrer-Policy": "no-referrer",
}


def too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = render(
        request, "runs/share_rate_limited.html", {"retry_after": retry_after}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return public(response)


def unavailable(request: HttpRequest) -> HttpResponse:
    # The same answer for unknown, revoked and expired tokens: nothing to learn from it.
    return public(render(request, "runs/share_unavailable.html", {}, status=404))


def public(response: HttpResponse | StreamingHttpResponse) -> HttpResponse:
    for name, value in PUBLIC_HEADERS.items():
        response[name] = value
    return response  # type: ignore[return-value]
