"""One team's hostile FLORA against everybody else: latency with and without the attack.

A real gunicorn (the project's config: 2 workers x 8 threads) serves florasite and its
sandbox. Team "Hostile" is connected to a FLORA of our own on 127.0.0.1 (tests/hostile.py)
that drips its answers one byte every 2 s; team "Bench" uses the built-in sandbox. Then:

- **web**: healthz, the log-in page and team Bench's catalog and history pages are timed
  (sequential requests, median and p95) on a quiet server, then while 24 clients keep
  24 catalog requests of team Hostile in flight, each on a fresh connection (one refused at
  once is sent again after 0.5 s). Run twice: with the guards (the per-team
  bulkhead and breaker of teams.upstream, and the page deadline) and with them turned off
  (the deadline stays: without it the attack holds threads for minutes, not seconds).
  Target: the guarded ratio attack/quiet stays close to 1 (<= 2) for every page; the
  unguarded run is the case that fails (the attack takes every thread).
- **worker** (`--worker-only` to run just this): team Bench's runs complete at the sandbox
  and their outputs are copied, timed from start to "kept" (the sweep ticks every 5 s, so
  expect 2-6 s), with make run's workers (one for output copies, 4 threads, and one for
  the rest) on a quiet machine and while team Hostile's two output copies drip (1 byte
  every 2 s from bench_urls' /bench/drip, on the dashboard's own origin, which the keeper
  may fetch while the sandbox is on); then with a single one-thread db_worker for every
  queue, the case that fails: the first run waits behind both drips (2 x the 20 s grace of
  the copy's rate floor). Target: the worst run with two workers within 1.5x of quiet.

Server CPU per request (gunicorn's processes, from /proc) is printed beside the request
rates: the load generator shares the machine's two cores.

    .venv/bin/python bench/hostile_flora.py            # about 5 minutes
    .venv/bin/python bench/hostile_flora.py --seconds 10 --web-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR), str(BENCH_DIR.parent)]

from _harness import Server, make_team, session_cookies  # noqa: E402
from _hostile_worker import (  # noqa: E402
    WORKER_MODES,
    _worker_round_here,
    print_worker,
    worker_round,
)

from tests.hostile import HostileFlora, answer, drip  # noqa: E402

# More than the server's 16 threads: whichever process the kernel hands each connection to,
# both fill up when nothing stops them (16 fill them too when they spread evenly, as they
# did in the report, but not in every run).
ATTACKERS = 24
# Each phase times the pages for at least this long: longer than the page deadline, so the
# attack's requests are in flight for the whole of it whatever their phase.
MEASURE_SECONDS = 10.0
WORKSPACES = {"workspaces": [{"workspace_id": "ws_h", "name": "Hostile", "role": "admin"}]}
TECHNIQUES = b'{"techniques": [], "meta": {"next_cursor": null}}' * 4


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's master and workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _time_pages(
    base: str, cookies: dict[str, str], pages: list[str], n: int, *, seconds: float = 0
) -> dict:
    """At least n rounds over the pages, and for at least `seconds` (at most 3x that)."""
    timings: dict[str, list[float]] = {page: [] for page in pages}
    statuses: dict[str, set[int]] = {page: set() for page in pages}
    began = time.perf_counter()
    rounds = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        while True:
            elapsed = time.perf_counter() - began
            if rounds >= n and elapsed >= seconds or rounds and elapsed > 3 * max(seconds, 1):
                break
            rounds += 1
            for page in pages:
                use = cookies if page != "/accounts/login/" else {}
                started = time.perf_counter()
                response = client.get(page, cookies=use)
                timings[page].append(time.perf_counter() - started)
                statuses[page].add(response.status_code)
    return {
        page: (
            statistics.median(values) * 1000,
            sorted(values)[max(0, round(0.95 * (len(values) - 1)))] * 1000,
            statuses[page],
            values,
        )
        for page, values in timings.items()
    }


def _attack(base: str, cookie: str, stop: threading.Event, results: list) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            # A fresh connection each time, so the kernel spreads them over the processes.
            with httpx.Client(base_url=base, timeout=60) as client:
                status = client.get("/techniques/", cookies={"sessionid": cookie}).status_code
        except httpx.HTTPError:
            status = 0
        took = time.perf_counter() - started
        results.append((status, took))
        if took < 1.0:
            # Refused at once: sent again after a moment, as a person pressing reload would
            # (a tight loop would be a request flood, a different attack).
            stop.wait(0.5)


def web_round(guards: bool, n: int, settle: float) -> dict:
    server = Server(workers=2, threads=8, log_level="WARNING", settings_module="bench_settings")
    if not guards:
        server_env = server.env

        def env() -> dict[str, str]:
            values = server_env()
            values["BENCH_NO_GUARDS"] = "1"
            return values

        server.env = env  # type: ignore[method-assign]
    with HostileFlora() as hostile:
        hostile.route("/api/v1/workspaces", answer(WORKSPACES))
        hostile.route("/api/v1/techniques", drip(TECHNIQUES, every=2.0, limit=120))
        try:
            server.setup_django(collectstatic=True)
            from florasite import periodic
            from teams.models import FloraConnection, Team
            from teams.services import save_connection

            bench_team = make_team(server)
            bench_cookie = session_cookies(bench_team, 1)[0]
            hostile_team = Team.objects.create(name="Hostile", slug=f"hostile-{os.getpid()}")
            save_connection(
                FloraConnection(
                    team=hostile_team, base_url=f"{hostile.url}/api/v1", workspace_ids=["ws_h"]
                ),
                actor="bench",
                api_key="sk_live_hostile_bench_000000",
            )
            attack_cookies = session_cookies(hostile_team, ATTACKERS)
            periodic.beat("bench")
            server.start()
            pages = ["/healthz", "/accounts/login/", "/techniques/", "/runs/"]
            cookies = {"sessionid": bench_cookie}
            _time_pages(server.base_url, cookies, pages, 3)  # warm the catalog cache

            cpu0, t0 = _cpu_seconds(server.process.pid), time.perf_counter()
            quiet = _time_pages(server.base_url, cookies, pages, n, seconds=MEASURE_SECONDS)
            quiet_count = len(quiet["/healthz"][3]) * len(pages)
            quiet_cpu = (_cpu_seconds(server.process.pid) - cpu0) / quiet_count
            quiet_rate = quiet_count / (time.perf_counter() - t0)

            stop = threading.Event()
            attack_results: list = []
            attackers = [
                threading.Thread(
                    target=_attack, args=(server.base_url, c, stop, attack_results), daemon=True
                )
                for c in attack_cookies
            ]
            for thread in attackers:
                thread.start()
            time.sleep(settle)  # let the attack take whatever threads it can
            periodic.beat("bench")
            cpu0, t0 = _cpu_seconds(server.process.pid), time.perf_counter()
            attack_before = len(attack_results)
            attacked = _time_pages(server.base_url, cookies, pages, n, seconds=MEASURE_SECONDS)
            elapsed = time.perf_counter() - t0
            attacked_count = len(attacked["/healthz"][3]) * len(pages)
            served = attacked_count + len(attack_results) - attack_before
            attacked_cpu = (_cpu_seconds(server.process.pid) - cpu0) / max(1, served)
            attacked_rate = attacked_count / elapsed
            stop.set()
            for thread in attackers:
                thread.join(30)
            held = [t for s, t in attack_results if t > 1.0]
            return {
                "quiet": quiet,
                "attacked": attacked,
                "cpu": (quiet_cpu * 1000, attacked_cpu * 1000),
                "rate": (quiet_rate, attacked_rate),
                "attack": (len(attack_results), len(held)),
            }
        finally:
            server.cleanup()


def print_web(rounds: dict[str, dict]) -> bool:
    ok = True
    print(f"\nweb: median / p95 ms, quiet vs while {ATTACKERS} requests of team Hostile drip")
    header = f"{'page':<18}{'guards':<8}{'quiet':>16}{'attacked':>18}{'ratio median':>14}{'p95':>8}"
    print(header)
    print("-" * len(header))
    for label, result in rounds.items():
        for page, (qm, qp, _, _) in result["quiet"].items():
            am, ap, statuses, _ = result["attacked"][page]
            ratio = am / qm if qm else float("inf")
            p95_ratio = ap / qp if qp else float("inf")
            if label == "on" and ratio > 2.0:
                ok = False
            print(
                f"{page:<18}{label:<8}{qm:>8.1f} /{qp:>6.1f}{am:>10.1f} /{ap:>6.1f}"
                f"{ratio:>13.2f}x{p95_ratio:>8.1f}x  {sorted(statuses)}"
            )
    off = rounds.get("off")
    if off is not None:
        pairs = zip(off["quiet"].values(), off["attacked"].values(), strict=True)
        worst = max(attacked[1] / quiet[1] for quiet, attacked in pairs)
        if worst < 10:
            print("WARNING: the unguarded round did not degrade: the attack did not take hold")
            ok = False
    print()
    for label, result in rounds.items():
        total, held = result["attack"]
        print(
            f"guards {label:<3}: {result['rate'][0]:6.1f} -> {result['rate'][1]:6.1f} req/s "
            f"(measured pages), server CPU {result['cpu'][0]:.1f} -> {result['cpu'][1]:.1f} "
            f"ms/request; attack requests answered: {total}, held > 1 s: {held}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="timed requests per page and phase")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before timing")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per worker case")
    parser.add_argument("--web-only", action="store_true")
    parser.add_argument("--worker-only", action="store_true")
    parser.add_argument("--round", choices=["on", "off"], help=argparse.SUPPRESS)
    parser.add_argument("--worker-round", choices=list(WORKER_MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_round:
        result = _worker_round_here(args.worker_round, args.runs)
        print("RESULT " + json.dumps(result))
        return 0
    if args.round:
        # One round in a process of its own (Django is configured once per process).
        result = web_round(args.round == "on", args.n, args.settle)
        print("RESULT " + json.dumps(result, default=sorted))
        return 0
    ok = True
    if not args.worker_only:
        rounds = {}
        for label in ("on", "off"):
            command = [sys.executable, __file__, "--round", label, "--n", str(args.n)]
            command += ["--settle", str(args.settle)]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            line = next(x for x in out.splitlines() if x.startswith("RESULT "))
            rounds[label] = json.loads(line.removeprefix("RESULT "))
        ok = print_web(rounds) and ok
    if not args.web_only:
        ok = print_worker({mode: worker_round(mode, args.runs) for mode in WORKER_MODES}) and ok
    print("\nPASS" if ok else "\nFAIL: another team's work slowed down under the attack")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
