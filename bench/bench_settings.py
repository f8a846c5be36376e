"""Settings for the benchmarks' gunicorn only: florasite's settings plus bench_urls.

Loaded with DJANGO_SETTINGS_MODULE=bench_settings and bench/ on PYTHONPATH (bench/_harness.py
does both); the product never imports this module.
"""

from __future__ import annotations

from florasite.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
