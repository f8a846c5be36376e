"""Rate limits counted in the database, each slot claimed atomically before the work it limits.

One mechanism for every limit in florasite: log-in attempts (florasite.auth) and share page
views (runs.shares). A request claims a slot with a conditional UPDATE

    UPDATE ... SET count = count + 1 WHERE key = k AND window_ends_at > now AND count < limit

which the database applies one request at a time (SQLite serialises writers; PostgreSQL
re-checks the WHERE clause against the row a concurrent UPDATE just committed), so however
many requests arrive at once, in however many processes, at most `limit` get a slot. The
cache is not used: the database cache implements incr as a read and then a write.

A window opens with the first request and lasts `window`; the first request after it ends
opens the next one, again with a conditional UPDATE so that only one request does. Ended
windows are deleted by the housekeeping job (florasite.tasks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from florasite.models import RateLimitCounter

__all__ = ["Slot", "give_back", "hit", "prune", "reset"]

# Rounds of "someone else changed the row meanwhile" before refusing (fail closed). Each
# round only repeats when another request won a race, so two or three are plenty.
_ATTEMPTS = 5


@dataclass(frozen=True)
class Slot:
    allowed: bool
    retry_after: int = 0  # when refused: seconds until the window ends (at least 1)


def _refused(seconds: float) -> Slot:
    return Slot(allowed=False, retry_after=max(1, math.ceil(seconds)))


def hit(key: str, limit: int, window: timedelta, now: datetime | None = None) -> Slot:
    """Claim one of `limit` slots of `key` in the current window, or say how long to wait."""
    now = now or timezone.now()
    counter = RateLimitCounter.objects.filter(key=key)
    for _ in range(_ATTEMPTS):
        if counter.filter(window_ends_at__gt=now, count__lt=limit).update(count=F("count") + 1):
            return Slot(allowed=True)
        if counter.filter(window_ends_at__lte=now).update(window_ends_at=now + window, count=1):
            return Slot(allowed=True)
        row = counter.values_list("window_ends_at", "count").first()
        if row is None:
            try:
                with transaction.atomic():
                    RateLimitCounter.objects.create(key=key, window_ends_at=now + window, count=1)
                return Slot(allowed=True)
            except IntegrityError:
                continue  # created by a simultaneous request: count in its row
        ends_at, count = row
        if ends_at > now and count >= limit:
            return _refused((ends_at - now).total_seconds())
        # Given back, reset or rolled over since our UPDATEs: try again.
    return _refused(window.total_seconds())


def give_back(key: str, now: datetime | None = None) -> None:
    """Return one slot of the current window (the limited work turned out not to count)."""
    RateLimitCounter.objects.filter(
        key=key, window_ends_at__gt=now or timezone.now(), count__gt=0
    ).update(count=F("count") - 1)


def reset(key: str) -> None:
    RateLimitCounter.objects.filter(key=key).delete()


def prune(now: datetime | None = None) -> int:
    """Delete the counters of ended windows; returns how many."""
    deleted, _ = RateLimitCounter.objects.filter(window_ends_at__lte=now or timezone.now()).delete()
    return deleted
