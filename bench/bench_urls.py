"""florasite's URLs plus two bench-only views, served by the same gunicorn, through the same
middleware: a bare "hello" (the baseline the status fragment is measured against) and a PNG
that drips one byte every 2 s (bench/hostile_flora.py's hostile output file: it lives on the
dashboard's own origin, which the output keeper may fetch while the sandbox is on)."""

from __future__ import annotations

import time

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

from florasite.urls import urlpatterns as site_urlpatterns


@login_not_required
def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello", content_type="text/plain")


@login_not_required
def drip(request: HttpRequest, name: str) -> StreamingHttpResponse:
    body = b"\x89PNG\r\n\x1a\n" + b"\0" * 4096

    def chunks():
        for i in range(len(body)):
            if i:
                time.sleep(2.0)
            yield body[i : i + 1]

    response = StreamingHttpResponse(chunks(), content_type="image/png")
    response["Content-Length"] = str(len(body))
    return response


urlpatterns = [
    path("bench/hello", hello),
    path("bench/drip/<str:name>", drip),
    *site_urlpatterns,
]
