"""Login with throttling: repeated failures lock a username (and a client) out for a while.

The message is the same whether or not the username exists, so the lock-out tells an
attacker nothing about which accounts are real.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from florasite.net import client_ip

WINDOW_SECONDS = 15 * 60


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{kind}:{digest}"


def _client_ip(request: HttpRequest) -> str:
    return client_ip(request)


def _failures(key: str) -> tuple[int, float]:
    entry = cache.get(key)
    if not entry:
        return 0, 0.0
    return int(entry["count"]), float(entry["since"])


def _record_failure(key: str) -> None:
    count, since = _failures(key)
    now = time.time()
    if not count or now - since > WINDOW_SECONDS:
        count, since = 0, now
    cache.set(key, {"count": count + 1, "since": since}, timeout=WINDOW_SECONDS)


def locked_for(request: HttpRequest, username: str) -> int:
    """Seconds until this username/client may try again; 0 when not locked."""
    limits = (
        (_key("user", username), settings.LOGIN_FAILURES_PER_USER),
        (_key("ip", _client_ip(request)), settings.LOGIN_FAILURES_PER_CLIENT),
    )
    wait = 0.0
    for key, limit in limits:
        count, since = _failures(key)
        if count >= limit:
            wait = max(wait, since + WINDOW_SECONDS - time.time())
    return max(0, math.ceil(wait))


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        wait = locked_for(request, username)
        if wait:
            form = self.get_form()
            minutes = max(1, math.ceil(wait / 60))
            form.add_error(
                None,
                "Too many failed log-in attempts. For your security, please wait "
                f"{minutes} minute{'s' if minutes != 1 else ''} and try again.",
            )
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        _record_failure(_key("user", self.request.POST.get("username", "")))
        _record_failure(_key("ip", _client_ip(self.request)))
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        cache.delete(_key("user", form.get_user().get_username()))
        return super().form_valid(form)
