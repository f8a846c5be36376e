"""Formatting for result pages: {% load run_results %}.

Formatting only: what a page shows of a run (its output items, who may run it again, how
often a section polls) is decided by the views (runs/views/run_page.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """'just now', '5 minutes ago', '2 days ago'."""
    if value is None:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value).split(', ')[0]} ago"
