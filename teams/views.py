from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from teams.middleware import SESSION_KEY
from teams.models import Membership


def _safe_next(request: HttpRequest) -> str:
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return reverse("home")


@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Make another of the user's teams the current one (the header switcher posts here)."""
    membership = (
        Membership.objects.filter(user=request.user, team__slug=request.POST.get("team", ""))
        .select_related("team")
        .first()
    )
    if membership is None:
        # Not "forbidden": another team's slug must not even be confirmed to exist.
        raise Http404("No such team.")
    request.session[SESSION_KEY] = membership.team_id
    messages.success(request, f"You are now working in {membership.team.name}.")
    return redirect(_safe_next(request))
