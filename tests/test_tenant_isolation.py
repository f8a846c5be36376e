"""Tenant isolation: a member of team B gets 404 on every URL of team A's objects.

HOW TO EXTEND (every issue that adds a team-scoped view must):

1. If the view shows an object, create one for team A in the `team_a_objects` fixture
   below and add it as a field of `TeamAObjects` (e.g. `run: Run | None = None`).
2. Append a probe to `TEAM_SCOPED_URLS`: a function taking `TeamAObjects` and returning
   the URL (a GET), or a `Probe` for other methods / POST data:

       TEAM_SCOPED_URLS.append(lambda a: f"/runs/{a.run.code}/")
       TEAM_SCOPED_URLS.append(lambda a: Probe("post", f"/runs/{a.run.code}/share/", {}))

The test then checks each probe twice: alice (manager of A) does NOT get 404 (so the probe
points at something real), and dave (member of B only) gets exactly 404: never 403, never
200, never a redirect that confirms the object exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client

from teams.models import Team

pytestmark = pytest.mark.django_db


@dataclass
class TeamAObjects:
    """One of each kind of team A's objects. Later issues add fields (runs, shares, ...)."""

    team: Team
    workspace_id: str  # a workspace only team A may use (ws_demo)
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    method: str  # "get" or "post"
    path: str
    data: dict[str, str] = field(default_factory=dict)


# The registry. Keep one entry per team-scoped URL; say what it covers.
TEAM_SCOPED_URLS: list[Callable[[TeamAObjects], str | Probe]] = [
    # The header switcher: making team A current with team A's slug.
    lambda a: Probe("post", "/teams/switch/", {"team": a.team.slug, "next": "/"}),
]


@pytest.fixture
def team_a_objects(team_a, alice) -> TeamAObjects:
    return TeamAObjects(team=team_a, workspace_id="ws_demo")


def _request(client: Client, probe: str | Probe):
    if isinstance(probe, str):
        probe = Probe("get", probe)
    return getattr(client, probe.method)(probe.path, probe.data)


def _described(probe: str | Probe) -> str:
    return probe if isinstance(probe, str) else f"{probe.method.upper()} {probe.path}"


@pytest.mark.parametrize("build", TEAM_SCOPED_URLS)
def test_other_teams_members_get_404(build, team_a_objects, alice_client, dave_client):
    probe = build(team_a_objects)
    # The probe is real: team A's manager reaches it.
    assert _request(alice_client, probe).status_code != 404, _described(probe)
    response = _request(dave_client, probe)
    assert response.status_code == 404, f"{_described(probe)} -> {response.status_code}"


def test_the_registry_is_not_empty():
    assert TEAM_SCOPED_URLS
