"""PLACEHOLDER (issue "Run history and live status"): replaced by the history views."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def run_list(request: HttpRequest) -> HttpResponse:
    raise Http404


def export_csv(request: HttpRequest) -> HttpResponse:
    raise Http404


def sync_from_flora(request: HttpRequest) -> HttpResponse:
    raise Http404
