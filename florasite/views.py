from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from florasite import periodic


def home(request: HttpRequest) -> HttpResponse:
    # The catalog is where everything starts (it also greets people without a team).
    return redirect("techniques:list")


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and a worker beat recently; 503 otherwise."""
    checks: dict[str, object] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        age = periodic.last_heartbeat_age()
    except DatabaseError:
        checks["database"] = "unreachable"
        healthy = False
        age = None
    checks["worker_heartbeat_age_seconds"] = None if age is None else round(age, 1)
    if checks["database"] == "ok":
        if age is None:
            checks["worker"] = "never seen"
            healthy = False
        elif age > settings.HEALTHZ_MAX_HEARTBEAT_AGE:
            checks["worker"] = "stale"
            healthy = False
        else:
            checks["worker"] = "ok"
    checks["status"] = "ok" if healthy else "unhealthy"
    return JsonResponse(checks, status=200 if healthy else 503)


@login_not_required
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    return redirect(static("img/favicon.svg"), permanent=True)
