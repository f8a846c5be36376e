"""What another app knows of a run's money besides FLORA's quote and charge: the reservation
held against a budget (budgets registers its lookup in its AppConfig.ready, so runs imports
nothing of budgets). Pages call ``attach_reservations`` and show ``run.reservation``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from runs.models import Run

__all__ = ["Reservation", "attach_reservations", "register_reservations"]


@dataclass(frozen=True)
class Reservation:
    amount: Decimal  # what was reserved, in dollars
    state: str  # "held" (until the run ends), "settled" or "released"


Lookup = Callable[[Sequence[Run]], dict[int, Reservation]]
_LOOKUPS: list[Lookup] = []


def register_reservations(lookup: Lookup) -> None:
    if lookup not in _LOOKUPS:
        _LOOKUPS.append(lookup)


def attach_reservations(runs: Sequence[Run]) -> None:
    """Set ``run.reservation`` (a Reservation, or None) on each run, in one query per lookup."""
    found: dict[int, Reservation] = {}
    for lookup in _LOOKUPS:
        found.update(lookup(runs) if runs else {})
    for run in runs:
        run.reservation = found.get(run.pk)  # type: ignore[attr-defined]
