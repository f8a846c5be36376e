"""Budget race: N simultaneous run submissions against a budget that covers 5 runs.

Starts gunicorn (gthread, the project's config: 2 worker processes, here 32 threads each)
serving florasite and its sandbox, on SQLite and then on PostgreSQL (a throwaway database on
postgres://postgres@127.0.0.1:5432, skipped when none answers). For N = 20, 50 and 100: a
new team with a budget of $0.30 (five Tarot Pulls at $0.06), N run forms rendered one by
one (N open tabs), then all N posted at the same moment from N threads. Counted: the runs
that started in FLORA (rows with a FLORA id), the answers (302 started, 402 over budget),
and what the ledger reserved.

    .venv/bin/python bench/budget_race.py
    .venv/bin/python bench/budget_race.py --sizes 20 --databases sqlite

Target: exactly 5 runs started and $0.30 reserved, for every N and database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, make_team, session_cookies  # noqa: E402

TAROT = "tech_tarot-pull"
BUDGET = Decimal("0.30")
PRICE = Decimal("0.06")
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


class DatabaseServer(Server):
    """The harness's server (SQLite, or `database_url`) with the per-team page cap lifted."""

    def env(self) -> dict[str, str]:
        env = super().env()
        # One team's page calls are capped per process (teams.upstream): lifted, so that
        # only the budget decides what starts.
        env["FLORA_PAGE_CALLS_PER_TEAM"] = "1000"
        return env


def _forms(server: Server, cookie: str, count: int) -> tuple[list[dict[str, str]], dict]:
    from tests.runs.submit_helpers import read_form

    forms = []
    with httpx.Client(base_url=server.base_url, cookies={"sessionid": cookie}, timeout=60) as c:
        for n in range(count):
            page = c.get(f"/techniques/{TAROT}/?workspace=ws_demo")
            page.raise_for_status()
            data = read_form(page.text)
            data["in_question"] = f"Question {n}"
            forms.append(data)
        cookies = dict(c.cookies)
    return forms, cookies


def _race(server: Server, cookies: dict, forms: list[dict[str, str]]) -> tuple[Counter, float]:
    barrier = threading.Barrier(len(forms))
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def post(data: dict[str, str]) -> None:
        with httpx.Client(base_url=server.base_url, cookies=cookies, timeout=120) as client:
            barrier.wait(timeout=60)
            try:
                status = str(client.post(f"/techniques/{TAROT}/run", data=data).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
        with lock:
            answers[status] += 1

    threads = [threading.Thread(target=post, args=(data,)) for data in forms]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return answers, time.perf_counter() - started


def run_one(database: str, sizes: list[int]) -> list[dict]:
    """In a process of its own (Django is configured once per process)."""
    server = DatabaseServer(workers=2, threads=32, log_level="WARNING")
    pg_name = ""
    if database == "postgres":
        import psycopg

        pg_name = f"florasite_bench_budget_{os.getpid()}"
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        server.database_url = f"postgres://postgres@127.0.0.1:5432/{pg_name}"
    results = []
    try:
        server.setup_django(collectstatic=True)
        server.start()
        from budgets.models import Balance, Budget, to_dollars
        from runs.models import Run

        for size in sizes:
            team = make_team(server)
            Budget.objects.create(team=team, monthly_amount=BUDGET)
            [cookie] = session_cookies(team, 1)
            forms, cookies = _forms(server, cookie, size)
            answers, seconds = _race(server, cookies, forms)
            row = Balance.objects.get(team=team, member__isnull=True)
            results.append(
                {
                    "database": database,
                    "submissions": size,
                    "covers": int(BUDGET / PRICE),
                    "started": Run.objects.filter(team=team, flora_run_id__isnull=False).count(),
                    "rows": Run.objects.filter(team=team).count(),
                    "answers": dict(answers),
                    "reserved": str(to_dollars(row.reserved)),
                    "seconds": round(seconds, 2),
                }
            )
    finally:
        server.cleanup()
        if pg_name:
            import psycopg

            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return results


def _postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES, connect_timeout=3):
            return True
    except Exception:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.sizes)))
        return 0

    results: list[dict] = []
    for database in args.databases:
        if database == "postgres" and not _postgres_answers():
            print(f"postgres: nothing answers at {POSTGRES}; skipped")
            continue
        out = subprocess.run(
            [sys.executable, __file__, "--child", database, "--sizes", *map(str, args.sizes)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"{database}: failed\n{out.stderr[-3000:]}")
            return 1
        results += json.loads(out.stdout.strip().splitlines()[-1])

    header = f"{'database':<10}{'N':>5}{'budget covers':>15}{'started':>9}{'302':>6}{'402':>6}"
    print(header + f"{'other':>7}{'reserved':>10}{'seconds':>9}")
    ok = True
    for r in results:
        answers = Counter(r["answers"])
        other = sum(v for k, v in answers.items() if k not in ("302", "402"))
        print(
            f"{r['database']:<10}{r['submissions']:>5}{r['covers']:>15}{r['started']:>9}"
            f"{answers['302']:>6}{answers['402']:>6}{other:>7}{'$' + r['reserved']:>10}"
            f"{r['seconds']:>9}"
        )
        ok &= r["started"] == r["covers"] == r["rows"] and Decimal(r["reserved"]) == BUDGET
    print("target met: exactly the runs the budget covers started" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
