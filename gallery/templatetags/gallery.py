"""Gallery parts other pages show: a member's star on an output, and a link to compare.

The run page (runs templates) loads these: runs code never imports the gallery (it is the
layer above), only its templates name these tags.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from gallery.compare import COMPARABLE, MAX_OUTPUTS, MIN_OUTPUTS
from gallery.models import Favourite

register = template.Library()


@register.inclusion_tag("gallery/_favourite.html", takes_context=True)
def favourite_button(context: dict[str, Any], output: Any, where: str = "run") -> dict[str, Any]:
    request = context["request"]
    starred = (
        request.user.is_authenticated
        and Favourite.objects.filter(user=request.user, output_id=output.pk).exists()
    )
    return {
        "output": output,
        "favourite": starred,
        "where": where,
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def compare_url(items: list[Any]) -> str:
    """/gallery/compare?o=..: the run's kept images, videos or audio, when 2 to 4 of them."""
    ids = [item.output.pk for item in items if item.is_kept and item.kind in COMPARABLE]
    if not MIN_OUTPUTS <= len(ids) <= MAX_OUTPUTS:
        return ""
    return f"{reverse('gallery:compare')}?{urlencode([('o', pk) for pk in ids])}"
