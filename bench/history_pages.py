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
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, make_team, session_cookies  # noqa: E402

TARGET = 1.5
ROUNDS = 15
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
STALE = "first page after a new run"
COLD = "first page, new connection"
CONTROL = "control: manager, tallies bypassed"


def _fill(team, member, n: int) -> None:
    """n runs over the past year, written by one INSERT ... SELECT in the database (a
    million Python objects would take most of the bench's time): 30 techniques, 20 % started
    outside, 80 % completed, 10 % failed, 10 % running, two workspaces, three projects,
    spread by multiplicative hashing of the row number."""
    from django.db import connection
    from django.utils import timezone

    from runs.models import Run, RunOrigin

    template = Run(
        team=team,
        technique_id="t",
        technique_name="T",
        charged_cost=Decimal("0.0600"),
        outputs_raw=[{"output_id": "o", "type": "imageUrl", "url": "https://x/y.png"}],
    )
    start = (timezone.now() - timedelta(days=365)).timestamp()
    step = 365 * 86400 / n  # every size spans the same year
    pg = connection.vendor == "postgresql"
    if pg:
        rows, i = "generate_series(0::bigint, %s) AS seq(i)", "seq.i"
        when = f"to_timestamp(%s + {i} * %s)"
        code = f"'b' || lpad(%s::text, 3, '0') || lpad({i}::text, 8, '0')"
    else:
        rows = (
            "(WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < %s) "
            "SELECT i FROM seq) AS seq"
        )
        i = "seq.i"
        when = f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s + {i} * %s, 'unixepoch')"
        code = f"printf('b%%03d%%08d', %s, {i})"
    outside = f"(({i} * 40503) %% 100 < 20)"
    tech = f"(({i} * 2654435761) %% 30)"
    varying = {
        "code": (code, [team.pk]),
        "created_by_id": (f"CASE WHEN {outside} THEN NULL ELSE %s END", [member.pk]),
        "origin": (
            f"CASE WHEN {outside} THEN %s ELSE %s END",
            [RunOrigin.EXTERNAL, RunOrigin.DASHBOARD],
        ),
        "technique_id": (f"'tech_' || {tech}", []),
        "technique_name": (f"'Technique ' || {tech}", []),
        "status": (
            f"CASE ({i} * 48271) %% 10 WHEN 8 THEN 'failed' WHEN 9 THEN 'running' "
            "ELSE 'completed' END",
            [],
        ),
        "workspace_id": (f"CASE ({i} * 69069) %% 2 WHEN 0 THEN 'ws_demo' ELSE 'ws_brand' END", []),
        "project_id": (
            f"'prj_' || CASE ({i} * 16807) %% 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END",
            [],
        ),
        "created_at": (when, [start, step]),
    }
    columns, exprs, params = [], [], []
    for field in Run._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.attname in varying:
            expr, values = varying[field.attname]
            exprs.append(expr)
            params += values
            continue
        value = field.pre_save(template, add=True)
        exprs.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    sql = f"INSERT INTO runs_run ({', '.join(columns)}) SELECT {', '.join(exprs)} FROM {rows}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, n - 1])  # the row count is the last placeholder


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
    server = Server(log_level="WARNING")
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
                _fill(team, member, n)
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
