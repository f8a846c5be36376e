"""A worker that dies mid-copy: its claim on the output runs out within a minute.

A copy in progress renews its claim (runs.keeping._renewing_claim), so the claim's lease only
has to outlast a dead worker, not the longest download. The leases here are shrunk to about
a second; the dead worker is simulated (a claim made 70 s ago), then real: a db_worker
subprocess killed in the middle of a dripping download.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import respx
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from florasite.lib import public_http
from runs import keeping
from runs.models import OutputKeepStatus, RunOutput
from tests.hostile import drip, steady
from tests.runs.results_helpers import pending_output as _pending

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CDN = "https://cdn.flora-files.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def short_lease(monkeypatch):
    monkeypatch.setattr(keeping, "CLAIM_LEASE", timedelta(seconds=1))
    monkeypatch.setattr(keeping, "LEASE_RENEWAL", timedelta(seconds=0.2), raising=False)


@pytest.fixture
def saves(monkeypatch) -> list[str]:
    """The names written to storage (to see that an output is kept exactly once)."""
    names: list[str] = []
    save = default_storage.save

    def counted(name, content, **kwargs):
        names.append(save(name, content, **kwargs))
        return names[-1]

    monkeypatch.setattr(default_storage, "save", counted)
    return names


def _keep_in_thread(pk: int, results: list[str]) -> threading.Thread:
    def work() -> None:
        try:
            results.append(keeping.keep_output(pk))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def _lease_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("keep-lease")]


def test_a_claim_left_by_a_dead_worker_is_kept_by_the_next_retry(team_a, bob, monkeypatch, saves):
    monkeypatch.setattr(public_http, "resolve_host", lambda host, port: ["93.184.216.34"])
    output = _pending(team_a, bob, f"{CDN}/still.png")
    # A worker claimed it 70 s ago and died: nothing renewed the claim since.
    assert keeping._claim(output.pk, timezone.now() - timedelta(seconds=70))
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png"}
        )
        assert keeping.retry_due_outputs() == 1
        assert keeping.retry_due_outputs() == 0
    output.refresh_from_db()
    assert output.keep_status == OutputKeepStatus.KEPT
    assert output.attempts == 2
    assert saves == [output.file.name]


@pytest.mark.django_db(transaction=True)
def test_a_copy_in_progress_renews_its_claim(team_a, bob, hostile, short_lease):
    hostile.route("/files/", drip(PNG, every=0.01, limit=10, content_type="image/png"))
    output = _pending(team_a, bob, f"{hostile.url}/files/still.png")
    results: list[str] = []
    worker = _keep_in_thread(output.pk, results)

    time.sleep(1.5)  # past the 1 s lease of the first claim
    assert worker.is_alive()
    assert not keeping._claim(output.pk, timezone.now())  # another worker finds it taken
    assert RunOutput.objects.get(pk=output.pk).next_attempt_at > timezone.now()

    worker.join(10)
    assert results == [OutputKeepStatus.KEPT]
    output.refresh_from_db()
    assert output.attempts == 1 and output.next_attempt_at is None
    assert not _lease_threads()  # the renewal stopped with the copy


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_lost_its_claim_neither_renews_it_nor_keeps_a_copy(
    team_a, bob, hostile, short_lease, saves
):
    hostile.route("/files/", drip(PNG, every=0.01, limit=10, content_type="image/png"))
    output = _pending(team_a, bob, f"{hostile.url}/files/still.png")
    results: list[str] = []
    worker = _keep_in_thread(output.pk, results)

    time.sleep(0.5)
    # Another worker takes the output over (as after a lease that ran out).
    theirs = timezone.now() + timedelta(hours=1)
    RunOutput.objects.filter(pk=output.pk).update(attempts=2, next_attempt_at=theirs)
    time.sleep(0.5)
    assert RunOutput.objects.get(pk=output.pk).next_attempt_at == theirs  # not renewed

    worker.join(10)
    assert results == ["skipped"]
    output.refresh_from_db()
    assert output.keep_status == OutputKeepStatus.PENDING
    assert (output.attempts, output.next_attempt_at, output.file.name) == (2, theirs, "")
    # The copy it made was not left behind in storage.
    assert all(not default_storage.exists(name) for name in saves)


# --- A real worker, really killed -----------------------------------------------------------

_WORKER = """
import os, sys
from datetime import timedelta

os.environ["DJANGO_SETTINGS_MODULE"] = "florasite.test_settings"
from django.conf import settings

settings.DATABASES["default"]["NAME"] = sys.argv[1]
settings.TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "outputs"]}
}
settings.PUBLIC_BASE_URL = sys.argv[2]
import django

django.setup()
from florasite.lib import download
from runs import keeping

# The copy must still be dripping when the test kills the worker, however loaded the machine.
download.STALL_GRACE = 600.0
keeping.CLAIM_LEASE = timedelta(seconds=1)
keeping.LEASE_RENEWAL = timedelta(seconds=0.2)
from django.core.management import call_command

call_command(
    "db_worker", "--worker-id", "doomed", "--interval", "0.1", "--no-startup-delay",
    "--no-periodic", "--no-reload", "--verbosity", "0",
)
"""


def _wait_for(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"gave up waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_copy_is_replaced_within_seconds_of_its_lease(team_a, bob, hostile):
    from django_tasks_db.models import DBTaskResult

    from florasite.models import WorkerHeartbeat

    requests = []

    def first_drips_then_answers(handler) -> None:
        requests.append(handler.path)
        slow = drip(PNG, every=0.2, limit=300, content_type="image/png")
        (slow if len(requests) == 1 else steady(PNG, rate=10**6))(handler)

    hostile.route("/files/", first_drips_then_answers)
    output = _pending(team_a, bob, f"{hostile.url}/files/still.png")
    task = DBTaskResult.objects.create(
        task_path="runs.tasks.keep_outputs",
        args_kwargs={"args": [output.run_id], "kwargs": {}},
        backend_name="default",
        queue_name="outputs",
        run_after=timezone.now(),
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, connection.settings_dict["NAME"], hostile.url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        claimed = []

        def renewed() -> bool:
            row = RunOutput.objects.get(pk=output.pk)
            if row.next_attempt_at is not None and not row.last_error:
                claimed.append(row.next_attempt_at)
            # Claimed, the file asked for (on a loaded machine the claim can be renewed
            # before the request is out), then renewed mid-copy at least once.
            return bool(requests) and len(set(claimed)) >= 2

        _wait_for(renewed, 30, "the worker to claim the output, ask for it, renew the claim")
        assert WorkerHeartbeat.objects.filter(worker_id="doomed").exists()
        assert DBTaskResult.objects.get(pk=task.pk).status == "RUNNING"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    killed = time.monotonic()

    _wait_for(lambda: keeping.retry_due_outputs() == 1, 5, "the next retry to take it over")
    recovered = time.monotonic() - killed
    output.refresh_from_db()
    assert output.keep_status == OutputKeepStatus.KEPT
    assert output.attempts == 2 and len(requests) == 2
    assert recovered < 2.5  # the 1 s lease, then the next retry

    # A minute after its last beat the worker counts as dead, and its task row says so.
    from florasite.tasks import fail_orphaned_tasks

    assert fail_orphaned_tasks(now=timezone.now() + timedelta(seconds=61)) == 1
    task.refresh_from_db()
    assert task.status == "FAILED"
    assert "doomed" in task.traceback
