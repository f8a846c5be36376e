"""PLACEHOLDER (issue "Run result pages ... share links"): replaced by the share views."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse


def create_share(request: HttpRequest, code: str) -> HttpResponse:
    raise Http404


def revoke_share(request: HttpRequest, code: str, share_code: str) -> HttpResponse:
    raise Http404


@login_not_required
def public_share(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404


@login_not_required
def public_output(request: HttpRequest, token: str, position: int) -> HttpResponse:
    raise Http404
