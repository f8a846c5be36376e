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
