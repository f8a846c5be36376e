"""'Run again': the inputs of one of the team's runs, to fill a technique page's form with.

Registered with the catalog (techniques.prefill) by runs.apps.RunsConfig.ready; the
runs:again view sends the browser to /techniques/<id>/?again=<code>, which calls this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runs.models import Run

if TYPE_CHECKING:
    from teams.models import Team


def inputs_of_run(team: Team, technique_id: str, code: str) -> dict[str, list[str]]:
    """The inputs of the team's run with this code, if it ran this technique; else {}."""
    run = Run.objects.filter(team=team, code=code).only("inputs", "technique_id").first()
    if run is None or run.technique_id != technique_id:
        return {}
    values: dict[str, list[str]] = {}
    for item in run.inputs or []:
        if isinstance(item, dict) and isinstance(item.get("value"), str) and item.get("id"):
            values.setdefault(str(item["id"]), []).append(item["value"])
    return values
