"""Initial values for the run form that come from outside the catalog.

"Run again" opens a technique page as /techniques/<id>/?again=<run code>. Turning that code
into the run's inputs takes the runs app, which the catalog must not import: the runs app
registers the function at start-up (runs.apps.RunsConfig.ready), and the page calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teams.models import Team

__all__ = ["AgainInputs", "again_inputs", "register_again_inputs"]

# (team, technique id, run code) -> {input id: [values]}; {} when the code names no usable run.
AgainInputs = Callable[["Team", str, str], dict[str, list[str]]]
# Run codes are short; anything longer is not one, and is not looked up.
MAX_CODE_LENGTH = 32

_registered: list[AgainInputs] = []


def register_again_inputs(source: AgainInputs) -> None:
    """Use `source` for ?again= (the last one registered wins)."""
    _registered.append(source)


def again_inputs(team: Team, technique_id: str, code: str) -> dict[str, list[str]]:
    """The inputs to fill the form with for ?again=<code>; {} when there are none."""
    if not code or len(code) > MAX_CODE_LENGTH or not _registered:
        return {}
    return _registered[-1](team, technique_id, code)
