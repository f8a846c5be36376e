"""Run the web server (gunicorn) and the background worker (db_worker) side by side.

Ctrl-C (or SIGTERM) stops both cleanly; if either exits on its own, the other is stopped too,
so `make run` never leaves a half-running dashboard behind.
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
        "worker": [sys.executable, str(ROOT / "manage.py"), "db_worker"],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}
    bind = env.get("GUNICORN_BIND", "127.0.0.1:8000")
    print(
        f"florasite is starting on http://{bind}/ (web pid {procs['web'].pid}, "
        f"worker pid {procs['worker'].pid}); press Ctrl-C to stop.",
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
