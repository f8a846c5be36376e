"""Runs written as the submission writes them, reserved through the guard (no FLORA)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from budgets.services import guard_submission
from runs.models import Run, RunStatus


def reserved_run(team, user, price: str | None = "0.06", when=None, **fields) -> Run:
    """A `submitting` run whose price is reserved, as runs.submit leaves it before FLORA."""
    now = when or timezone.now()
    with transaction.atomic():
        values = {
            "technique_id": "tech_tarot-pull",
            "technique_name": "Tarot Pull",
            "status": RunStatus.SUBMITTING,
            **fields,
        }
        run = Run.objects.create(
            team=team,
            created_by=user,
            price_quoted=Decimal(price) if price is not None else None,
            created_at=now,
            submitted_at=now,
            **values,
        )
        guard_submission(team=team, user=user, runs=[run])
    return run
