"""Uploads against the sandbox's assets resource (POST /assets and friends), over HTTP as
the dashboard sends them: multipart, the signed-url flow, a lost answer, and a run that
takes the asset as its input."""

from __future__ import annotations

import io
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from runs.models import Run, RunStatus
from sandbox.models import SandboxAsset
from tests.runs.inputs_helpers import ZOOM
from tests.runs.submit_helpers import page_form
from tests.uploads import images
from uploads.models import FloraAsset, Upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]

ASSETS = re.compile(r"/sandbox/api/v1/assets$")


@pytest.fixture
def _reachable_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.runs.submit_helpers import CALLBACK

    monkeypatch.setattr("runs.submit.callback_url_for", lambda team: CALLBACK)


def upload(client, data: bytes, name: str = "photo.png"):
    return client.post(
        "/uploads/", {"file": SimpleUploadedFile(name, data, "image/png"), "kind": "image"}
    )


def noisy_png(side: int) -> bytes:
    """A PNG that does not compress: side × side random pixels (about 3 × side² bytes)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_small_file_is_one_multipart_create(bob_client, upstream, clock):
    body = upload(bob_client, images.png(gps=True)).json()
    assert body["ok"] is True, body
    assert upstream.calls("POST", ASSETS) == 1
    (asset,) = SandboxAsset.objects.all()
    assert asset.status == "ready" and asset.workspace_id == "ws_demo"
    row = FloraAsset.objects.get()
    assert (row.asset_id, row.url) == (asset.asset_id, body["asset_url"])
    # What FLORA got is the cleaned copy: no GPS.
    assert not images.opened(bytes(asset.data)).getexif()


def test_a_large_file_goes_through_the_signed_url(bob_client, upstream, clock):
    data = noisy_png(1250)
    assert len(data) > 4 * 1024 * 1024
    body = upload(bob_client, data).json()
    assert body["ok"] is True, body
    assert upstream.calls("POST", re.compile(r"/sandbox/api/v1/assets/.*/complete$")) == 1
    assert SandboxAsset.objects.get().status == "ready"


def test_a_lost_answer_then_a_retry_makes_one_asset(bob_client, upstream, clock):
    upstream.lose_answer(path=ASSETS)
    first = upload(bob_client, images.png())
    assert first.status_code == 502
    assert "FLORA is not answering" in first.json()["error"]
    second = upload(bob_client, images.png()).json()
    assert second["ok"] is True, second
    # The retry sent the same key; FLORA said it saw it; the asset was found by its name.
    assert upstream.calls("POST", ASSETS) == 2
    assert SandboxAsset.objects.count() == 1
    assert FloraAsset.objects.get().asset_id == SandboxAsset.objects.get().asset_id


def test_an_uploaded_file_runs_a_technique_end_to_end(bob_client, upstream, clock):
    body = upload(bob_client, images.png()).json()
    data = page_form(bob_client, ZOOM)
    response = bob_client.post(f"/techniques/{ZOOM}/run", {**data, "ref_scene": body["ref"]})
    assert response.status_code == 302, response.content.decode()[:2000]
    run = Run.objects.get()
    assert run.inputs[0]["value"] == body["asset_url"]
    assert run.status == RunStatus.PENDING
    clock.advance_past(run.flora_run_id)
    bob_client.get(f"/runs/{run.code}/status", headers={"HX-Request": "true"})
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert Upload.objects.count() == 1 and upstream.calls("POST", ASSETS) == 1


def test_run_again_of_a_run_started_with_a_file_reuses_its_asset(bob_client, upstream, clock):
    from tests.runs.submit_helpers import read_form

    body = upload(bob_client, images.png()).json()
    data = page_form(bob_client, ZOOM)
    bob_client.post(f"/techniques/{ZOOM}/run", {**data, "ref_scene": body["ref"]})
    run = Run.objects.get()
    assert body["asset_url"].startswith("http://testserver/")  # the sandbox's plain http
    again = bob_client.get(f"/runs/{run.code}/again", follow=True)
    data = read_form(again.content.decode())
    assert data["in_scene"] == body["asset_url"]
    response = bob_client.post(f"/techniques/{ZOOM}/run", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Run.objects.count() == 2
    assert upstream.calls("POST", ASSETS) == 1
