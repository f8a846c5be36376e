"""Request ids and the one-line-per-request log."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
