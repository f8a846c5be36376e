"""florasite's URLs plus two bench-only views, served by the same gunicorn, through the same
middleware: a bare "hello" (the baseline the status fragment is measured against) and a PNG
that drips one byte every 2 s (bench/hostile_flora.py's hostile output file: it lives on the
dashboard's own origin, which the output keeper may fetch while the sandbox is on).

With BENCH_NO_CLAIM=1 (bench/poll_fanin.py's control round), the status fragments refresh
without the claim: every poll wins and asks FLORA. The URLconf is imported once the apps are
ready and before the first view runs, so the swap is in place for every request.

With BENCH_NO_MEMBERSHIP_CACHE=1 (bench/status_fragment.py's control), teams.access_cache
keeps nothing: the memberships are read on every request, as before the cache, to show the
gap it closes.

With BENCH_FRAGMENT_AS_BEFORE=1 (bench/status_fragment.py's second control), the status
fragment is served as it was before issue 19 (the view of commit 7da668d, with today's
template): the whole run row by the ORM (get_run_for_member), rendered on every poll with
the context processors, Django's never_cache and vary_on_headers.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

from florasite.urls import urlpatterns as site_urlpatterns

if os.environ.get("BENCH_NO_CLAIM"):
    from django.utils import timezone

    import runs.views.status
    from runs import refresh
    from runs.models import Run

    def _refresh_without_claim(run: Run, *, timeout: float = refresh.FRAGMENT_TIMEOUT) -> Run:
        """refresh_if_due with the claim always won: no read of the hold, no conditional
        UPDATE. What the fan-in would cost if runs.refresh did not coordinate callers."""
        if not refresh._is_refreshable(run):
            return run
        now = timezone.now()
        lease_until = now + timedelta(seconds=timeout) + refresh.LEASE_MARGIN
        Run.objects.filter(pk=run.pk).update(refresh_claimed_until=lease_until)
        run.refresh_claimed_until = lease_until
        return refresh._refresh_claimed(run, lease_until, now, timeout, interactive=True)[0]

    runs.views.status.refresh_if_due = _refresh_without_claim  # type: ignore[assignment]


if os.environ.get("BENCH_NO_MEMBERSHIP_CACHE"):
    import teams.access_cache

    teams.access_cache.ENABLED = False


if os.environ.get("BENCH_FRAGMENT_AS_BEFORE"):
    from django.shortcuts import render
    from django.views.decorators.cache import never_cache
    from django.views.decorators.http import require_safe
    from django.views.decorators.vary import vary_on_headers
    from django_htmx.http import HTMX_STOP_POLLING

    import runs.urls
    from runs.access import get_run_for_member, run_page_fragment
    from runs.views.status import _refreshed

    @require_safe
    @never_cache
    @vary_on_headers("HX-Request")
    @run_page_fragment
    def run_status_as_before(request: HttpRequest, code: str) -> HttpResponse:
        run = get_run_for_member(request, code, with_creator=False)
        run = _refreshed(request, run)
        ctx = {"run": run, "status_oob_outputs": run.is_terminal, "status_title": True}
        status = HTMX_STOP_POLLING if run.is_terminal else 200
        return render(request, "runs/_status.html", ctx, status=status)

    for pattern in runs.urls.urlpatterns:
        if getattr(pattern, "name", None) == "status":
            pattern.callback = run_status_as_before


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
