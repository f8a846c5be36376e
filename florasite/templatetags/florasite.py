"""Formatting filters shared by every page: {% load florasite %}."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import dateformat
from django.utils.html import format_html

from florasite.lib import when as when_lib
from florasite.lib.net import http_url

register = template.Library()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


@register.filter
def usd(value: Any) -> str:
    """$0.40, $1.25, $0.025 (sub-cent prices keep their digits); '' for None."""
    amount = _decimal(value)
    if amount is None:
        return ""
    try:
        cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        # More digits than decimal's precision (an absurd price from FLORA): no cents.
        return f"${amount:,.0f}"
    if cents == amount:
        return f"${cents:,.2f}"
    return f"${amount.normalize():,f}"


@register.filter
def price_per_run(value: Any) -> str:
    """'$0.40 per run', or 'Free' for a technique that costs nothing."""
    amount = _decimal(value)
    if amount is None:
        return "Price unknown"
    if amount == 0:
        return "Free"
    return f"{usd(amount)} per run"


@register.filter
def duration(seconds: Any) -> str:
    """42 s, 3 min 5 s, 2 h 4 min; '' for None."""
    if seconds is None or seconds == "":
        return ""
    try:
        total = int(round(float(seconds)))
    except (TypeError, ValueError):
        return ""
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.filter
def media_label(media_type: Any) -> str:
    """Human words for FLORA's media types: imageUrl -> Image."""
    return {
        "imageUrl": "Image",
        "videoUrl": "Video",
        "audioUrl": "Audio",
        "text": "Text",
        "documentUrl": "Document",
    }.get(str(media_type), str(media_type))


@register.filter
def when(value: datetime | None) -> str:
    """The one way a page shows a moment: <time datetime="UTC" title="full">today 14:05</time>.

    In the viewer's zone (florasite.lib.when says the format); '' for None.
    """
    if not isinstance(value, datetime):
        return ""
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        when_lib.iso_utc(value),
        when_lib.full_text(value),
        when_lib.when_text(value),
    )


@register.filter
def when_day(value: datetime | date | None) -> str:
    """A day alone, for pages that must not tell the hour: <time datetime="2026-12-02">."""
    day = when_lib.day_of(value)
    if day is None:
        return ""
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        day.isoformat(),
        f"{dateformat.format(day, 'l j F Y')} ({when_lib.zone_name()})",
        when_lib.day_text(day),
    )


@register.filter
def when_plain(value: datetime | None) -> str:
    """when's words without markup, for attributes and meta tags: "2 Dec 2026, 14:05"."""
    return when_lib.when_text(value)


@register.filter
def day_plain(value: datetime | date | None) -> str:
    """when_day's words without markup: "2 Dec 2026"."""
    return when_lib.day_text(value)


@register.filter
def safe_http_url(value: Any) -> str:
    """For every href/src built from a URL FLORA sent: the URL if http(s), else ""."""
    return http_url(value)
