"""PLACEHOLDER (issue "Run history and live status"): replaced by the webhook receiver."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse


@login_not_required
def flora_webhook(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404
