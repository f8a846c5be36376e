"""{% export_button filter_query %}: the Runs page's "Export CSV" (a POST with a fresh intent
key, answered in place by htmx: templates/exports/_state.html). Templates are not imports:
the runs app's page loads this tag; runs code never imports exports."""

from __future__ import annotations

from typing import Any

from django import template

from exports.views import new_intent

register = template.Library()


@register.inclusion_tag("exports/_button.html", takes_context=True)
def export_button(context: dict[str, Any], filter_query: str) -> dict[str, Any]:
    return {
        "csrf_token": context.get("csrf_token"),
        "filter_query": filter_query,
        "intent": new_intent(),
    }


@register.filter
def thousands(value: Any) -> str:
    """1234567 -> 1,234,567 ('' for None)."""
    if value is None or value == "":
        return ""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
