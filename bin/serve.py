"""Run the web server (gunicorn) and the background workers (db_worker) side by side.

Two workers: one for everything but output copies (with the periodic jobs), one for output
copies alone, so a slow file server never delays a run's status. Ctrl-C (or SIGTERM) stops
all cleanly; if one exits on its own, the others are stopped too, so `make run` never leaves
a half-running dashboard behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "florasite.settings")
    commands = {
        "web": [str(BIN / "gunicorn"), "-c", str(ROOT / "florasite" / "gunicorn.conf.py")],
        # Every queue but the output copies, with the periodic jobs...
        "worker": [
            sys.executable,
            str(ROOT / "manage.py"),
            "db_worker",
            "--queue-name=*",
            "--exclude-queues=outputs",
        ],
        # ...and the copies alone: a file server that drips never delays a run's status.
        "copier": [
            sys.executable,
            str(ROOT / "manage.py"),
            "db_worker",
            "--queue-name=outputs",
            "--no-periodic",
            "--threads=4",
        ],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}
    bind = env.get("GUNICORN_BIND", "127.0.0.1:8000")
    print(
        f"florasite is starting on http://{bind}/ (web pid {procs['web'].pid}, "
        f"worker pids {procs['worker'].pid} and {procs['copier'].pid}); press Ctrl-C to stop.",
        flush=True,
    )

    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    exit_code = 0
    while not stopping:
        for name, proc in procs.items():
            code = proc.poll()
            if code is not None:
                print(
                    f"florasite: the {name} process exited with status {code}; stopping.",
                    flush=True,
                )
                exit_code = code or 1
                stopping = True
                break
        time.sleep(0.3)

    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    print("florasite stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
