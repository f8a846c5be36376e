from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from florasite import __version__
from florasite.lib import when


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "product_name": "florasite",
        "product_version": __version__,
        "sandbox_enabled": settings.FLORA_SANDBOX_ENABLED,
        # The footer's "Times in Europe/Paris": the zone every time on the page is in.
        "time_zone_name": when.zone_name(),
        "time_zone_known": getattr(request, "time_zone_known", False),
    }
