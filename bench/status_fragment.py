"""Server CPU per request of the status fragment, beside a bare "hello" view, in one run.

Starts gunicorn (gthread, the project's config: 2 workers x 8 threads) on a temporary SQLite
database, with the request log on (LOG_LEVEL=INFO, as in production) and bench/bench_urls.py
adding a bare view at /bench/hello. The load generator runs on the same machine as the
server, so requests per second say as much about the clients as about the server: the
figure compared is the server's CPU per request, the gunicorn workers' utime + stime
(/proc/<pid>/stat) over a measured slice divided by the requests they served in it.

Targets, each measured in every round, the rounds interleaved (CPU: medians over rounds;
ratios: medians of each round's ratio, its two sides measured seconds apart):

* hello, anonymous: the bare view without a cookie (the floor of a Django request here);
* hello, logged in: the bare view with a member's session cookie: session, user, team;
* fragment, many viewers: /runs/<code>/status of a run in flight whose refresh claim
  another caller holds: what every viewer but one gets on every poll;
* fragment, lone viewer: a run in flight at the sandbox whose claim is free before each
  poll (one client, one request at a time), so every poll wins the refresh and asks FLORA
  (the sandbox, served by the same gunicorn: its CPU is counted too);
* fragment, run completed: the final answer (286) with the outputs section;
* control: a second gunicorn on the same database with BENCH_NO_MEMBERSHIP_CACHE=1
  (bench_settings: the middleware reads the memberships on every request, as before the
  cache): hello logged in and the many-viewers fragment again;
* control, fragment as before: a third gunicorn with BENCH_FRAGMENT_AS_BEFORE=1 (bench_urls:
  the status view as it was before issue 19: the whole row through the ORM, rendered on
  every poll with the context processors, Django's cache headers), the membership cache on:
  the many-viewers fragment again.

    .venv/bin/python bench/status_fragment.py
    .venv/bin/python bench/status_fragment.py --rounds 3 --seconds 1   # shorter

Targets (exit 1 if one is missed): the many-viewers fragment within 1.3x of hello logged
in, hello logged in within 2x of anonymous, the membership control outside 2x (else the
bench could not tell the cache from noise), and the fragment as before outside 1.3x (else
the bench could not tell today's fragment from the old one).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, make_team, session_cookies, start_sandbox_run  # noqa: E402

CLIENT_PROCESSES = 2
CLIENT_THREADS = 4  # per process: 8 keep-alive clients keep 2 workers x 8 threads busy
WARMUP_SECONDS = 0.3
FRAGMENT_TARGET = 1.3
LOGGED_IN_TARGET = 2.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class BenchServer(Server):
    """A Server with its own log file and extra environment (the control's switch)."""

    name: str = "gunicorn"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.extra_env}

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry))
        return pids

    def cpu_seconds(self) -> float:
        """utime + stime of the workers so far (the master does not serve requests)."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return total / TICKS


@dataclass(frozen=True)
class Target:
    label: str
    server: str  # "main" or "control"
    path: str
    cookie: str | None
    htmx: bool
    expect: int
    lone: bool = False  # one sequential client; the claim freed before each request


def _client_thread(base_url: str, target: Target, stop: float, counts: list) -> None:
    cookies = {"sessionid": target.cookie} if target.cookie else {}
    headers = {"HX-Request": "true"} if target.htmx else {}
    served = errors = 0
    with httpx.Client(base_url=base_url, cookies=cookies, headers=headers, timeout=30) as client:
        while time.perf_counter() < stop:
            try:
                ok = client.get(target.path).status_code == target.expect
            except httpx.HTTPError:
                ok = False
            served += 1
            errors += not ok
    counts.append((served, errors))


def _client_process(base_url: str, target: Target, stop: float, queue: object) -> None:
    counts: list = []
    threads = [
        threading.Thread(target=_client_thread, args=(base_url, target, stop, counts))
        for _ in range(CLIENT_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((sum(c[0] for c in counts), sum(c[1] for c in counts)))


def _drive(base_url: str, target: Target, seconds: float) -> tuple[int, int]:
    """Requests sent (all answered before this returns) and errors, in `seconds`."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    stop = time.perf_counter() + seconds
    procs = [
        context.Process(target=_client_process, args=(base_url, target, stop, queue))
        for _ in range(CLIENT_PROCESSES)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=seconds + 60) for _ in procs]
    for proc in procs:
        proc.join()
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _drive_lone(base_url: str, target: Target, seconds: float, run_pk: int) -> tuple[int, int]:
    from runs.models import Run

    served = errors = 0
    stop = time.perf_counter() + seconds
    with httpx.Client(
        base_url=base_url,
        cookies={"sessionid": target.cookie},
        headers={"HX-Request": "true"},
        timeout=30,
    ) as client:
        while time.perf_counter() < stop:
            # The interval has passed: this poll is the one that asks FLORA.
            Run.objects.filter(pk=run_pk).update(refresh_claimed_until=None)
            try:
                ok = client.get(target.path).status_code == target.expect
            except httpx.HTTPError:
                ok = False
            served += 1
            errors += not ok
    return served, errors


