from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from teams.access_cache import memberships_of

__all__ = ["SESSION_KEY", "CurrentTeamMiddleware", "memberships_of"]

# The team the user picked in the header switcher (a Team pk; only ever trusted after it
# is matched against the user's memberships, on every request).
SESSION_KEY = "teams_current_team"


class CurrentTeamMiddleware:
    """Sets request.team, request.membership (None when there is none) and
    request.user_memberships (list, for the switcher).

    Runs after AuthenticationMiddleware. Memberships come from teams.access_cache: kept per
    process, and checked against the shared access token on every request, which any
    change of a membership, team or connection renews, so a removed member loses access to
    the team at once, whatever their session says.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.team = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.user_memberships = []  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = memberships_of(user)
            chosen = request.session.get(SESSION_KEY)
            current = next((m for m in memberships if m.team_id == chosen), None)
            if current is None:
                if chosen is not None:
                    # No longer a member of the chosen team: forget it.
                    del request.session[SESSION_KEY]
                current = memberships[0] if memberships else None
            request.user_memberships = memberships  # type: ignore[attr-defined]
            if current is not None:
                request.membership = current  # type: ignore[attr-defined]
                request.team = current.team  # type: ignore[attr-defined]
        return self.get_response(request)
