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


@contextmanager
def wsgi_transport() -> Iterator[httpx.WSGITransport]:
    """An httpx transport into this Django project, for use inside a test's transaction.

    Django closes the database connection at the end of each request when it is inside a
    transaction (as in every pytest-django test); on PostgreSQL that would end the test's
    transaction. Django's own test client avoids it the same way: by not listening to the
    request signals for connection clean-up while the transport is in use.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield httpx.WSGITransport(app=get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
