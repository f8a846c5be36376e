"""bench/hostile_flora.py's worker half: another team's runs while one team's copies drip.

Each case runs in a process of its own (`hostile_flora.py --worker-round MODE`), because
Django is configured once per process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from _harness import Server, make_team

BENCH_DIR = Path(__file__).resolve().parent

WORKER_MODES = {
    "quiet": "two workers (make run), no drip",
    "drip, two workers": "make run's two workers; team Hostile's 2 outputs drip",
    "drip, one worker": "one db_worker for every queue; team Hostile's 2 outputs drip",
}


def worker_round(mode: str, runs: int) -> dict:
    script = str(BENCH_DIR / "hostile_flora.py")
    command = [sys.executable, script, "--worker-round", mode, "--runs", str(runs)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _worker_round_here(mode: str, runs: int) -> dict:
    """Time team Bench's runs from start to output kept, in one worker setup."""
    server = Server(log_level="WARNING", settings_module="bench_settings", speedup=4.0)
    workers: list[subprocess.Popen] = []
    try:
        server.setup_django()
        from _harness import start_sandbox_run
        from django.utils import timezone

        from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus
        from runs.tasks import keep_outputs
        from teams.models import Team

        bench_team = make_team(server)
        server.start()
        manage = [sys.executable, str(BENCH_DIR.parent / "manage.py"), "db_worker"]
        if mode == "drip, one worker":
            commands = [manage]
        else:
            commands = [
                [*manage, "--queue-name=*", "--exclude-queues=outputs"],
                [*manage, "--queue-name=outputs", "--no-periodic", "--threads=4"],
            ]
        env = {**server.env(), "DJANGO_SETTINGS_MODULE": "florasite.settings"}
        for command in commands:
            log = (server.workdir / f"worker-{len(workers)}.log").open("wb")
            workers.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
        time.sleep(3)  # the workers start polling

        if mode != "quiet":
            hostile = Team.objects.create(name="Hostile", slug="hostile")
            bad = Run.objects.create(
                team=hostile,
                technique_id="tech_x",
                technique_name="Drip",
                status=RunStatus.COMPLETED,
                flora_run_id="run_drip",
                completed_at=timezone.now(),
            )
            for i in range(2):
                RunOutput.objects.create(
                    run=bad,
                    position=i,
                    output_id=f"image_{i}",
                    type="imageUrl",
                    source_url=f"{server.base_url}/bench/drip/{i}.png",
                )
            keep_outputs.enqueue(bad.pk)
            time.sleep(1)  # the copier is now inside the drip

        timings = []
        for i in range(runs):
            started = time.monotonic()
            flora_id = start_sandbox_run(server, f"bench worker {i}")
            run = Run.objects.create(
                team=bench_team,
                technique_id="tech_tarot-pull",
                technique_name="Tarot Pull",
                status=RunStatus.PENDING,
                flora_run_id=flora_id,
                workspace_id="ws_demo",
                submitted_at=timezone.now(),
                next_refresh_at=timezone.now(),
            )
            deadline = started + 180
            while time.monotonic() < deadline:
                kept = RunOutput.objects.filter(run=run, keep_status=OutputKeepStatus.KEPT)
                total = RunOutput.objects.filter(run=run).count()
                if total and kept.count() == total:
                    break
                time.sleep(0.2)
            timings.append(time.monotonic() - started)
        return {"timings": timings}
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.cleanup()


def print_worker(results: dict[str, dict]) -> bool:
    print("\nworker: team Bench's runs, from start to output kept (s); the first starts while")
    print("team Hostile's copies drip. Target: the worst of two workers within 1.5x of quiet.")
    quiet = max(results["quiet"]["timings"])
    ok = True
    for mode, result in results.items():
        worst = max(result["timings"])
        ratio = worst / quiet
        if mode == "drip, two workers" and ratio > 1.5:
            ok = False
        runs = ", ".join(f"{t:.1f}" for t in result["timings"])
        print(f"{mode:<20} worst {worst:>6.1f} s {ratio:>6.2f}x   ({runs}): {WORKER_MODES[mode]}")
    return ok
