"""The budget settings a manager changes: the team's month, thresholds, zone; members' caps."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django import forms

MAX_AMOUNT = Decimal("9999999999")


def _thresholds(text: str) -> list[int]:
    values = []
    for part in text.replace("%", "").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 100:
            raise forms.ValidationError(
                f"{part!r} is not a percentage from 1 to 100; write them like 80, 100."
            )
        values.append(int(part))
    return sorted(set(values))


class TeamBudgetForm(forms.Form):
    monthly_amount = forms.DecimalField(
        label="Team budget per month (US$)",
        required=False,
        min_value=Decimal("0"),
        max_value=MAX_AMOUNT,
        decimal_places=4,
        help_text="Empty: no team budget (spend is still counted).",
    )
    alert_thresholds = forms.CharField(
        label="Email the managers at",
        required=False,
        initial="80, 100",
        help_text="Percentages of the budget, comma separated; once each per month.",
    )
    time_zone = forms.CharField(
        label="Months are counted in the time zone",
        required=False,
        max_length=64,
        help_text="An IANA name such as Europe/Paris; empty: the site's zone.",
    )

    def clean_alert_thresholds(self) -> list[int]:
        return _thresholds(self.cleaned_data.get("alert_thresholds") or "")

    def clean_time_zone(self) -> str:
        value = (self.cleaned_data.get("time_zone") or "").strip()
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise forms.ValidationError(
                    f"{value!r} is not a time zone name; use one such as Europe/Paris."
                ) from None
        return value


class MemberBudgetForm(forms.Form):
    member = forms.IntegerField(widget=forms.HiddenInput)
    monthly_amount = forms.DecimalField(
        label="Budget per month (US$)",
        min_value=Decimal("0"),
        max_value=MAX_AMOUNT,
        decimal_places=4,
    )
