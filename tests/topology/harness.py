"""A production-shaped florasite for the topology test: two gunicorns, two workers, one
PostgreSQL database and Redis, the built-in sandbox served by the same gunicorns.

Every process is started with the real settings (`florasite.settings`, DEBUG off) in a
temporary folder, as an operator would start them; bench/_harness.py provides the gunicorn
and worker launchers. The test itself reads the database with plain SQL (psycopg), so it
never shares Django's connection or settings with the processes it watches.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

from bench._harness import ROOT, Server, free_port, start_worker, stop_processes

# What the test reads its settings from; without both it is skipped.
DATABASE_ENV = "TOPOLOGY_DATABASE_URL"
REDIS_ENV = "TOPOLOGY_REDIS_URL"
API_KEY = "sk_sandbox_demo"
WEBHOOK_SECRET = "whsec_sandbox_demo"
TECHNIQUE = "tech_tarot-pull"


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def server_url(database_url: str, dbname: str = "postgres") -> str:
    """The same server and credentials, another database (for CREATE/DROP DATABASE)."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(scheme="postgresql", path=f"/{dbname}"))


def database_name(database_url: str) -> str:
    name = urlsplit(database_url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(
            f"{DATABASE_ENV} must name a database the test may create (letters, digits and "
            f"underscores), e.g. postgres://postgres@127.0.0.1:5432/florasite_topology; "
            f"got {name!r}"
        )
    return name


def create_database(database_url: str) -> None:
    name = database_name(database_url)
    with psycopg.connect(server_url(database_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            raise RuntimeError(
                f"The database {name} already exists: the topology test creates a fresh one "
                f"and drops it afterwards, so it will not touch one it did not make. Name "
                f"another in {DATABASE_ENV}, or drop it."
            )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(database_url: str) -> None:
    name = database_name(database_url)
    with psycopg.connect(server_url(database_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def forget_cache(redis_url: str, prefix: str) -> int:
    """Delete the cache keys this run wrote (only its own prefix: Redis may be shared)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


@dataclass
class Worker:
    name: str
    worker_id: str
    process: subprocess.Popen
    log_path: Path


@dataclass
class Topology:
    database_url: str
    redis_url: str
    speedup: float = 5.0
    batch_concurrency: int = 20
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="florasite-topo-")))
    cache_prefix: str = field(default_factory=lambda: f"florasite-topology-{uuid.uuid4().hex}")
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    encryption_key: str = field(default_factory=_fernet_key)
    ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))
    servers: list[Server] = field(default_factory=list)
    workers: dict[str, Worker] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)
    prepared_in: float = 0.0

    @property
    def var(self) -> Path:
        return self.workdir / "var"

    @property
    def media_root(self) -> Path:
        return self.var / "media"

    @property
    def public_url(self) -> str:
        # Webhooks come back through the first gunicorn; members use both.
        return f"http://127.0.0.1:{self.ports[0]}"

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TEST_", "TOPOLOGY_", "DJANGO_", "FLORA", "GUNICORN_"))
            and k not in ("DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX", "PUBLIC_BASE_URL")
            and not k.endswith("_FILE")
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "florasite.settings",
                "DEBUG": "false",
                "SECRET_KEY": self.secret_key,
                "FLORASITE_ENCRYPTION_KEYS": self.encryption_key,
                "FLORASITE_VAR_DIR": str(self.var),
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "CACHE_KEY_PREFIX": self.cache_prefix,
                "PUBLIC_BASE_URL": self.public_url,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "FLORA_SANDBOX_ENABLED": "true",
                "FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS": "true",
                "FLORA_SANDBOX_SPEEDUP": repr(self.speedup),
                "FLORASITE_BATCH_CONCURRENCY": str(self.batch_concurrency),
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    # -- set-up, as an operator would ---------------------------------------------------

    def manage(self, *args: str, stdin: str | None = None, timeout: float = 180) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def secret_file(self, name: str, value: str) -> str:
        path = self.workdir / name
        path.write_text(value + "\n")
        path.chmod(0o600)
        return str(path)

    def prepare(self) -> None:
        started = time.monotonic()
        self.var.mkdir(parents=True, exist_ok=True)
        create_database(self.database_url)
        self.manage("migrate", "--noinput", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")
        self.prepared_in = time.monotonic() - started

    def create_team(self, slug: str, members: list[tuple[str, str]]) -> None:
        self.manage(
            "create_team",
            "--name", "Topology",
            "--slug", slug,
            "--base-url", f"{self.public_url}/sandbox/api/v1",
            "--api-key-file", self.secret_file("api_key", API_KEY),
            "--webhook-secret-file", self.secret_file("webhook_secret", WEBHOOK_SECRET),
            "--workspaces", "ws_demo,ws_brand",
        )  # fmt: skip

        def add(member: tuple[str, str]) -> str:
            username, password = member
            return self.manage(
                "add_member", "--team", slug, "--username", username, "--role", "member",
                "--create-user", "--password-file", "-", stdin=password + "\n",
            )  # fmt: skip

        # One process each, as an operator would run them; side by side to save time.
        with ThreadPoolExecutor(len(members)) as pool:
            list(pool.map(add, members))

    # -- processes ----------------------------------------------------------------------

    def start_servers(self) -> None:
        env = self.env()
        for index, port in enumerate(self.ports):
            server = Server(
                port=port,
                workdir=self.workdir,
                database_url=self.database_url,
                log_name=f"gunicorn-{'ab'[index]}.log",
                speedup=self.speedup,
                secret_key=self.secret_key,
                encryption_key=self.encryption_key,
                extra_env={
                    k: env[k]
                    for k in (
                        "REDIS_URL",
                        "CACHE_KEY_PREFIX",
                        "PUBLIC_BASE_URL",
                        "FLORASITE_VAR_DIR",
                    )
                }
                | {"FLORASITE_BATCH_CONCURRENCY": str(self.batch_concurrency)},
            )
            self.servers.append(server)
            server.start(timeout=60)

    def start_worker(self, name: str) -> Worker:
        generation = self.generations.get(name, 0) + 1
        self.generations[name] = generation
        # A restarted worker is a new process with a new id, as with a default db_worker.
        worker_id = f"topo-{name}-{generation}"
        log_path = self.workdir / f"worker-{name}-{generation}.log"
        process = start_worker(self.env(), log_path, worker_id, "--threads=2")
        worker = Worker(name=name, worker_id=worker_id, process=process, log_path=log_path)
        self.workers[name] = worker
        return worker

    def kill(self, name: str) -> Worker:
        worker = self.workers[name]
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)
        return worker

    def stop(self) -> None:
        stop_processes([w.process for w in self.workers.values()])
        for server in self.servers:
            server.stop()

    def cleanup(self, *, keep: bool) -> None:
        try:
            self.stop()
        finally:
            if not keep:
                drop_database(self.database_url)
                forget_cache(self.redis_url, self.cache_prefix)
                shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self) -> dict[str, str]:
        return {
            path.name: path.read_text(errors="replace")
            for path in sorted(self.workdir.glob("*.log"))
        }

    # -- reading the database -----------------------------------------------------------

    def query(self, statement: str, params: Any = None) -> list[tuple]:
        with psycopg.connect(server_url(self.database_url, database_name(self.database_url))) as c:
            return c.execute(statement, params).fetchall()

    def scalar(self, statement: str, params: Any = None) -> Any:
        rows = self.query(statement, params)
        return rows[0][0] if rows else None


class Member:
    """A person in a browser: logs in on one gunicorn, reads forms, posts them with CSRF."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.username = username
        self.password = password
        self.client = httpx.Client(base_url=base_url, timeout=30.0, follow_redirects=False)

    def _post(self, path: str, data: dict[str, str]) -> httpx.Response:
        data = {**data, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")}
        headers = {"Origin": self.base_url, "Referer": self.base_url + path}
        return self.client.post(path, data=data, headers=headers)

    def log_in(self) -> None:
        page = self.client.get("/accounts/login/")
        assert page.status_code == 200, page.status_code
        answer = self._post(
            "/accounts/login/", {"username": self.username, "password": self.password}
        )
        assert answer.status_code == 302, f"log-in of {self.username}: {answer.status_code}"

    def start_run(self, question: str) -> str:
        """The run form, as a browser fills it in; returns the run's code."""
        from tests.runs.submit_helpers import read_form

        page = self.client.get(f"/techniques/{TECHNIQUE}/?workspace=ws_demo")
        assert page.status_code == 200, f"technique page: {page.status_code}"
        data = read_form(page.text)
        data["in_question"] = question
        answer = self._post(f"/techniques/{TECHNIQUE}/run", data)
        location = answer.headers.get("location", "")
        match = re.fullmatch(r"/runs/([^/]+)/", location)
        assert answer.status_code == 302 and match, (
            f"run form for {question!r} on {self.base_url}: {answer.status_code} {location}\n"
            f"{answer.text[:2000]}"
        )
        return match[1]

    def start_batch(self, questions: list[str]) -> str:
        """The batch form ("one value per line"), preview then confirm; returns its code."""
        page = self.client.get(f"/batches/new/{TECHNIQUE}")
        assert page.status_code == 200, f"batch page: {page.status_code}"
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert token, "no intent token in the batch form"
        data = {
            "token": token[1],
            "source": "lines",
            "workspace": "ws_demo",
            "input": "question",
            "lines": "\n".join(questions),
        }
        preview = self._post(f"/batches/new/{TECHNIQUE}", data)
        assert preview.status_code == 200, f"batch preview: {preview.status_code}"
        answer = self._post(f"/batches/new/{TECHNIQUE}", data | {"confirmed": str(len(questions))})
        location = answer.headers.get("location", "")
        match = re.fullmatch(r"/batches/([^/]+)/", location)
        assert answer.status_code == 302 and match, f"batch confirm: {answer.status_code}"
        return match[1]

    def close(self) -> None:
        self.client.close()


def wait_for(what: str, check: Any, timeout: float, every: float = 0.5) -> float:
    """Call check() until it returns "" (done) or the timeout; fail with the last thing it
    said was missing. Returns the seconds waited."""
    started = time.monotonic()
    missing = ""
    while time.monotonic() - started < timeout:
        missing = check()
        if not missing:
            return time.monotonic() - started
        time.sleep(every)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}; still: {missing}")
