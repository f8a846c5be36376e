"""Throughput and latency of the status fragment, beside a bare "hello" view, in one run.

Starts gunicorn (gthread, the project's config: 2 workers x 8 threads) on a temporary SQLite
database, with bench/bench_urls.py adding a bare view at /bench/hello, and drives each
target with 32 concurrent keep-alive clients (4 processes x 8 threads), the targets taking
turns in three rounds:

* hello, logged in: the bare view with the same session cookie, so it pays the same
  middleware (session, user, team membership) as the fragment: the honest baseline;
* hello, anonymous: the bare view without a cookie (the floor of a Django request here);
* fragment, run in flight: /runs/<code>/status of a running run whose refresh
  claim is held by someone else: what every viewer but one gets on every poll;
* fragment, run completed: the final answer (286) with the outputs section swapped in.

    .venv/bin/python bench/status_fragment.py
    .venv/bin/python bench/status_fragment.py --seconds 3   # shorter

Target: the fragment at 60 % or more of the bare view's throughput.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, make_team, percentile, session_cookies  # noqa: E402

CONCURRENCY = 32
PROCESSES = 4
WARMUP_SECONDS = 0.5  # before each measured slice (connections, caches)
ROUNDS = 3
TARGET_RATIO = 0.60


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    cookie: str | None
    htmx: bool
    expect: int


def _client_thread(
    base_url: str, target: Target, start: float, stop: float, out: list, lock: threading.Lock
) -> None:
    cookies = {"sessionid": target.cookie} if target.cookie else {}
    headers = {"HX-Request": "true"} if target.htmx else {}
    latencies: list[float] = []
    errors = 0
    with httpx.Client(base_url=base_url, cookies=cookies, headers=headers, timeout=30) as client:
        while True:
            began = time.perf_counter()
            if began >= stop:
                break
            try:
                ok = client.get(target.path).status_code == target.expect
            except httpx.HTTPError:
                ok = False
            done = time.perf_counter()
            if began >= start:  # warm-up requests are not counted
                if ok:
                    latencies.append(done - began)
                else:
                    errors += 1
    with lock:
        out.append((latencies, errors))


def _client_process(
    base_url: str, target: Target, threads: int, start: float, stop: float, queue: object
) -> None:
    out: list = []
    lock = threading.Lock()
    workers = [
        threading.Thread(target=_client_thread, args=(base_url, target, start, stop, out, lock))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies = [value for chunk, _ in out for value in chunk]
    queue.put((latencies, sum(errors for _, errors in out)))


def measure(base_url: str, target: Target, seconds: float) -> tuple[list[float], int]:
    """Latencies of the requests served in `seconds` at CONCURRENCY clients, and errors."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    # perf_counter is system-wide on Linux (CLOCK_MONOTONIC), so children share the window.
    start = time.perf_counter() + 0.3 + WARMUP_SECONDS
    stop = start + seconds
    procs = [
        context.Process(
            target=_client_process,
            args=(base_url, target, CONCURRENCY // PROCESSES, start, stop, queue),
        )
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=seconds + 60) for _ in procs]
    for proc in procs:
        proc.join()
    return [v for chunk, _ in results for v in chunk], sum(errors for _, errors in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=7.5, help="measured seconds per target (7.5)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and log")
    args = parser.parse_args()
    if args.seconds <= 0:
        parser.error("--seconds must be positive")

    server = Server(log_level="WARNING", settings_module="bench_settings")
    try:
        print(f"Preparing a temporary database in {server.workdir} ...", flush=True)
        server.setup_django()
        from django.db import connections
        from django.utils import timezone

        from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus

        team = make_team(server)
        (cookie,) = session_cookies(team, 1)
        now = timezone.now()
        running = Run.objects.create(
            team=team,
            technique_id="tech_tarot-pull",
            technique_name="Tarot Pull",
            flora_run_id="run_bench_running",
            status=RunStatus.RUNNING,
            progress=42,
            workspace_id="ws_demo",
            submitted_at=now,
            # Another caller holds the refresh: this measures the fragment, not FLORA.
            refresh_claimed_until=now + timedelta(days=1),
        )
        completed = Run.objects.create(
            team=team,
            technique_id="tech_tarot-pull",
            technique_name="Tarot Pull",
            flora_run_id="run_bench_done",
            status=RunStatus.COMPLETED,
            progress=100,
            charged_cost="0.06",
            workspace_id="ws_demo",
            submitted_at=now - timedelta(seconds=8),
            completed_at=now,
            outputs_raw=[{"output_id": "reading", "type": "text"}],  # the text is in RunOutput
        )
        RunOutput.objects.create(
            run=completed,
            position=0,
            output_id="reading",
            type="text",
            text="Patience.",
            content_type="text/plain; charset=utf-8",
            size=9,
            keep_status=OutputKeepStatus.KEPT,
            kept_at=now,
        )
        connections.close_all()  # the client processes are forked: no shared connection
        server.start()

        detail = "/runs/{}/status"
        targets = [
            Target("hello, logged in", "/bench/hello", cookie, False, 200),
            Target("hello, anonymous", "/bench/hello", None, False, 200),
            Target("fragment, run in flight", detail.format(running.code), cookie, True, 200),
            Target("fragment, run completed", detail.format(completed.code), cookie, True, 286),
        ]
        print(
            f"gunicorn (gthread, {server.workers} workers x {server.threads} threads) on "
            f"{server.base_url}; {CONCURRENCY} concurrent clients; {args.seconds:.0f} s per "
            f"target in {ROUNDS} interleaved rounds, each after {WARMUP_SECONDS} s of warm-up",
            flush=True,
        )
        # Targets take turns, round after round, so that anything else happening on the
        # machine meanwhile weighs on all of them alike.
        latencies: dict[str, list[float]] = {t.label: [] for t in targets}
        errors: dict[str, int] = {t.label: 0 for t in targets}
        per_round = args.seconds / ROUNDS
        for _ in range(ROUNDS):
            for target in targets:
                served, failed = measure(server.base_url, target, per_round)
                latencies[target.label] += served
                errors[target.label] += failed
        results = {
            label: (
                len(values) / args.seconds,
                percentile(values, 50) * 1000,
                percentile(values, 99) * 1000,
                errors[label],
            )
            for label, values in latencies.items()
        }
        baseline = results["hello, logged in"][0]
        print()
        header = (
            f"{'target':<26} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | "
            f"{'vs hello (logged in)':>20} | errors"
        )
        print(header)
        print("-" * len(header))
        for target in targets:
            rps, p50, p99, errors = results[target.label]
            print(
                f"{target.label:<26} | {rps:>7.0f} | {p50:>7.1f} | {p99:>7.1f} | "
                f"{rps / baseline:>19.0%} | {errors}"
            )
        ratio = results["fragment, run in flight"][0] / baseline
        done_ratio = results["fragment, run completed"][0] / baseline
        met = ratio >= TARGET_RATIO and all(r[3] == 0 for r in results.values())
        print()
        print(
            f"The polled fragment serves {ratio:.0%} of the bare view's throughput "
            f"(the final answer with outputs: {done_ratio:.0%}); target {TARGET_RATIO:.0%}: "
            f"{'met' if met else 'MISSED'}."
        )
        return 0 if met else 1
    finally:
        server.cleanup(keep=args.keep)
        if args.keep:
            print(f"Kept {server.workdir} (server log: {server.log_path})")


if __name__ == "__main__":
    sys.exit(main())
