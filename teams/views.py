from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from teams.middleware import SESSION_KEY
from teams.models import Membership


def _safe_next(request: HttpRequest) -> str:
    """Where to land after switching: the same section of the product, in the new team.

    A page of one team's object (/runs/<code>/) would be a 404 in the other team, so only
    the section (/runs/, /techniques/) is kept; unsafe or foreign URLs go home. A form that
    knows its next page belongs to the new team (the run page's "switch and open it") says
    keep_path=1, and the path is kept whole.
    """
    next_url = request.POST.get("next", "")
    if not next_url or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return reverse("home")
    path = urlsplit(next_url).path
    if request.POST.get("keep_path") == "1" and path.startswith("/"):
        return path
    section = path.strip("/").split("/", 1)[0]
    if section in SECTIONS:
        return f"/{section}/"
    return reverse("home")


# Sections of the product that every team has; /teams/switch/ lands on their first page.
SECTIONS = {"techniques", "runs"}


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