def measure(server: BenchServer, target: Target, seconds: float, run_pk: int) -> tuple[float, int]:
    """(server CPU ms per request, errors) over one slice, after a short warm-up."""
    drive = (
        (lambda s: _drive_lone(server.base_url, target, s, run_pk))
        if target.lone
        else (lambda s: _drive(server.base_url, target, s))
    )
    drive(WARMUP_SECONDS)
    before = server.cpu_seconds()
    served, errors = drive(seconds)
    # Every request sent was answered before drive() returned: its CPU is in the delta.
    cpu = server.cpu_seconds() - before
    return cpu * 1000 / max(served, 1), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per target and round (2)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (7)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and logs")
    args = parser.parse_args()
    if args.seconds <= 0 or args.rounds < 1:
        parser.error("--seconds must be positive and --rounds at least 1")

    # The lone viewer's run must stay in flight: the "[slow]" Tarot Pull lasts 61 s at
    # speedup 1; this makes it last about 100 minutes.
    server = BenchServer(log_level="INFO", settings_module="bench_settings", speedup=0.01)

    def beside(name: str, switch: str) -> BenchServer:
        """Another gunicorn on the same database and keys, with one bench switch on."""
        return BenchServer(
            log_level="INFO",
            settings_module="bench_settings",
            speedup=server.speedup,
            workdir=server.workdir,
            secret_key=server.secret_key,
            encryption_key=server.encryption_key,
            name=name,
            extra_env={switch: "1"},
        )

    control = beside("gunicorn-control", "BENCH_NO_MEMBERSHIP_CACHE")
    as_before = beside("gunicorn-as-before", "BENCH_FRAGMENT_AS_BEFORE")
    try:
        print(f"Preparing a temporary database in {server.workdir} ...", flush=True)
        server.setup_django()
        from django.db import connections
        from django.utils import timezone

        from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus

        team = make_team(server)
        cookie, lone_cookie = session_cookies(team, 2)
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
        control.start()
        as_before.start()
        lone = Run.objects.create(
            team=team,
            technique_id="tech_tarot-pull",
            technique_name="Tarot Pull",
            flora_run_id=start_sandbox_run(server, "A lone viewer [slow]"),
            status=RunStatus.RUNNING,
            workspace_id="ws_demo",
            submitted_at=timezone.now(),
        )
        connections.close_all()

        status = "/runs/{}/status"
        targets = [
            Target("hello, anonymous", "main", "/bench/hello", None, False, 200),
            Target("hello, logged in", "main", "/bench/hello", cookie, False, 200),
            Target(
                "fragment, many viewers", "main", status.format(running.code), cookie, True, 200
            ),
            Target(
                "control: fragment as before",
                "as_before",
                status.format(running.code),
                cookie,
                True,
                200,
            ),
            Target(
                "fragment, lone viewer",
                "main",
                status.format(lone.code),
                lone_cookie,
                True,
                200,
                lone=True,
            ),
            Target(
                "fragment, run completed", "main", status.format(completed.code), cookie, True, 286
            ),
            Target("control: hello, logged in", "control", "/bench/hello", cookie, False, 200),
            Target(
                "control: fragment, many", "control", status.format(running.code), cookie, True, 200
            ),
        ]
        servers = {"main": server, "control": control, "as_before": as_before}
        print(
            f"gunicorn (gthread, {server.workers} workers x {server.threads} threads, request "
            f"log on) on {server.base_url}, the controls on {control.base_url} and "
            f"{as_before.base_url}; "
            f"{CLIENT_PROCESSES * CLIENT_THREADS} keep-alive clients (1 for the lone viewer); "
            f"{args.rounds} interleaved rounds of {args.seconds:g} s per target",
            flush=True,
        )
        cpu: dict[str, list[float]] = {t.label: [] for t in targets}
        errors: dict[str, int] = {t.label: 0 for t in targets}
        for _ in range(args.rounds):
            for target in targets:
                per_request, failed = measure(servers[target.server], target, args.seconds, lone.pk)
                cpu[target.label].append(per_request)
                errors[target.label] += failed
        median = {label: statistics.median(values) for label, values in cpu.items()}

        def ratio(label: str, over: str = "hello, logged in") -> float:
            """The median of each round's ratio: both measured in the same round, seconds
            apart, so a slow spell of the machine (a neighbour, a hot core) weighs on both."""
            return statistics.median(a / b for a, b in zip(cpu[label], cpu[over], strict=True))

        print()
        header = (
            f"{'target':<27} | {'CPU ms/req':>10} | {'min..max':>13} | "
            f"{'vs hello logged in':>18} | errors"
        )
        print(header)
        print("-" * len(header))
        for target in targets:
            values = cpu[target.label]
            print(
                f"{target.label:<27} | {median[target.label]:>10.2f} | "
                f"{min(values):>5.2f}..{max(values):<6.2f} | "
                f"{ratio(target.label):>17.2f}x | {errors[target.label]}"
            )

        def verdict(ok: bool) -> str:
            return "met" if ok else "MISSED"

        fragment = ratio("fragment, many viewers")
        logged_in = ratio("hello, logged in", over="hello, anonymous")
        control_gap = ratio("control: hello, logged in", over="hello, anonymous")
        before = ratio("control: fragment as before")
        no_errors = all(value == 0 for value in errors.values())
        checks = [
            (
                f"fragment (many viewers) / hello logged in = {fragment:.2f}x, target <= "
                f"{FRAGMENT_TARGET}x",
                fragment <= FRAGMENT_TARGET,
            ),
            (
                f"hello logged in / anonymous = {logged_in:.2f}x, target <= {LOGGED_IN_TARGET}x",
                logged_in <= LOGGED_IN_TARGET,
            ),
            (
                f"control (no membership cache) logged in / anonymous = {control_gap:.2f}x, "
                f"must exceed {LOGGED_IN_TARGET}x to show the gap",
                control_gap > LOGGED_IN_TARGET,
            ),
            (
                f"control (the fragment as before) / hello logged in = {before:.2f}x, "
                f"must exceed {FRAGMENT_TARGET}x to show the gap",
                before > FRAGMENT_TARGET,
            ),
            ("no errors", no_errors),
        ]
        print()
        print(
            f"lone viewer (asks FLORA each poll, the sandbox's answer included): "
            f"{ratio('fragment, lone viewer'):.2f}x hello logged in; "
            f"run completed: {ratio('fragment, run completed'):.2f}x"
        )
        for text, ok in checks:
            print(f"{text}: {verdict(ok)}")
        return 0 if all(ok for _, ok in checks) else 1
    finally:
        control.stop()
        as_before.stop()
        server.cleanup(keep=args.keep)
        if args.keep:
            logs = ", ".join(str(s.log_path) for s in (server, control, as_before))
            print(f"Kept {server.workdir} (logs: {logs})")


if __name__ == "__main__":
    sys.exit(main())
