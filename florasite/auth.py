"""Log-in throttling on every way in: our log-in page, the admin's, and any other caller of
django.contrib.auth.authenticate.

ThrottledModelBackend, the only entry of AUTHENTICATION_BACKENDS, claims a slot for the
username and one for the client address (florasite.lib.ratelimit) *before* it checks the
password, so at most LOGIN_FAILURES_PER_USER passwords are checked per username, and
LOGIN_FAILURES_PER_CLIENT per client, in a 15-minute window, however many attempts arrive at
once. A successful log-in clears the username's count and gives its client slot back. Over a
limit, the backend raises PermissionDenied: authenticate() then returns None without asking
another backend, and the log-in forms show one message, the same whether or not the username
exists, so the lock-out tells an attacker nothing about which accounts are real.

django-axes was considered: it checks for a lock-out before authentication but records the
failure afterwards (user_login_failed signal), so simultaneous attempts all pass the check
first, the very race closed here (jazzband/django-axes#592, "known issue, won't fix").
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from florasite.lib import ratelimit
from florasite.lib.net import client_ip
from florasite.lib.prepared import PreparedGet
from teams.demo import credentials_hint

WINDOW = timedelta(minutes=15)
# Set on the request by the backend when it refuses: seconds until the caller may try again.
_LOCKED_FOR = "florasite_login_locked_for"


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login:{kind}:{digest}"


def lockout_message(wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return (
        "Too many failed log-in attempts. For your security, please wait "
        f"{minutes} minute{'s' if minutes != 1 else ''} and try again."
    )


def _claim(request: HttpRequest | None, username: str) -> list[str]:
    """Claim this attempt's slots (username, then client); PermissionDenied when over."""
    limits = [(_key("user", username), settings.LOGIN_FAILURES_PER_USER)]
    if request is not None:
        limits.append((_key("client", client_ip(request)), settings.LOGIN_FAILURES_PER_CLIENT))
    claimed: list[str] = []
    for key, limit in limits:
        slot = ratelimit.hit(key, limit, WINDOW)
        if not slot.allowed:
            # No password is checked, so the slots claimed so far were not used.
            for earlier in claimed:
                ratelimit.give_back(earlier)
            if request is not None:
                setattr(request, _LOCKED_FOR, slot.retry_after)
            raise PermissionDenied("Too many failed log-in attempts.")
        claimed.append(key)
    return claimed


class ThrottledModelBackend(ModelBackend):
    """ModelBackend that claims a rate-limit slot before each password check."""

    @method_decorator(sensitive_variables("password"))
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        user_key, *client_keys = _claim(request, str(username))
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            # Only failures should count: forget the username's, return the client's slot.
            ratelimit.reset(user_key)
            for key in client_keys:
                ratelimit.give_back(key)
        return user

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        """ModelBackend's, the user read by one prepared query (florasite.lib.prepared):
        this runs on every logged-in request. Inactive users are still refused here, and
        django.contrib.auth.get_user still checks the session's password hash."""
        model = get_user_model()
        try:
            user = _user_by_pk(model).get(model._meta.pk.to_python(user_id))
        except ValidationError:
            return None
        return user if user is not None and self.user_can_authenticate(user) else None


_USER_BY_PK: dict[type, PreparedGet] = {}


def _user_by_pk(model: type) -> PreparedGet:
    prepared = _USER_BY_PK.get(model)
    if prepared is None:
        prepared = _USER_BY_PK.setdefault(model, PreparedGet(model, ("pk",)))
    return prepared


def locked_for(request: HttpRequest) -> int:
    """Seconds until the client may try again, when this request's log-in was refused."""
    return getattr(request, _LOCKED_FOR, 0)


class _LockoutMessage:
    """Say "too many attempts" instead of "wrong password" when the backend refused."""

    request: HttpRequest | None

    def get_invalid_login_error(self) -> ValidationError:
        wait = locked_for(self.request) if self.request is not None else 0
        if wait:
            return ValidationError(lockout_message(wait), code="locked")
        return super().get_invalid_login_error()  # type: ignore[misc]


class LoginForm(_LockoutMessage, AuthenticationForm):
    pass


class AdminLoginForm(_LockoutMessage, AdminAuthenticationForm):
    pass


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class ThrottledLoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # Only a sandbox demo (make run) names the file: its logins are nowhere else.
        return {**super().get_context_data(**kwargs), "demo_credentials": credentials_hint()}

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, code="locked"):
            response.status_code = 429
            response["Retry-After"] = str(locked_for(self.request))
        return response
