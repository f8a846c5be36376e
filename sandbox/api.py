"""What every sandbox API view shares: auth, rate limit, request ids, errors, pagination."""

from __future__ import annotations

import base64
import functools
import json
import logging
import secrets
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import auth, ratelimit
from sandbox.auth import ApiKey
from sandbox.errors import ApiError, validation_error

logger = logging.getLogger("sandbox")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

ApiView = Callable[..., HttpResponse]


def new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(15).replace("-", "x").replace("_", "y")


def api_view(*methods: str) -> Callable[[ApiView], Callable[..., HttpResponse]]:
    """Wrap a view `(request, key, ...)`: authenticate, rate-limit, tag with a request id.

    Errors raised as ApiError become FLORA's error envelope; anything else becomes 500
    unknown_error (and is logged), never an HTML page.
    """

    def decorator(view: ApiView) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            request.sandbox_request_id = new_id("req_")  # type: ignore[attr-defined]
            try:
                if request.method not in methods:
                    raise ApiError(
                        405,
                        "method_not_allowed",
                        f"{request.method} is not allowed here; use {', '.join(methods)}.",
                        headers={"Allow": ", ".join(methods)},
                    )
                key = auth.authenticate(request)
                ratelimit.check(key)
                response = view(request, key, *args, **kwargs)
            except ApiError as exc:
                response = exc.response()
            except Exception:
                logger.exception("sandbox: unexpected error in %s", request.path)
                response = ApiError(500, "unknown_error", "An unknown error occurred.").response()
            response["request-id"] = request.sandbox_request_id  # type: ignore[attr-defined]
            response["Cache-Control"] = "no-store"
            return response

        return login_not_required(csrf_exempt(wrapper))

    return decorator


@login_not_required
@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Unknown paths under the API answer FLORA's 404 envelope, not Django's page."""
    response = ApiError(404, "not_found", "Not found.").response()
    response["request-id"] = new_id("req_")
    return response


def json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return body


def ok(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


# -- pagination --------------------------------------------------------------------------


def parse_limit(request: HttpRequest) -> int:
    raw = request.GET.get("limit", "").strip()
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise validation_error(
            [{"field": "limit", "message": f"Expected a whole number from 1 to {MAX_LIMIT}"}]
        )
    return int(raw)


def encode_cursor(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(request: HttpRequest, field: str) -> int | None:
    """The integer `field` of the request's cursor (None without one), or 400."""
    raw = request.GET.get("cursor", "").strip()
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        value = data[field]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(value)
    except (ValueError, KeyError, TypeError):
        raise validation_error([{"field": "cursor", "message": "Invalid cursor"}]) from None
    return value


def workspace_filter(request: HttpRequest, key: ApiKey) -> list[auth.Workspace]:
    """The workspaces a list covers: `workspace_id` if given (403 if not the key's), else all."""
    workspace_id = request.GET.get("workspace_id", "").strip()
    if workspace_id:
        return [auth.visible_workspace(key, workspace_id)]
    return list(key.workspaces)
