"""Settings for the benchmarks' gunicorn only: florasite's settings plus bench_urls.

Loaded with DJANGO_SETTINGS_MODULE=bench_settings and bench/ on PYTHONPATH (bench/_harness.py
does both); the product never imports this module.
"""

from __future__ import annotations

from florasite.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"

import os  # noqa: E402

if os.environ.get("BENCH_NO_GUARDS"):
    # bench/hostile_flora.py's unguarded round: no per-team bulkhead, no breaker (the
    # deadline stays), to show what the guards are for.
    import teams.upstream  # noqa: E402

    FLORA_PAGE_CALLS_PER_TEAM = 1_000_000
    teams.upstream.BREAKER_THRESHOLD = 1_000_000
