"""A 200-run batch on the sandbox, started by 1 and then 2 background workers, side by side.

Starts gunicorn (the project's config) serving florasite and its built-in FLORA sandbox on a
temporary SQLite database, makes one team and one batch of --runs Tarot Pull runs (written
as the batch form writes it: rows only, batches.services.create_batch), then starts N
`manage.py db_worker` processes (as `make run` does, minus the separate copier: each takes
every queue) and waits until every run of the batch has ended and every output is archived
(kept in storage). Then the same again with the next N, on a new team and batch.

    .venv/bin/python bench/batch.py                  # 200 runs, 1 and 2 workers
    .venv/bin/python bench/batch.py --runs 40 --speedup 50

Measured, per N:
* time to all archived: from the workers' start to the last output kept;
* FLORA calls per run: requests the sandbox answered (its request log lines under
  /sandbox/api/v1/, for this team's batch window), divided by the runs; creates per run
  apart (target: exactly 1.00: one FLORA run per row, never two);
* FLORA runs: runs the sandbox holds for the batch's questions (target: --runs).
Exit status 0 when every batch ended with exactly one FLORA run per row.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, make_team, start_worker, stop_processes  # noqa: E402

LOG_LINE = re.compile(r"INFO florasite\.request (?P<method>[A-Z]+) /sandbox/api/v1/(?P<path>\S+) ")


def _workers(server: Server, n: int, concurrency: int) -> list[subprocess.Popen]:
    env = server.env() | {"FLORASITE_BATCH_CONCURRENCY": str(concurrency)}
    return [start_worker(env, server.workdir / f"worker-{i}.log", f"bench-{i}") for i in range(n)]


def _calls(server: Server, start_line: int) -> tuple[int, int]:
    lines = server.log_path.read_text(errors="replace").splitlines()[start_line:]
    calls = creates = 0
    for line in lines:
        match = LOG_LINE.search(line)
        if match:
            calls += 1
            creates += match["method"] == "POST" and match["path"].endswith("/runs")
    return calls, creates


def _one(server: Server, n: int, runs: int, concurrency: int, timeout: float) -> dict:
    from django.contrib.auth import get_user_model

    from batches import services
    from flora import Flora
    from runs.models import OutputKeepStatus, Run, RunOutput
    from sandbox.models import SandboxRun
    from teams.models import Membership, Role

    team = make_team(server)
    user = get_user_model().objects.create_user(f"bench-{team.slug}")
    membership = Membership.objects.create(user=user, team=team, role=Role.MANAGER)
    base = f"{server.base_url}/sandbox/api/v1"
    with Flora(api_key="sk_sandbox_demo", base_url=base) as client:
        technique = client.techniques.retrieve("tech_tarot-pull")  # GET /techniques/{id}
    tag = team.slug
    plan = [[{"id": "question", "type": "text", "value": f"{tag} {i}?"}] for i in range(runs)]
    batch, _ = services.create_batch(
        membership=membership,
        user=user,
        technique=technique,
        workspace_id="ws_demo",
        intent_key=f"bench-{tag}",
        plan=plan,
    )
    log_start = len(server.log_path.read_text(errors="replace").splitlines())
    started = time.monotonic()
    procs = _workers(server, n, concurrency)
    try:
        while True:
            rows_runs = Run.objects.filter(batch_rows__batch=batch)
            ended = rows_runs.filter(status__in=("completed", "failed")).count()
            outputs = RunOutput.objects.filter(run__batch_rows__batch=batch)
            waiting = outputs.exclude(keep_status=OutputKeepStatus.KEPT).exclude(type="text")
            if ended == runs and not waiting.exists():
                break
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{n} worker(s): {ended}/{runs} ended after {timeout} s")
            time.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        stop_processes(procs)
    calls, creates = _calls(server, log_start)
    flora_runs = sum(1 for r in SandboxRun.objects.all() if str(r.inputs).find(f"{tag} ") != -1)
    return {
        "workers": n,
        "seconds": elapsed,
        "calls": calls / runs,
        "creates": creates / runs,
        "flora_runs": flora_runs,
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--speedup", type=float, default=20.0, help="sandbox time speedup")
    parser.add_argument("--concurrency", type=int, default=4, help="FLORASITE_BATCH_CONCURRENCY")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    server = Server(speedup=args.speedup)
    ok = True
    try:
        server.setup_django()
        server.start()
        results = [_one(server, n, args.runs, args.concurrency, args.timeout) for n in (1, 2)]
    finally:
        server.cleanup(keep=args.keep)
    print(
        f"\n{args.runs}-run batch, Tarot Pull, sandbox speedup {args.speedup:g}, "
        f"concurrency {args.concurrency} per team"
    )
    print(
        f"{'workers':>8} {'all archived (s)':>17} {'FLORA calls/run':>16} "
        f"{'creates/run':>12} {'FLORA runs':>11}"
    )
    for r in results:
        print(
            f"{r['workers']:>8} {r['seconds']:>17.1f} {r['calls']:>16.2f} "
            f"{r['creates']:>12.2f} {r['flora_runs']:>11}"
        )
        ok &= r["flora_runs"] == r["runs"] and r["creates"] == 1.0
    if args.keep:
        print(f"kept: {server.workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
