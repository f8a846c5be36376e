"""Budgets, the spend ledger, and the balances derived from it.

FLORA's prices and charged costs are US dollars with 4 places (runs.models.Run.price_quoted,
charged_cost). The ledger and the balances count them in whole UNITS of $0.0001 (integers):
sums and comparisons in the database are exact on SQLite (whose decimals are floats) and on
PostgreSQL alike. A Budget's amount is a Decimal as a person types it. A month is a calendar
month in the team's time zone (teams.models.Team.zone), written "YYYY-MM".

- ``Budget``: a standing monthly amount for a team (member empty) or one member of it.
- ``LedgerEntry``: every reserve, settle and release, with what it did to the reserved and
  spent figures (``reserved_delta``, ``spent_delta``). Every figure is a sum of entries.
- ``Balance``: the sums of the ledger per team (and per member) and month, kept in the same
  transaction as each entry, so that a reservation is one conditional UPDATE of one row
  (budgets.services). The nightly check (budgets.check) recomputes them from the ledger.
- ``SentAlert``: a threshold alert sent, once per scope, month and threshold.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

AMOUNT = {"max_digits": 14, "decimal_places": 4}
UNITS_PER_DOLLAR = 10_000


def to_units(amount: Decimal | None) -> int:
    return int((amount or Decimal("0")).scaleb(4).to_integral_value(ROUND_HALF_UP))


def to_dollars(units: int | None) -> Decimal:
    return Decimal(units or 0).scaleb(-4)


DEFAULT_THRESHOLDS = [80, 100]


def default_thresholds() -> list[int]:
    return list(DEFAULT_THRESHOLDS)


def validate_thresholds(value: object) -> None:
    if not isinstance(value, list) or not all(
        isinstance(item, int) and 1 <= item <= 100 for item in value
    ):
        raise ValidationError("Alert thresholds are whole percentages from 1 to 100.")


def _per_scope(prefix: str, fields: list[str]) -> list[models.UniqueConstraint]:
    """One row per team (member empty) and one per team and member: NULLs are never equal
    in a unique constraint, so each scope gets a partial one."""
    return [
        models.UniqueConstraint(
            fields=["team", *fields],
            condition=Q(member__isnull=True),
            name=f"{prefix}_one_per_team",
        ),
        models.UniqueConstraint(
            fields=["team", "member", *fields],
            condition=Q(member__isnull=False),
            name=f"{prefix}_one_per_member",
        ),
    ]


class Budget(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="budgets")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="flora_budgets",
        help_text="Empty: the whole team's budget.",
    )
    monthly_amount = models.DecimalField(
        **AMOUNT, validators=[MinValueValidator(Decimal("0"))], help_text="US dollars per month."
    )
    alert_thresholds = models.JSONField(
        default=default_thresholds,
        blank=True,
        validators=[validate_thresholds],
        help_text="Percentages of the budget at which the managers get an email.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team", "member"]
        constraints = _per_scope("budget", [])

    def __str__(self) -> str:
        who = self.member.get_username() if self.member_id else "team"
        return f"{self.team} · {who}: {self.monthly_amount}/month"


class EntryKind(models.TextChoices):
    RESERVE = "reserve", "Reserved"
    SETTLE = "settle", "Settled"
    RELEASE = "release", "Released"


class LedgerEntry(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="ledger")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    run = models.ForeignKey(
        "runs.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="ledger"
    )
    run_code = models.CharField(max_length=16, blank=True)
    technique_name = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    # The figure the entry is about: the price reserved, the cost charged, the sum released.
    # In UNITS ($0.0001).
    amount = models.BigIntegerField()
    reserved_delta = models.BigIntegerField(default=0)
    spent_delta = models.BigIntegerField(default=0)
    month = models.CharField(max_length=7)
    day = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A run is reserved once and ends once: a repeated signal writes nothing.
            models.UniqueConstraint(
                fields=["run"],
                condition=Q(kind="reserve"),
                name="ledger_one_reserve_per_run",
            ),
            models.UniqueConstraint(
                fields=["run"],
                condition=Q(kind__in=["settle", "release"]),
                name="ledger_one_ending_per_run",
            ),
        ]
        indexes = [models.Index(fields=["team", "month", "day"], name="ledger_team_month")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.run_code or 'no run'})"


class Balance(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    month = models.CharField(max_length=7)
    # In UNITS ($0.0001).
    reserved = models.BigIntegerField(default=0)
    spent = models.BigIntegerField(default=0)

    class Meta:
        constraints = _per_scope("balance", ["month"])

    def __str__(self) -> str:
        return f"{self.team} {self.month}: {self.spent} spent, {self.reserved} reserved"


class SentAlert(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    month = models.CharField(max_length=7)
    threshold = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = _per_scope("alert", ["month", "threshold"])

    def __str__(self) -> str:
        return f"{self.team} {self.month}: {self.threshold}% alert"
