"""Request ids and the one-line-per-request log; the viewer's time zone."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from florasite.lib import when
from florasite.logging import redact

logger = logging.getLogger("florasite.request")

# A request id from a trusted proxy is reused only if it looks like one (no log injection).
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,100}$")


class RequestIdMiddleware:
    """Give every request an id (X-Request-ID), and log one line when it is answered.

    The line holds method, path (no query string: it may carry tokens), status, duration,
    user id and request id; never headers, bodies or secrets.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _INCOMING_ID.match(incoming) else _new_id()
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        if not request.path.startswith("/static/"):
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else "-"
            logger.info(
                "%s %s %s %.1fms user=%s request_id=%s",
                request.method,
                redact(request.path),
                response.status_code,
                (time.perf_counter() - started) * 1000,
                user_id,
                request.request_id,
            )
        return response


def _new_id() -> str:
    return "fs_" + secrets.token_hex(12)


class ViewerTimeZoneMiddleware:
    """Show times in the viewer's zone: the `tz` cookie (set by static/js/tz.js), if valid.

    Anything else (no cookie, JavaScript off, an unknown or overlong name) leaves the default
    zone, settings.TIME_ZONE; the footer says which zone the page uses. request.time_zone_known
    says whether it came from the browser.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = when.zone_named(request.COOKIES.get(when.ZONE_COOKIE))
        request.time_zone_known = zone is not None
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            response = self.get_response(request)
        finally:
            # Threads serve many requests: never leave one viewer's zone to the next.
            timezone.deactivate()
        # The same URL reads differently in another zone.
        patch_vary_headers(response, ("Cookie",))
        return response
