"""{% export_button filter_query %} and {% export_intent %}: the Runs page's "Export CSV" (a
POST with an intent key made with the page, answered in place by htmx:
templates/exports/_state.html). Templates are not imports:
the runs app's page loads this tag; runs code never imports exports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html

from exports.models import ACTIVE_STATUSES, Export, ExportStatus
from exports.views import new_intent, state_context

register = template.Library()


@register.inclusion_tag("exports/_button.html", takes_context=True)
def export_button(context: dict[str, Any], filter_query: str) -> dict[str, Any]:
    return {"csrf_token": context.get("csrf_token"), "filter_query": filter_query}


# A finished export of the viewer's is still shown on the Runs page this long after it ended
# (then only on the exports page): they asked for it, left or reloaded, and came back.
RECENT = timedelta(minutes=10)


@register.simple_tag(takes_context=True)
def export_intent(context: dict[str, Any]) -> str:
    """What #export-state holds when the Runs page is rendered.

    The viewer's own export under way (or ended in the last few minutes), in the state it
    would have shown in place: a reload, or a second tab, does not lose sight of it, and a
    click while it runs lands on it (its intent key). Otherwise only the button's first
    intent key, a hidden input of its form, where an export's state will replace it.
    """
    request = context.get("request")
    membership = getattr(request, "membership", None)
    export = None
    if membership is not None:
        since = timezone.now() - RECENT
        export = (
            Export.objects.filter(team=membership.team, requested_by=request.user)
            .filter(
                Q(status__in=ACTIVE_STATUSES)
                | Q(status__in=(ExportStatus.READY, ExportStatus.FAILED), finished_at__gte=since)
            )
            .first()
        )
        if export is not None:
            export.team = membership.team  # already read (teams.access_cache)
    if export is None:
        return format_html(
            '<input type="hidden" name="intent" form="export-form" value="{}">', new_intent()
        )
    ctx = state_context(export, "inline")
    return render_to_string("exports/_state.html#inline", ctx, request=request)


@register.filter
def thousands(value: Any) -> str:
    """1234567 -> 1,234,567 ('' for None)."""
    if value is None or value == "":
        return ""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
