"""Formatting filters shared by every page: {% load florasite %}."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

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
def isoformat(value: datetime | None) -> str:
    return value.isoformat() if isinstance(value, datetime) else ""


@register.filter
def safe_http_url(value: Any) -> str:
    """For every href/src built from a URL FLORA sent: the URL if http(s), else ""."""
    return http_url(value)
