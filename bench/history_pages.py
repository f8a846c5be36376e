"""The run history at 100,000 runs: time and queries per page, first page against deep pages.

Fills a temporary SQLite database (the embedded default) with one team's runs, then asks
the history view (in process, through Django's test client: middleware, view, template)
for the first page, a page deep in the history, filtered pages and the CSV export's first
rows, and prints milliseconds and SQL queries for each, side by side.

    .venv/bin/python bench/history_pages.py              # 100,000 runs
    .venv/bin/python bench/history_pages.py --runs 20000
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    args = parser.parse_args()

    server = Server(log_level="WARNING")
    try:
        print(f"Filling a temporary database in {server.workdir} ...", flush=True)
        server.setup_django(collectstatic=True)
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from runs.models import Run, RunOrigin, RunStatus

        team = make_team(server)
        (cookie,) = session_cookies(team, 1)
        (manager_cookie,) = session_cookies(team, 1, role="manager")
        from django.contrib.auth import get_user_model

        member = get_user_model().objects.get(
            team_memberships__team=team, team_memberships__role="member"
        )
        rng = random.Random(7)
        statuses = [RunStatus.COMPLETED] * 8 + [RunStatus.FAILED, RunStatus.RUNNING]
        techniques = [(f"tech_{i}", f"Technique {i}") for i in range(30)]
        start = timezone.now() - timedelta(days=365)
        batch: list[Run] = []
        began = time.perf_counter()
        for i in range(args.runs):
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
                    created_at=start + timedelta(seconds=i * 300),
                    charged_cost="0.06",
                    code=f"b{i:011d}",
                    outputs_raw=[{"output_id": "o", "type": "imageUrl", "url": "https://x/y.png"}],
                )
            )
            if len(batch) == 5000:
                Run.objects.bulk_create(batch)
                batch.clear()
        Run.objects.bulk_create(batch)
        print(f"{args.runs} runs written in {time.perf_counter() - began:.1f} s", flush=True)

        member_client = Client(HTTP_HOST="127.0.0.1")
        member_client.cookies["sessionid"] = cookie
        manager_client = Client(HTTP_HOST="127.0.0.1")
        manager_client.cookies["sessionid"] = manager_cookie
        ordered = Run.objects.filter(team=team).order_by("-created_at", "-id")
        deep = ordered.values_list("code", flat=True)[int(args.runs * 0.9)]
        middle = ordered.values_list("code", flat=True)[args.runs // 2]
        pages = [
            ("first page", "/runs/"),
            ("first page, as a manager", "/runs/"),
            ("middle page (keyset)", f"/runs/?before={middle}"),
            ("page at 90 % (keyset)", f"/runs/?before={deep}"),
            ("newer from 90 %", f"/runs/?after={deep}"),
            ("filter: status failed", "/runs/?status=failed"),
            ("filter: technique + member", f"/runs/?technique=tech_3&member={member.username}"),
            ("filter: date range (1 week)", "/runs/?date_from=2026-03-01&date_to=2026-03-07"),
            ("filter: outside, deep", f"/runs/?member=outside&before={deep}"),
        ]
        member_client.get("/runs/")  # filter choices computed once, then cached for a minute
        print()
        header = f"{'page':<30} | {'median ms':>9} | {'max ms':>7} | {'queries':>7}"
        print(header)
        print("-" * len(header))
        for label, url in pages:
            # Managers also see the spend of the view, a sum over the matching rows.
            client = manager_client if "manager" in label else member_client
            timings = []
            for _ in range(REPEAT):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            print(
                f"{label:<30} | {statistics.median(timings):>9.1f} | {max(timings):>7.1f} | "
                f"{len(ctx.captured_queries):>7}"
            )
        return 0
    finally:
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
