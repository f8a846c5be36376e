"""Helpers for the history / live status / worker / sync / webhook / extreme-value tests.

Runs are real sandbox runs started with the team's own FLORA client (through the in-process
sandbox of the `flora`/`sandbox_http` fixtures), so every refresh really asks "FLORA" over
HTTP; the `flora` fixture counts those requests at the transport, i.e. what FLORA received.
The extreme-value tests fake FLORA's answers with respx instead (`fake_flora`): `answer_run`
and friends below.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import respx
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from flora.webhooks import sign
from runs.models import Run, RunOrigin, RunOutput, RunStatus
from runs.state import apply_remote
from teams.services import flora_client

TAROT = "tech_tarot-pull"
# Team A's webhook signing secret (tests/conftest.py).
SECRET = "whsec_sandbox_demo"
# An image output's URL at FLORA (history rows and their thumbnails).
IMAGE = "https://cdn.flora.example/out/1.png"


def start_flora_run(team, *, question: str = "Will we ship?", technique: str = TAROT) -> Any:
    """Start a real sandbox run with the team's key (as FLORA's own app would)."""
    client = flora_client(team)
    # POST /techniques/{technique_id}/runs
    return client.techniques.runs.create(
        technique,
        inputs=[{"id": "question", "type": "text", "value": question}],
        mode="async",
        idempotency_key=str(uuid.uuid4()),
    )


def dashboard_run(team, user, *, question: str = "Will we ship?", **fields: Any) -> Run:
    """A run started from the dashboard: a sandbox run and its Run row, as submission does."""
    remote = start_flora_run(team, question=question)
    run = Run.objects.create(
        team=team,
        created_by=user,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        inputs=[{"id": "question", "type": "text", "value": question}],
        workspace_id="ws_demo",
        intent_key=str(uuid.uuid4()),
        submitted_at=timezone.now(),
        price_quoted="0.06",
        **fields,
    )
    apply_remote(run, remote)
    run.refresh_from_db()
    return run


def plain_run(team, user=None, **fields: Any) -> Run:
    """A Run row only (no FLORA behind it): for history, filters and pagination."""
    defaults: dict[str, Any] = {
        "technique_id": TAROT,
        "technique_name": "Tarot Pull",
        "status": RunStatus.COMPLETED,
        "workspace_id": "ws_demo",
        "origin": RunOrigin.DASHBOARD if user else RunOrigin.EXTERNAL,
    }
    defaults.update(fields)
    return Run.objects.create(team=team, created_by=user, **defaults)


def let_interval_pass(run: Run) -> None:
    """Our side of "time passes": the run's refresh hold is over (FLORA's is the FrozenClock)."""
    Run.objects.filter(pk=run.pk).update(
        refresh_claimed_until=timezone.now() - timedelta(milliseconds=1),
        next_refresh_at=timezone.now() - timedelta(milliseconds=1),
    )


def _wait_when_locked(execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
    deadline = time.monotonic() + 20
    while True:
        try:
            return execute(sql, params, many, context)
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.0005)


@contextmanager
def queued_writers() -> Iterator[None]:
    """Make this thread's SQLite connection wait for locks, as production's SQLite does.

    The deployed SQLite database is a file opened with a 20 s busy timeout: a statement that
    meets a lock waits for it. The test database is SQLite's shared-cache in-memory database,
    which reports table locks at once instead ("database table is locked"), so threads that
    really run side by side would fail where production waits. This retries such statements
    for up to 20 s, like the busy timeout. PostgreSQL waits by itself: nothing to do there.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.execute_wrapper(_wait_when_locked):
        yield


def row_codes(response) -> list[str]:
    """Run codes in table order."""
    return re.findall(r'<tr id="run-([\w-]+)"', response.content.decode())


# -- FLORA's answers faked with respx (tests/runs/test_extreme_values*.py) -----------------

NOW = int(time.time())
NAN = float("nan")
HX = {"HX-Request": "true"}


def answer(mock: respx.MockRouter, path: str, body: dict) -> None:
    content = json.dumps(body).encode()  # NaN and Infinity as literals
    mock.get(path).respond(
        200, content=content, headers={"content-type": "application/json", "request-id": "req_x"}
    )


def answer_run(mock: respx.MockRouter, flora_id: str, **overrides) -> None:
    body = {
        "run_id": flora_id,
        "status": "completed",
        "progress": 100,
        "created_at": NOW - 20,
        "started_at": NOW - 10,
        "completed_at": NOW,
        "charged_cost": 0.06,
        "outputs": [{"output_id": "reading", "type": "text", "url": "Patience."}],
        **overrides,
    }
    answer(mock, f"/techniques/{TAROT}/runs/{flora_id}", body)


def running_run(team, user, flora_id: str = "run_x") -> Run:
    return Run.objects.create(
        team=team,
        created_by=user,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        flora_run_id=flora_id,
        status=RunStatus.RUNNING,
        progress=40,
        submitted_at=timezone.now(),
    )


def pages_work(client, run: Run) -> Run:
    """Every page that shows the run answers, and the row reads back as it now is."""
    row = Run.objects.get(pk=run.pk)  # a decimal the column can't hold fails here on SQLite
    list(RunOutput.objects.filter(run=row))
    assert client.get("/runs/").status_code == 200
    assert client.get(f"/runs/{row.code}/").status_code == 200
    for fragment_url in (f"/runs/{row.code}/status", f"/runs/{row.code}/status/row"):
        fragment = client.get(fragment_url, headers=HX)
        assert fragment.status_code in (200, 286)
    # The CSV export, as the worker writes it (issue 19: exports), and its download.
    from exports import services as exports
    from exports.models import Export

    intent = f"pages-work-{row.code}-{Export.objects.count()}"
    assert client.post("/exports/new", {"query": "", "intent": intent}).status_code == 302
    made = Export.objects.get(intent_key=intent)
    assert exports.build(made.pk) == "ready"
    download = client.get(f"/exports/{made.code}/download")
    assert download.status_code == 200
    assert row.code in b"".join(download.streaming_content).decode()
    return row


def refresh_via_the_status_fragment(client, run: Run) -> Run:
    response = client.get(f"/runs/{run.code}/status", headers=HX)
    assert response.status_code in (200, 286)
    return pages_work(client, run)


def webhook_event(run_id: str, *, delivery_id: str = "whd_1", status: str = "completed") -> bytes:
    """A run webhook's body, as FLORA sends it."""
    body = {
        "id": delivery_id,
        "type": f"run.{status}",
        "api_version": "2026-06-11",
        "created_at": int(time.time() * 1000),
        "data": {
            "run_id": run_id,
            "run_type": "technique",
            "workspace_id": "ws_demo",
            "status": status,
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def deliver_webhook(
    team,
    body: bytes,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    token: str | None = None,
    delivery_id: str | None = None,
) -> Any:
    """POST a signed delivery to the team's receiver (team A's signing secret by default)."""
    headers = {
        "Flora-Signature": sign(body, secret, int(time.time()) if timestamp is None else timestamp)
    }
    if delivery_id:
        headers["Flora-Webhook-Id"] = delivery_id
    return Client().post(
        f"/hooks/flora/{token or team.webhook_token}",
        body,
        content_type="application/json",
        headers=headers,
    )
