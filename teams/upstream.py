"""One team's slow FLORA must not slow anybody else: per-team bulkheads and breakers.

Every FLORA call made for a team passes through that team's guard (the client's `gate`):

- a **bulkhead** for calls made while a person waits: at most FLORA_PAGE_CALLS_PER_TEAM of one
  team's calls are in flight in one process; one more is refused at once instead of taking
  a web thread too. A FLORA that drips its answers can then hold at most that many threads
  per process (each for at most its deadline), and the others keep serving every other team,
  the log-in page and /healthz;
- a **breaker**: after BREAKER_THRESHOLD timeouts in a row (each having held its caller for
  at least COSTLY_TIMEOUT: a timeout that cost nothing protects nobody), the team's calls are
  refused for
  BREAKER_SECONDS (pages show the usual "FLORA is not answering" message at once, the worker's
  sweep moves on to other teams' runs), then the next call tries again; a success closes it.

Refused calls raise flora.RequestNotSent: nothing reached FLORA, so nothing is left to
reconcile. State is per process (threads share it); that is what the threads need, and a
slow upstream is met by each process on its own anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from django.conf import settings

from flora import RequestNotSent

__all__ = [
    "BREAKER_SECONDS",
    "BREAKER_THRESHOLD",
    "TeamGuard",
    "guard_for",
    "reset",
]

BREAKER_THRESHOLD = 2
BREAKER_SECONDS = 15.0
COSTLY_TIMEOUT = 1.0


class TeamGuard:
    def __init__(self, team_pk: int) -> None:
        self.team_pk = team_pk
        self._lock = threading.Lock()
        self._page_calls = 0
        self._timeouts = 0
        self._open_until = 0.0

    # -- the gates handed to flora clients ------------------------------------------------

    @contextmanager
    def page_call(self) -> Iterator[None]:
        """For a call a person waits for: the breaker, then a bulkhead slot."""
        self._check_breaker()
        with self._lock:
            if self._page_calls >= settings.FLORA_PAGE_CALLS_PER_TEAM:
                raise RequestNotSent(
                    "Other requests of this team are still waiting for FLORA's answer; "
                    "nothing was sent. Try again in a moment."
                )
            self._page_calls += 1
        try:
            with self._watch():
                yield
        finally:
            with self._lock:
                self._page_calls -= 1

    @contextmanager
    def background_call(self) -> Iterator[None]:
        """For a worker's call: the breaker only (a worker runs one call at a time)."""
        self._check_breaker()
        with self._watch():
            yield

    # -- the breaker -------------------------------------------------------------------------

    def _check_breaker(self) -> None:
        wait = self._open_until - time.monotonic()
        if wait > 0:
            raise RequestNotSent(
                "FLORA has not been answering this team's requests in time; nothing was "
                f"sent. The dashboard tries again in {max(1, round(wait))} s."
            )

    @contextmanager
    def _watch(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        except httpx.TimeoutException:
            if time.monotonic() - started < COSTLY_TIMEOUT:
                raise
            with self._lock:
                self._timeouts += 1
                if self._timeouts >= BREAKER_THRESHOLD:
                    self._open_until = time.monotonic() + BREAKER_SECONDS
                    self._timeouts = 0
            raise
        # Any other failure (a refused connection, a body over the limit) neither counts
        # towards the breaker nor closes it; an answer in time, whatever its status, closes it.
        else:
            with self._lock:
                self._timeouts = 0
                self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._open_until > time.monotonic()


_guards: dict[int, TeamGuard] = {}
_guards_lock = threading.Lock()


def guard_for(team_pk: int) -> TeamGuard:
    guard = _guards.get(team_pk)
    if guard is None:
        with _guards_lock:
            guard = _guards.setdefault(team_pk, TeamGuard(team_pk))
    return guard


def reset() -> None:
    """Forget every guard's state (tests start each from closed breakers)."""
    with _guards_lock:
        _guards.clear()
