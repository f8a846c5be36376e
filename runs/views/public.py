"""What every page anyone may open (a share link's) answers with: no index, no referrer,
the same 404 for every dead token, and the rate limit's 429.

Run share links (runs.views.shares) and board share links (boards) both answer through here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from csp.constants import SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from runs import shares
from runs.models import TokenLink

__all__ = [
    "FILE_REQUESTS_PER_PAGE_VIEW",
    "PUBLIC_HEADERS",
    "public",
    "share_view",
    "too_many",
    "unavailable",
]

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


# Files of a share page: one page view loads several, and video seeking many more.
FILE_REQUESTS_PER_PAGE_VIEW = 10

L = TypeVar("L", bound=TokenLink)
LinkView = Callable[..., HttpResponse]


def share_view(
    find: Callable[[str], L | None], bucket: str, *, files: bool = False
) -> Callable[[LinkView], Callable[..., HttpResponse]]:
    """For a view anyone with a token may open: `view(request, link, token, **kwargs)`.

    Counts the request in the rate limit's `bucket` (a file view allows
    FILE_REQUESTS_PER_PAGE_VIEW times as many), finds the live link with `find(token)`
    (unknown, revoked and expired all get the same 404), and marks the answer public. A
    file view may be framed by the share page itself (the inline PDF preview).
    """

    def decorator(view: LinkView) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, token: str, **kwargs: object) -> HttpResponse:
            per_minute = None
            if files:
                per_minute = settings.FLORASITE_SHARE_VIEWS_PER_MINUTE * FILE_REQUESTS_PER_PAGE_VIEW
            if wait := shares.rate_limited(request, bucket, per_minute):
                return too_many(request, wait)
            link = find(token)
            if link is None:
                return unavailable(request)
            response = view(request, link, token, **kwargs)
            if not files:
                # Revocation must take effect at once, so nobody may keep a copy of the page.
                response["Cache-Control"] = "no-store"
            return public(response)

        wrapped = require_safe(wrapper)
        if files:
            wrapped = csp_replace({"frame-ancestors": [SELF]})(xframe_options_sameorigin(wrapped))
        return login_not_required(wrapped)

    return decorator
