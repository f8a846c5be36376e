"""The run history at 10,000 and 100,000 runs (1,000,000 with --million): time and queries
per page, side by side by size.

Fills a temporary SQLite database (the embedded default) with one team per size, each with
that many runs spread over a year, then asks the history view (in process, through Django's
test client: middleware, view, template) for the first page, pages deep in the history,
filtered pages, and the first page right after a new run (the filter options' cache keyed
by the newest run is then stale, so they are scanned again), and prints median milliseconds
and SQL queries for each size, side by side, with the ratio of the largest to the smallest.

    .venv/bin/python bench/history_pages.py                      # 10k and 100k
    .venv/bin/python bench/history_pages.py --million            # and 1M (minutes to write)
    .venv/bin/python bench/history_pages.py --sizes 2000 20000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, make_team, session_cookies  # noqa: E402

REPEAT = 15
STALE = "first page after a new run"


def _fill(team, member, n: int, rng: random.Random) -> None:
    from django.utils import timezone

    from runs.models import Run, RunOrigin, RunStatus

    statuses = [RunStatus.COMPLETED] * 8 + [RunStatus.FAILED, RunStatus.RUNNING]
    techniques = [(f"tech_{i}", f"Technique {i}") for i in range(30)]
    start = timezone.now() - timedelta(days=365)
    step = 365 * 86400 / n  # every size spans the same year
    batch: list[Run] = []
    for i in range(n):
        technique_id, name = rng.choice(techniques)
        outside = rng.random() < 0.2
        batch.append(
            Run(
                team=team,
                created_by=None if outside else member,
                origin=RunOrigin.EXTERNAL if outside else RunOrigin.DASHBOARD,
                technique_id=technique_id,
                technique_name=name,
                status=rng.choice(statuses),
                workspace_id=rng.choice(["ws_demo", "ws_brand"]),
                project_id=rng.choice(["prj_a", "prj_b", "prj_c"]),
                created_at=start + timedelta(seconds=i * step),
                charged_cost="0.06",
                code=f"b{team.pk:03d}{i:08d}",
                outputs_raw=[{"output_id": "o", "type": "imageUrl", "url": "https://x/y.png"}],
            )
        )
        if len(batch) == 5000:
            Run.objects.bulk_create(batch)
            batch.clear()
    Run.objects.bulk_create(batch)


def _new_run(team, member, serial: int) -> None:
    """A run started just now, as the run form writes it: the newest row of the team."""
    from django.utils import timezone

    from runs.models import Run, RunOrigin, RunStatus

    Run.objects.create(
        team=team,
        created_by=member,
        origin=RunOrigin.DASHBOARD,
        technique_id="tech_1",
        technique_name="Technique 1",
        status=RunStatus.PENDING,
        workspace_id="ws_demo",
        created_at=timezone.now(),
        code=f"n{team.pk:03d}{serial:08d}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="add 1,000,000 runs")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes + ([1_000_000] if args.million else [])))
    if sizes[0] < 100:
        parser.error("--sizes must be at least 100")

    server = Server(log_level="WARNING")
    try:
        print(f"Filling a temporary database in {server.workdir} ...", flush=True)
        server.setup_django(collectstatic=True)
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from runs.models import Run

        rng = random.Random(7)
        teams = {}
        for n in sizes:
            team = make_team(server)
            (cookie,) = session_cookies(team, 1)
            (manager_cookie,) = session_cookies(team, 1, role="manager")
            member = get_user_model().objects.get(
                team_memberships__team=team, team_memberships__role="member"
            )
            began = time.perf_counter()
            _fill(team, member, n, rng)
            print(f"{n} runs written in {time.perf_counter() - began:.1f} s", flush=True)
            member_client = Client(HTTP_HOST="127.0.0.1")
            member_client.cookies["sessionid"] = cookie
            manager_client = Client(HTTP_HOST="127.0.0.1")
            manager_client.cookies["sessionid"] = manager_cookie
            ordered = Run.objects.filter(team=team).order_by("-created_at", "-id")
            codes = ordered.values_list("code", flat=True)
            deep, middle = codes[int(n * 0.9)], codes[n // 2]
            urls = {
                "first page": "/runs/",
                "first page, as a manager": "/runs/",
                STALE: "/runs/",
                "middle page (keyset)": f"/runs/?before={middle}",
                "page at 90 % (keyset)": f"/runs/?before={deep}",
                "newer from 90 %": f"/runs/?after={deep}",
                "filter: status failed": "/runs/?status=failed",
                "filter: technique + member": f"/runs/?technique=tech_3&member={member.username}",
                "filter: date range (1 week)": "/runs/?date_from=2026-03-01&date_to=2026-03-07",
                "filter: outside, deep": f"/runs/?member=outside&before={deep}",
            }
            member_client.get("/runs/")  # filter choices computed once, then cached
            teams[n] = (team, member, member_client, manager_client, urls)

        print()
        cols = "".join(f" | {f'{n:,} ms':>13} {'q':>3}" for n in sizes)
        header = f"{'page (median of ' + str(REPEAT) + ')':<30}{cols} | {'largest/smallest':>16}"
        print(header)
        print("-" * len(header))
        serial = 0
        for label in teams[sizes[0]][4]:
            timings: dict[int, list[float]] = {n: [] for n in sizes}
            queries: dict[int, int] = {}
            for _ in range(REPEAT):
                for n in sizes:  # sizes take turns, so the machine's noise weighs alike
                    team, member, member_client, manager_client, urls = teams[n]
                    # Managers also see the spend of the view, a sum over the matching rows.
                    client = manager_client if "manager" in label else member_client
                    if label == STALE:
                        serial += 1
                        _new_run(team, member, serial)  # the facets' key moves on
                    with CaptureQueriesContext(connection) as ctx:
                        t0 = time.perf_counter()
                        response = client.get(urls[label])
                        timings[n].append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, (urls[label], response.status_code)
                    queries[n] = len(ctx.captured_queries)
            medians = {n: statistics.median(timings[n]) for n in sizes}
            cells = "".join(f" | {medians[n]:>13.1f} {queries[n]:>3}" for n in sizes)
            ratio = medians[sizes[-1]] / medians[sizes[0]]
            print(f"{label:<30}{cells} | {ratio:>15.2f}x")
        return 0
    finally:
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
