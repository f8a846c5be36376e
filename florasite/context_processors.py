from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from florasite import __version__


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "product_name": "florasite",
        "product_version": __version__,
        "sandbox_enabled": settings.FLORA_SANDBOX_ENABLED,
    }
