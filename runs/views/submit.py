"""PLACEHOLDER (issue "Run forms"): replaced by the submission views."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def start_run(request: HttpRequest, technique_id: str) -> HttpResponse:
    raise Http404


def run_again(request: HttpRequest, code: str) -> HttpResponse:
    raise Http404
