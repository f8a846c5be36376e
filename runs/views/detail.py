"""PLACEHOLDER (issue "Run result pages"): replaced by the run page and output downloads."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def run_detail(request: HttpRequest, code: str) -> HttpResponse:
    raise Http404


def output_file(request: HttpRequest, code: str, position: int) -> HttpResponse:
    raise Http404


def outputs_zip(request: HttpRequest, code: str) -> HttpResponse:
    raise Http404
