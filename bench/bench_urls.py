"""florasite's URLs plus a bare "hello" view: the baseline the status fragment is measured
against, served by the same gunicorn, through the same middleware, in the same run."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from florasite.urls import urlpatterns as site_urlpatterns


@login_not_required
def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello", content_type="text/plain")


urlpatterns = [path("bench/hello", hello), *site_urlpatterns]
