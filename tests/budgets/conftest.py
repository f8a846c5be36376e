"""Budgets' fixtures: a team budget, and runs in any state without FLORA."""

from __future__ import annotations

from decimal import Decimal

import pytest

from budgets.models import Budget


def set_budget(team, amount: str, member=None, thresholds=None) -> Budget:
    budget, _ = Budget.objects.update_or_create(
        team=team,
        member=member,
        defaults={
            "monthly_amount": Decimal(amount),
            "alert_thresholds": [80, 100] if thresholds is None else thresholds,
        },
    )
    return budget


@pytest.fixture
def team_budget(team_a):
    """Team A may spend $0.30 a month: five runs of the sandbox's Tarot Pull ($0.06)."""
    return set_budget(team_a, "0.30")


@pytest.fixture
def _reachable_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    """As tests/runs' fixture: a callback URL the sandbox accepts."""
    from tests.runs.submit_helpers import CALLBACK

    monkeypatch.setattr("runs.submit.callback_url_for", lambda team: CALLBACK)
