"""florasite.lib.ratelimit: windows counted in the database, slots claimed by conditional UPDATE."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection as db
from django.utils import timezone

from florasite.lib import ratelimit
from florasite.models import RateLimitCounter

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def test_it_allows_the_limit_then_refuses_until_the_window_ends():
    start = timezone.now()
    assert [ratelimit.hit("k", 3, MINUTE, now=start).allowed for _ in range(3)] == [True] * 3
    refused = ratelimit.hit("k", 3, MINUTE, now=start + timedelta(seconds=20))
    assert not refused.allowed
    assert refused.retry_after == 40
    # Refusals do not count: the window still ends a minute after its first request.
    assert RateLimitCounter.objects.get(key="k").count == 3
    assert ratelimit.hit("k", 3, MINUTE, now=start + MINUTE).allowed


def test_the_first_request_after_a_window_opens_the_next_one():
    start = timezone.now()
    for _ in range(2):
        ratelimit.hit("k", 2, MINUTE, now=start)
    later = start + timedelta(minutes=5)
    assert ratelimit.hit("k", 2, MINUTE, now=later).allowed
    counter = RateLimitCounter.objects.get(key="k")
    assert counter.count == 1
    assert counter.window_ends_at == later + MINUTE


def test_keys_are_counted_apart():
    assert ratelimit.hit("a", 1, MINUTE).allowed
    assert ratelimit.hit("b", 1, MINUTE).allowed
    assert not ratelimit.hit("a", 1, MINUTE).allowed


def test_give_back_returns_one_slot_and_reset_all():
    for _ in range(2):
        ratelimit.hit("k", 2, MINUTE)
    ratelimit.give_back("k")
    assert ratelimit.hit("k", 2, MINUTE).allowed
    assert not ratelimit.hit("k", 2, MINUTE).allowed
    ratelimit.reset("k")
    assert ratelimit.hit("k", 2, MINUTE).allowed


def test_prune_deletes_only_ended_windows():
    now = timezone.now()
    ratelimit.hit("old", 5, MINUTE, now=now - timedelta(minutes=2))
    ratelimit.hit("live", 5, MINUTE, now=now)
    assert ratelimit.prune(now=now) == 1
    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["live"]


def _hit_at_once(n: int, key: str, limit: int, now) -> list[bool]:
    barrier = threading.Barrier(n)
    results: list[bool] = []
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            barrier.wait()
            results.append(ratelimit.hit(key, limit, MINUTE, now=now).allowed)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=claim) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_simultaneous_hits_never_get_more_than_the_limit():
    start = timezone.now()
    # A key nobody used yet: the requests race to create its row...
    assert sorted(_hit_at_once(20, "k", 3, start)) == [False] * 17 + [True] * 3
    # ... and, a window later, to open the next one.
    assert sorted(_hit_at_once(20, "k", 3, start + MINUTE)) == [False] * 17 + [True] * 3
    assert RateLimitCounter.objects.get(key="k").count == 3
