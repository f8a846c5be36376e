"""Rate limit of `sk_sandbox_limited`: more than RATE_LIMIT requests within a second -> 429.

The window slides (the last second, not the current calendar second), so a burst of six
requests is always caught. Hits live in the cache, which settings share across processes.
"""

from __future__ import annotations

from django.core.cache import cache

from sandbox import clock
from sandbox.auth import ApiKey
from sandbox.errors import ApiError

RATE_LIMIT = 5
WINDOW_SECONDS = 1.0


def check(key: ApiKey) -> None:
    if not key.limited:
        return
    now = clock.now()
    cache_key = f"sandbox:ratelimit:{key.key}"
    # Not atomic across processes; a sandbox only needs the behaviour, not exact counting.
    hits = [hit for hit in cache.get(cache_key, []) if now - hit < WINDOW_SECONDS]
    if len(hits) >= RATE_LIMIT:
        raise ApiError(
            429,
            "rate_limited",
            f"Rate limit exceeded: at most {RATE_LIMIT} requests per second for this key.",
            headers={"Retry-After": "1"},
        )
    hits.append(now)
    cache.set(cache_key, hits, timeout=int(WINDOW_SECONDS) + 1)
