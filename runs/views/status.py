"""PLACEHOLDER (issue "Run history and live status"): replaced by the status fragment."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def run_status(request: HttpRequest, code: str) -> HttpResponse:
    raise Http404
