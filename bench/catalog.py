"""The catalog page, cold and warm: FLORA calls made and median latency, side by side.

A throwaway SQLite database (with the database cache, as `make run` uses), a team on the
built-in sandbox reached in-process over WSGI, and Django's test client. FLORA calls are
counted at the transport, i.e. where FLORA would receive them. "Cold" clears the cache
before its request; "warm" serves from it. The two alternate, one of each per round.

    .venv/bin/python bench/catalog.py            # 25 rounds (a cold and a warm page each)
    .venv/bin/python bench/catalog.py --n 100

The sandbox answers in-process in about a millisecond; a real FLORA over the internet takes
tens to hundreds of milliseconds per call, which only widens the gap shown here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _configure(workdir: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "florasite.test_settings"
    # The test settings take their database from TEST_DATABASE_URL only.
    os.environ["TEST_DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ["FLORASITE_VAR_DIR"] = workdir
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.pop("TEST_REDIS_URL", None)
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=25, help="rounds of a cold and a warm page (25)")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")

    with tempfile.TemporaryDirectory(prefix="florasite-bench-catalog-") as workdir:
        _configure(workdir)
        return _run(args.n)


def _run(n: int) -> int:
    import httpx
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.test import Client

    import teams.services
    from teams.models import FloraConnection, Membership, Team
    from teams.services import save_connection

    call_command("migrate", verbosity=0)

    sandbox = httpx.WSGITransport(app=get_wsgi_application())
    calls: list[str] = []

    class Counting(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            calls.append(f"{request.method} {request.url.path}")
            return sandbox.handle_request(request)

    http = httpx.Client(transport=Counting())
    teams.services.get_http_client = lambda: http  # the project's own seam for tests

    team = Team.objects.create(name="Bench", slug="bench")
    save_connection(
        FloraConnection(
            team=team,
            base_url="http://testserver/sandbox/api/v1",
            workspace_ids=["ws_demo", "ws_brand"],
        ),
        actor="bench",
        api_key="sk_sandbox_demo",
    )
    user = get_user_model().objects.create_user("bench")
    Membership.objects.create(user=user, team=team, role="member")
    client = Client()
    client.force_login(user)

    def timed(clear_first: bool) -> tuple[float, int]:
        if clear_first:
            cache.clear()
        before = len(calls)
        start = time.perf_counter()
        response = client.get("/techniques/")
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, response.status_code
        return elapsed, len(calls) - before

    client.get("/techniques/")  # warm up imports, templates and connections
    # Interleaved: every round one cold page then one warm page (served from what the cold
    # one just cached), so whatever else the machine does weighs on both sides alike.
    cold: list[float] = []
    warm: list[float] = []
    cold_calls = warm_calls = 0
    for _ in range(n):
        elapsed, count = timed(clear_first=True)
        cold.append(elapsed)
        cold_calls += count
        elapsed, count = timed(clear_first=False)
        warm.append(elapsed)
        warm_calls += count

    cold_median, warm_median = statistics.median(cold), statistics.median(warm)
    print(
        f"Catalog page /techniques/ ({n} interleaved rounds: cold, warm; "
        "FLORA = in-process sandbox;"
    )
    print(
        f"cache = {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"FLORA_CATALOG_TTL = {settings.FLORA_CATALOG_TTL} s)"
    )
    print()
    print(f"{'':<22}{'FLORA calls':>12}{'calls/page':>12}{'median ms':>11}{'p90 ms':>9}")
    for label, timings, count in (
        ("cold (cache cleared)", cold, cold_calls),
        ("warm (cached)", warm, warm_calls),
    ):
        p90 = statistics.quantiles(timings, n=10)[-1] if len(timings) > 1 else timings[0]
        print(
            f"{label:<22}{count:>12}{count / n:>12.2f}{statistics.median(timings):>11.2f}"
            f"{p90:>9.2f}"
        )
    print()
    speedup = cold_median / warm_median if warm_median else float("inf")
    per_round = statistics.median(c / w for c, w in zip(cold, warm, strict=True) if w)
    print(
        f"median cold / median warm = {cold_median:.2f} / {warm_median:.2f} ms = {speedup:.1f}x "
        f"(median of the rounds' own ratios {per_round:.1f}x); "
        f"FLORA calls {cold_calls} -> {warm_calls}"
    )
    http.close()
    return 0 if warm_calls == 0 and cold_calls == n else 1


if __name__ == "__main__":
    sys.exit(main())
