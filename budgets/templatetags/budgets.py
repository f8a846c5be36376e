"""Ledger figures (whole UNITS of $0.0001) in the site's money format."""

from __future__ import annotations

from typing import Any

from django import template

from budgets.models import to_dollars
from florasite.templatetags.florasite import usd

register = template.Library()


@register.filter
def units(value: Any) -> str:
    """12345 -> '$1.2345'; the site's usd format (cents, or every digit of a sub-cent sum)."""
    return usd(to_dollars(int(value or 0)))


@register.filter
def month_name(value: Any) -> str:
    """'2026-12' -> 'December 2026'; anything else is shown as it is."""
    import calendar

    text = str(value or "")
    year, _, month = text.partition("-")
    if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        return text
    return f"{calendar.month_name[int(month)]} {year}"
