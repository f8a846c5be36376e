"""Shared plumbing for the benchmarks: a real gunicorn serving florasite (and its sandbox) on
a temporary SQLite database, a team on the sandbox, logged-in sessions, and FLORA runs.

The benchmark process configures Django with the same environment as the server, so it can
write fixtures straight into the same database file; every measured request goes over HTTP
to gunicorn. Only loopback addresses are used.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """gunicorn (gthread, the project's own config) on a temporary database."""

    log_level: str = "INFO"
    workers: int = 2
    threads: int = 8
    speedup: float = 1.0
    settings_module: str = "florasite.settings"
    port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="florasite-bench-")))
    process: subprocess.Popen | None = None
    # Another database (tests/topology: PostgreSQL) instead of the temporary SQLite file,
    # another log file name (several servers in one folder), and settings laid over the rest.
    database_url: str = ""
    log_name: str = "gunicorn.log"
    extra_env: dict[str, str] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: "bench-" + uuid.uuid4().hex * 2)
    encryption_key: str = field(default_factory=lambda: _fernet_key())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / self.log_name

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": self.settings_module,
                "DEBUG": "false",
                "SECRET_KEY": self.secret_key,
                "FLORASITE_ENCRYPTION_KEYS": self.encryption_key,
                "FLORASITE_VAR_DIR": str(self.workdir),
                "DATABASE_URL": self.database_url or f"sqlite:///{self.workdir / 'db.sqlite3'}",
                "FLORA_SANDBOX_ENABLED": "true",
                "FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS": "true",
                "FLORA_SANDBOX_SPEEDUP": repr(self.speedup),
                "PUBLIC_BASE_URL": self.base_url,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "LOG_LEVEL": self.log_level,
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "GUNICORN_WORKERS": str(self.workers),
                "GUNICORN_THREADS": str(self.threads),
                "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(ROOT)]),
            }
        )
        # Never inherit another database or cache from the calling shell.
        env.pop("REDIS_URL", None)
        env.pop("CACHE_KEY_PREFIX", None)
        env.pop("SECRET_KEY_FILE", None)
        env.pop("FLORASITE_ENCRYPTION_KEYS_FILE", None)
        env.update(self.extra_env)
        return env

    def setup_django(self, *, collectstatic: bool = False) -> None:
        """Configure Django in this process on the server's database, and migrate it.

        Full pages (base.html) need collected static files: DEBUG is off, as in production.
        """
        os.environ.update(self.env())
        for name in ("REDIS_URL", "CACHE_KEY_PREFIX", "SECRET_KEY_FILE"):
            os.environ.pop(name, None)
        sys.path[:0] = [str(BENCH_DIR), str(ROOT)]
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        if collectstatic:
            call_command("collectstatic", verbosity=0, interactive=False)

    def start(self, timeout: float = 30.0) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "florasite" / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {self.log_path}")
            try:
                httpx.get(self.base_url + "/accounts/login/", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def cleanup(self, keep: bool = False) -> None:
        self.stop()
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_worker(
    env: dict[str, str], log_path: Path, worker_id: str, *extra: str
) -> subprocess.Popen:
    """One `manage.py db_worker` serving every queue (with the periodic jobs), as
    bench/batch.py and tests/topology run them; its own session, so it can be killed alone."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "db_worker",
                "--queue-name=*",
                "--worker-id",
                worker_id,
                "--no-reload",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_processes(procs: list[subprocess.Popen], timeout: float = 20.0) -> None:
    """SIGTERM each process group (workers finish their task), SIGKILL what outlives it."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def make_team(server: Server) -> Any:
    """Team "Bench" on the sandbox served by `server`, with the demo key and secret."""
    from teams.models import FloraConnection, Team
    from teams.services import save_connection

    team = Team.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
    connection = FloraConnection(
        team=team,
        base_url=f"{server.base_url}/sandbox/api/v1",
        workspace_ids=["ws_demo", "ws_brand"],
    )
    save_connection(
        connection,
        actor="bench",
        api_key="sk_sandbox_demo",
        webhook_secret="whsec_sandbox_demo",
    )
    return team


def session_cookies(team: Any, n: int, role: str = "member") -> list[str]:
    """n logged-in sessions (one user each), as a browser would hold after logging in."""
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    from teams.models import Membership

    keys = []
    for _ in range(n):
        user = get_user_model().objects.create_user(f"viewer-{uuid.uuid4().hex[:8]}")
        Membership.objects.create(user=user, team=team, role=role)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def start_sandbox_run(server: Server, question: str) -> str:
    """Start a run at the (live) sandbox with the team's key; returns FLORA's run id."""
    from flora import Flora

    with Flora(api_key="sk_sandbox_demo", base_url=f"{server.base_url}/sandbox/api/v1") as client:
        # POST /techniques/{technique_id}/runs
        remote = client.techniques.runs.create(
            "tech_tarot-pull",
            inputs=[{"id": "question", "type": "text", "value": question}],
            idempotency_key=str(uuid.uuid4()),
        )
    return remote.run_id


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
