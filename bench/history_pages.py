"""The run history at 10,000 and 100,000 runs (1,000,000 with --million), on SQLite and on
PostgreSQL: time and queries per page, side by side by size, against issue 19's target
(every page at the largest size within 1.5x of the same page at the smallest).

Each database is measured in a process of its own (Django is configured once per process):
a temporary SQLite file, then a throwaway PostgreSQL database on 127.0.0.1:5432 (user
postgres; created and dropped here, skipped when none answers). One team per size, its runs
spread over the same year, written in bulk with the tallies' triggers off and the tallies
then rebuilt once (runs.tallies.bulk_load, as a restore would). The history view is asked
in process (Django's test client: middleware, view, template), in interleaved rounds
(every page and size once per round), medians printed with the ratio largest/smallest.

Cases beyond the plain pages: the first page on a new database connection (cold), and the
first page right after a new run (stale: the triggers' delta rows not folded yet, a
technique's options renewed). The control: the manager's first page with the tallies
bypassed (counts and spend by GROUP BY over the team's runs, options by DISTINCT over them,
as before issue 19); it must miss the target at the largest size, else the bench could not
tell.

    .venv/bin/python bench/history_pages.py                      # 10k and 100k, both databases
    .venv/bin/python bench/history_pages.py --million            # and 1M (several minutes)
    .venv/bin/python bench/history_pages.py --databases sqlite --sizes 2000 20000

Exit 0: every page within 1.5x on every database measured, and the control outside it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, make_team, session_cookies  # noqa: E402

TARGET = 1.5
ROUNDS = 15
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
STALE = "first page after a new run"
COLD = "first page, new connection"
CONTROL = "control: manager, tallies bypassed"


class DatabaseServer(Server):
    database_url: str = ""

    def env(self) -> dict[str, str]:
        env = super().env()
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env


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
        technique_id=f"tech_new_{serial}",  # a technique run for the first time
        technique_name=f"New technique {serial}",
        status=RunStatus.PENDING,
        workspace_id="ws_demo",
        created_at=timezone.now(),
        code=f"n{team.pk:03d}{serial:08d}",
    )


def _bypass_tallies():
    """The history as before issue 19: counts and spend by GROUP BY over the team's runs,
    the filter options by DISTINCT over them."""
    from runs import history
    from runs.models import Run

    def scanned_facets(team):
        names: dict[str, str] = {}
        rows = (
            Run.objects.filter(team=team).order_by().values_list("technique_id", "technique_name")
        )
        for technique_id, name in rows.distinct():
            names.setdefault(technique_id, name or technique_id)
        projects = Run.objects.filter(team=team).exclude(project_id="").order_by()
        return {
            "techniques": sorted(names.items(), key=lambda item: item[1].lower()),
            "projects": sorted(projects.values_list("project_id", flat=True).distinct()),
        }

    real = history._tally_where, history._facets
    history._tally_where = lambda team, form: None
    history._facets = scanned_facets

    def restore():
        history._tally_where, history._facets = real

    return restore


def run_one(database: str, sizes: list[int], rounds: int) -> dict:
    server = DatabaseServer(log_level="WARNING")
    pg_name = ""
    if database == "postgres":
        import psycopg

        pg_name = f"florasite_bench_history_{os.getpid()}"
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        server.database_url = f"postgres://postgres@127.0.0.1:5432/{pg_name}"
    try:
        print(f"{database}: filling {server.workdir} ...", file=sys.stderr, flush=True)
        server.setup_django(collectstatic=True)
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from runs import tallies
        from runs.models import Run

        rng = random.Random(7)
        teams = {}
        fill_seconds = {}
        with tallies.bulk_load():
            for n in sizes:
                team = make_team(server)
                (cookie,) = session_cookies(team, 1)
                (manager_cookie,) = session_cookies(team, 1, role="manager")
                member = get_user_model().objects.get(
                    team_memberships__team=team, team_memberships__role="member"
                )
                began = time.perf_counter()
                _fill(team, member, n, rng)
                fill_seconds[n] = round(time.perf_counter() - began, 1)
                print(f"{database}: {n} runs in {fill_seconds[n]} s", file=sys.stderr, flush=True)
                member_client = Client(HTTP_HOST="127.0.0.1")
                member_client.cookies["sessionid"] = cookie
                manager_client = Client(HTTP_HOST="127.0.0.1")
                manager_client.cookies["sessionid"] = manager_cookie
                teams[n] = (team, member, member_client, manager_client)
        if connection.vendor == "postgresql":
            # What autovacuum does after a load: statistics, and the visibility map that
            # lets counts read the index alone.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        urls_by_size = {}
        for n, (team, member, _, _) in teams.items():
            ordered = Run.objects.filter(team=team).order_by("-created_at", "-id")
            codes = ordered.values_list("code", flat=True)
            deep, middle = codes[int(n * 0.9)], codes[n // 2]
            urls_by_size[n] = {
                "first page": "/runs/",
                "first page, as a manager": "/runs/",
                COLD: "/runs/",
                STALE: "/runs/",
                "middle page (keyset)": f"/runs/?before={middle}",
                "page at 90 % (keyset)": f"/runs/?before={deep}",
                "newer from 90 %": f"/runs/?after={deep}",
                "filter: status failed": "/runs/?status=failed",
                "filter: technique + member": f"/runs/?technique=tech_3&member={member.username}",
                "filter: workspace + project, manager": "/runs/?workspace=ws_brand&project=prj_b",
                "filter: date range (1 week)": "/runs/?date_from=2026-03-01&date_to=2026-03-07",
                "filter: date range, manager": "/runs/?date_from=2026-03-01&date_to=2026-03-07",
                "filter: outside, deep": f"/runs/?member=outside&before={deep}",
                CONTROL: "/runs/",
            }
        labels = list(urls_by_size[sizes[0]])
        timings = {label: {n: [] for n in sizes} for label in labels}
        queries: dict[str, dict[int, int]] = {label: {} for label in labels}
        serial = 0
        for _ in range(rounds):
            for label in labels:
                for n in sizes:  # sizes take turns, so the machine's noise weighs alike
                    team, member, member_client, manager_client = teams[n]
                    client = manager_client if "manager" in label else member_client
                    if label == STALE:
                        serial += 1
                        _new_run(team, member, serial)
                    if label == COLD:
                        connection.close()
                    restore = _bypass_tallies() if label == CONTROL else None
                    try:
                        with CaptureQueriesContext(connection) as ctx:
                            t0 = time.perf_counter()
                            response = client.get(urls_by_size[n][label])
                            timings[label][n].append((time.perf_counter() - t0) * 1000)
                    finally:
                        if restore:
                            restore()
                    assert response.status_code == 200, (label, response.status_code)
                    if label == STALE:
                        assert f"tech_new_{serial}" in response.content.decode(), "not offered"
                    queries[label][n] = len(ctx.captured_queries)
        problems = tallies.check()
        return {
            "database": database,
            "sizes": sizes,
            "fill_seconds": fill_seconds,
            "medians": {
                label: {str(n): statistics.median(v) for n, v in per.items()}
                for label, per in timings.items()
            },
            "queries": {
                label: {str(n): q for n, q in per.items()} for label, per in queries.items()
            },
            "tallies_exact": not problems,
            "rounds": rounds,
        }
    finally:
        server.cleanup()
        if pg_name:
            import psycopg
            from django.db import connections

            connections.close_all()
            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES, connect_timeout=3):
            return True
    except Exception:
        return False


def _report(result: dict) -> bool:
    sizes = result["sizes"]
    print(
        f"\n{result['database']} (runs written in bulk: "
        + ", ".join(f"{int(n):,} in {s} s" for n, s in result["fill_seconds"].items())
        + ")"
    )
    cols = "".join(f" | {f'{n:,} ms':>13} {'q':>3}" for n in sizes)
    title = f"page (median of {result['rounds']})"
    header = f"{title:<38}{cols} | {'largest/smallest':>16} | verdict"
    print(header)
    print("-" * len(header))
    ok = True
    for label, medians in result["medians"].items():
        cells = "".join(
            f" | {medians[str(n)]:>13.1f} {result['queries'][label][str(n)]:>3}" for n in sizes
        )
        ratio = medians[str(sizes[-1])] / medians[str(sizes[0])]
        if label == CONTROL:
            verdict = "misses (as it must)" if ratio > TARGET else "CONTROL WITHIN TARGET"
            ok &= ratio > TARGET
        else:
            verdict = "ok" if ratio <= TARGET else "MISSED"
            ok &= ratio <= TARGET
        print(f"{label:<38}{cells} | {ratio:>15.2f}x | {verdict}")
    if not result["tallies_exact"]:
        print("TALLIES DIFFER FROM THE RUNS TABLE after the bench's writes")
        ok = False
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="add 1,000,000 runs")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = sorted(set(args.sizes + ([1_000_000] if args.million else [])))
    if sizes[0] < 100:
        parser.error("--sizes must be at least 100")
    if args.child:
        print(json.dumps(run_one(args.child, sizes, args.rounds)))
        return 0

    ok = True
    measured = 0
    for database in args.databases:
        if database == "postgres" and not _postgres_answers():
            print(f"postgres: nothing answers at {POSTGRES}; skipped")
            continue
        command = [sys.executable, __file__, "--child", database, "--rounds", str(args.rounds)]
        out = subprocess.run(
            [*command, "--sizes", *map(str, sizes)],
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"{database}: failed (exit {out.returncode})")
            return 1
        ok &= _report(json.loads(out.stdout.strip().splitlines()[-1]))
        measured += 1
    if not measured:
        return 1
    print(
        f"\ntarget met: every page within {TARGET}x, the control outside it"
        if ok
        else f"\nTARGET MISSED (within {TARGET}x, control outside it)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
