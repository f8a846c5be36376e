"""Filters for live run status: {% load run_live %}."""

from __future__ import annotations

import math
from functools import lru_cache

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

from florasite.templatetags.florasite import duration
from runs.explanations import explain_error
from runs.models import Run
from runs.refresh import REFRESHABLE_STATUSES, interval_for
from runs.state import FAST_INTERVAL

register = template.Library()

# A stale run is asked about every 10 minutes; its page need not poll the database faster.
STALE_POLL_SECONDS = 60
# Submitting/checking rows change when our own code (submission, reconciler) moves them.
WAITING_POLL_SECONDS = 2
POLL_SLACK = 0.1
# Once a run's interval grows (after its first minute, by 1 s every 30 s of age), the pace
# is rounded up to whole seconds: nobody needs it finer, and a box whose poll interval
# changed with every millisecond of age would be a new render on every viewer's poll
# (runs.views.status keeps one render per state of the box).
POLL_STEP_MS = 1000


@register.simple_tag
def run_url(name: str, code: str) -> str:
    """``{% url name code %}`` for a run's URL, kept per process: every poll of the status
    box renders two, and reversing was a fifth of its template's time. A URL depends only on
    the name, the code, the URLconf and the script prefix: all four are the cache's key."""
    return _run_url(get_script_prefix(), get_urlconf(), name, code)


@lru_cache(maxsize=4096)
def _run_url(prefix: str, urlconf: str | None, name: str, code: str) -> str:
    return reverse(name, args=[code], urlconf=urlconf)


@register.filter
def poll_ms(run: Run) -> int:
    """How often the page asks for this run's status, in milliseconds (htmx `every Nms`).

    A little slower than the refresh interval: a poll that arrives a few milliseconds
    before the interval is over would find the refresh still held and bring nothing new,
    so a lone viewer would see news every other poll.
    """
    if run.stale:
        return STALE_POLL_SECONDS * 1000
    if run.status not in REFRESHABLE_STATUSES:
        return WAITING_POLL_SECONDS * 1000
    interval = interval_for(run)
    ms = math.ceil(interval.total_seconds() * (1 + POLL_SLACK) * 1000)
    if interval > FAST_INTERVAL:
        ms = math.ceil(ms / POLL_STEP_MS) * POLL_STEP_MS
    return ms


@register.filter
def error_words(run: Run) -> str:
    """The failure in one sentence of plain words (the run page's explanation, shortened)."""
    explanation = explain_error(run.error_code, run.status)
    first, dot, _ = explanation.partition(". ")
    return first + "." if dot else explanation


@register.filter
def indeterminate(run: Run) -> bool:
    """No meaningful percentage yet: waiting to be accepted or to start."""
    return run.is_in_flight and run.progress_percent == 0


@register.simple_tag
def run_box(run: Run) -> dict[str, object]:
    """All the status box (runs/_status.html) shows of a run, each asked of it once.

    The box is rendered on every viewer's poll: reading these from one dict costs the
    template a third of what the same attribute, method and filter lookups on the run did.
    The template reads nothing of the run but this dict, so the dict alone decides what it
    renders (runs.views.status keeps the render of a box in flight by it).
    """
    in_flight = run.is_in_flight
    percent = run.progress_percent
    return {
        "code": run.code,
        "status": run.status,
        "technique_name": run.technique_name,
        "stale": run.stale,
        "refresh_failures": run.refresh_failures,
        "in_flight": in_flight,
        "waiting": in_flight and percent == 0,
        "percent": percent,
        "label": str(run.get_status_display()),  # a lazy text would be a poor key
        "poll_ms": poll_ms(run) if in_flight else 0,
        "elapsed": duration(run.elapsed_seconds()) if in_flight else "",
        "took": "" if in_flight else duration(run.duration_seconds),
        "status_url": _run_url(get_script_prefix(), get_urlconf(), "runs:status", run.code),
        "detail_url": _run_url(get_script_prefix(), get_urlconf(), "runs:detail", run.code),
    }
