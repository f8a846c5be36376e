"""Helpers for the result-page, keeping and share tests: completed runs made by the sandbox.

A run is built as the product builds it: a real sandbox run is created with the team's FLORA
client, the Run row is written through the ORM, the sandbox clock is moved past the run's
end, FLORA's answer is applied with runs.state.apply_remote (which creates the RunOutput
rows), and runs.keeping.keep_run_outputs copies the media through the in-process sandbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from runs import keeping, shares
from runs.keeping import keep_run_outputs
from runs.models import Run, RunOutput, RunStatus, ShareLink
from runs.state import apply_remote
from sandbox.testing import FrozenClock, wsgi_transport
from teams.services import flora_client

# Inputs for a few sandbox techniques, one per kind of output.
IMAGE_URL = "https://images.example.com/inputs/poster.png"
TAROT = ("tech_tarot-pull", [{"id": "question", "type": "text", "value": "Will we ship?"}])
CRITIQUE = (
    "tech_art-directors-critique",
    [
        {"id": "asset", "type": "imageUrl", "value": IMAGE_URL},
        {"id": "brief", "type": "text", "value": "Sell more lemonade"},
    ],
)
EARTH = ("tech_earth-zoom-out", [{"id": "scene", "type": "imageUrl", "value": IMAGE_URL}])
UGC = (
    "tech_ugc-creation",
    [
        {"id": "product", "type": "imageUrl", "value": IMAGE_URL},
        {"id": "script", "type": "text", "value": "This lemonade changed my mornings."},
    ],
)

# FLORA's file host as the keeping tests fake it (respx), and what its addresses resolve to.
CDN = "https://cdn.flora-files.example"
PUBLIC_IP = "93.184.216.34"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def pending_output(team, user, url: str, media_type: str = "imageUrl") -> RunOutput:
    """A completed run with one media output waiting to be kept (no FLORA call needed)."""
    run = Run.objects.create(
        team=team,
        created_by=user,
        technique_id="tech_cctv-cam",
        technique_name="CCTV Cam",
        status=RunStatus.COMPLETED,
        completed_at=timezone.now(),
    )
    return RunOutput.objects.create(
        run=run, output_id="still", type=media_type, source_url=url, position=0
    )


@contextmanager
def sandbox_downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    """Route the output downloads' client (public_http) to the sandbox served in-process."""
    with wsgi_transport() as transport, httpx.Client(transport=transport) as client:
        monkeypatch.setattr("florasite.lib.public_http.get_client", lambda: client)
        yield client


def start_run(team, user, technique_id: str, inputs: list[dict]) -> tuple[Run, object]:
    """A real sandbox run and its Run row (status running), not finished yet."""
    client = flora_client(team)
    technique = client.techniques.retrieve(technique_id)
    remote = client.techniques.runs.create(
        technique_id, inputs=inputs, mode="async", idempotency_key=str(uuid.uuid4())
    )
    run = Run.objects.create(
        team=team,
        created_by=user,
        technique_id=technique_id,
        technique_name=technique.name,
        price_quoted=Decimal(str(technique.run_cost)),
        inputs=inputs,
        status=RunStatus.RUNNING,
        flora_run_id=remote.run_id,
        workspace_id="ws_demo",
        submitted_at=timezone.now(),
        intent_key=str(uuid.uuid4()),
    )
    return run, client


def finish_run(run: Run, client, clock: FrozenClock, *, keep: bool = True) -> Run:
    clock.advance_past(run.flora_run_id)
    remote = client.techniques.runs.retrieve(run.flora_run_id, technique_id=run.technique_id)
    apply_remote(run, remote)
    if keep:
        keep_run_outputs(run.pk)
    return Run.objects.get(pk=run.pk)


def make_run(
    team, user, technique_id: str, inputs: list[dict], clock: FrozenClock, *, keep: bool = True
) -> Run:
    run, client = start_run(team, user, technique_id, inputs)
    return finish_run(run, client, clock, keep=keep)


def keep_and_reload(output: RunOutput) -> RunOutput:
    """Keep one output now (runs.keeping.keep_output) and read it back."""
    keeping.keep_output(output.pk)
    output.refresh_from_db()
    return output


def share_link(run: Run, user, **kwargs) -> tuple[ShareLink, str]:
    """A share link of the run, made by runs.shares: the link and its token."""
    created = shares.create_share(
        run,
        created_by=user,
        hide_inputs=kwargs.get("hide_inputs", False),
        expires=kwargs.get("expires", "never"),
    )
    return created.link, created.token
