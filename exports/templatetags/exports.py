"""{% export_button filter_query %} and {% export_intent %}: the Runs page's "Export CSV" (a
POST with an intent key made with the page, answered in place by htmx:
templates/exports/_state.html). Templates are not imports:
the runs app's page loads this tag; runs code never imports exports."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from exports.views import new_intent

register = template.Library()


@register.inclusion_tag("exports/_button.html", takes_context=True)
def export_button(context: dict[str, Any], filter_query: str) -> dict[str, Any]:
    return {"csrf_token": context.get("csrf_token"), "filter_query": filter_query}


@register.simple_tag
def export_intent() -> str:
    """The button's first intent key, as a hidden input of its form (inside #export-state,
    where the export's state replaces it)."""
    return format_html(
        '<input type="hidden" name="intent" form="export-form" value="{}">', new_intent()
    )


@register.filter
def thousands(value: Any) -> str:
    """1234567 -> 1,234,567 ('' for None)."""
    if value is None or value == "":
        return ""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
