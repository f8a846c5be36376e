"""Helpers for tests anywhere in the project that drive the sandbox.

    from sandbox.testing import FrozenClock

    def test_run_finishes(monkeypatch):
        clock = FrozenClock.install(monkeypatch)
        ...start a run...
        clock.advance_past(run_id)        # the run is now completed (or failed)

To talk to the sandbox in-process (for example with `flora.Flora`), use `wsgi_transport()`:

    with sandbox.testing.wsgi_transport() as transport, httpx.Client(transport=transport) as http:
        client = Flora(api_key="sk_sandbox_demo",
                       base_url="http://testserver/sandbox/api/v1", http_client=http)

Only tests import this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from sandbox import lifecycle
from sandbox.models import SandboxRun

DEFAULT_START = 1_790_000_000.0  # 2026-09-21, a fixed, readable "now"


class FrozenClock:
    """A sandbox clock that moves only when told to."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self.time = start

    @classmethod
    def install(cls, monkeypatch: Any, start: float = DEFAULT_START) -> FrozenClock:
        clock = cls(start)
        monkeypatch.setattr("sandbox.clock.now", clock.now)
        return clock

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds

    def finishes_at(self, run_id: str) -> float:
        """When the run reaches completed/failed (sandbox time)."""
        return lifecycle.timeline(SandboxRun.objects.get(run_id=run_id)).ends_at

    def advance_past(self, run_id: str) -> None:
        """Move to just after the run's terminal time (never backwards)."""
        self.time = max(self.time, self.finishes_at(run_id) + 0.001)


class InProcessTransport(httpx.WSGITransport):
    """An httpx transport into this Django project, safe inside a test's transaction.

    Django closes the database connection when a request starts and finishes; inside a test
    (one transaction, one connection) that would end the test's transaction on PostgreSQL.
    Django's own test client avoids it by unhooking that clean-up around each request, and
    re-hooks it afterwards, so the unhooking has to happen per request here too (a request
    made from inside a view served by the test client would otherwise find it hooked again).
    The body is read before the clean-up is re-hooked, because Django sends
    request_finished when the body is closed.
    """

    def __init__(self) -> None:
        super().__init__(app=get_wsgi_application())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = signals.request_started.disconnect(close_old_connections)
        finished = signals.request_finished.disconnect(close_old_connections)
        try:
            response = super().handle_request(request)
            try:
                content = b"".join(response.stream)  # type: ignore[arg-type]
            finally:
                response.stream.close()  # type: ignore[attr-defined]
            return httpx.Response(
                status_code=response.status_code, headers=response.headers, content=content
            )
        finally:
            if started:
                signals.request_started.connect(close_old_connections)
            if finished:
                signals.request_finished.connect(close_old_connections)


@contextmanager
def wsgi_transport() -> Iterator[httpx.WSGITransport]:
    """An InProcessTransport (kept as a context manager for the callers that use one)."""
    yield InProcessTransport()
