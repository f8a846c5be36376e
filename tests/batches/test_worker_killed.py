"""A real worker process, SIGKILLed while FLORA holds its create call: restarted, the batch
starts none of its rows twice (as tests/runs/test_archive_leases.py kills a copier).

FLORA is tests.hostile's server on a real socket: it records every create (with its
Idempotency-Key) and, for the doomed worker, takes the request and never answers.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.utils import timezone

from batches import services, worker
from batches.models import RowState
from flora import Technique
from runs.models import Run, RunStatus
from tests.conftest import make_member, make_team
from tests.hostile import HostileFlora, drip, send_json

ROOT = Path(__file__).resolve().parents[2]
TECHNIQUE = {
    "technique_id": "tech_tarot-pull",
    "name": "Tarot Pull",
    "run_cost": 0.06,
    "inputs": [{"id": "question", "name": "Question", "type": "text"}],
    "outputs": [],
}
_WORKER = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "florasite.test_settings"
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]
settings.FLORASITE_BATCH_CONCURRENCY = 2
import django
django.setup()
from batches import worker
worker.start_due()
"""


def _remote_run(key: str) -> dict:
    return {
        "run_id": f"run_{key.replace(':', '_')}",
        "status": "pending",
        "progress": 0,
        "created_at": timezone.now().isoformat(),
    }


def _wait_for(condition, timeout: float, what: str) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_create_is_restarted_without_a_second_create(monkeypatch, settings):
    creates: list[str] = []
    hang = {"on": True}

    def create(handler) -> None:  # noqa: ANN001 - tests.hostile's handler
        length = int(handler.headers.get("Content-Length") or 0)
        handler.rfile.read(length)
        key = handler.headers.get("Idempotency-Key", "")
        creates.append(key)
        if hang["on"]:
            # FLORA has the request (it may well have started the run); no answer comes.
            drip(b"{}", every=5, limit=120)(handler)
        else:
            send_json(handler, _remote_run(key), 201)

    with HostileFlora() as flora:
        flora.route("/api/v1/techniques/tech_tarot-pull/runs", create)
        team = make_team("Acme", "acme", api_key="sk_test_kill", workspaces=["ws_demo"],
                         base_url=f"{flora.url}/api/v1")  # fmt: skip
        alice = make_member("alice", team, "manager")
        batch, _ = services.create_batch(
            membership=team.memberships.get(user=alice),
            user=alice,
            technique=Technique.model_validate(TECHNIQUE),
            workspace_id="ws_demo",
            intent_key="kill-test",
            plan=[[{"id": "question", "type": "text", "value": q}] for q in ("One?", "Two?")],
        )
        first = batch.rows.get(position=1)

        doomed = subprocess.Popen(
            [sys.executable, "-c", _WORKER, connection.settings_dict["NAME"]],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(lambda: creates, 30, "the worker's first create to reach FLORA")
        finally:
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
        assert creates == [first.intent_key]
        first.refresh_from_db()
        assert first.state == RowState.STARTING
        orphan = Run.objects.get(intent_key=first.intent_key)
        assert orphan.status == RunStatus.SUBMITTING  # written before the create, never recorded

        # Restarted once the dead worker's claim ran out (this process is the new worker).
        hang["on"] = False
        client = httpx.Client()
        monkeypatch.setattr("teams.services.get_http_client", lambda: client)
        settings.FLORASITE_BATCH_CONCURRENCY = 2
        worker.start_due(now=timezone.now() + worker.CLAIM_FOR + timedelta(seconds=1))
        client.close()

    rows = list(batch.rows.order_by("position"))
    assert [r.state for r in rows] == [RowState.STARTED, RowState.STARTED]
    assert rows[0].run_id == orphan.pk  # linked to the row written before the kill
    # Row 1 was never sent again; row 2 once. The orphan is runs.reconcile's (same key).
    assert creates == [rows[0].intent_key, rows[1].intent_key]
    assert Run.objects.count() == 2
