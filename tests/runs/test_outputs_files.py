"""The kept copies served to members: files, byte ranges, conditional requests, the zip."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.core.files.storage import default_storage

from runs.models import RunOutput
from tests.runs.results_helpers import TAROT, make_run

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _kept_bytes(output: RunOutput) -> bytes:
    if output.type == "text":
        return output.text.encode()
    with default_storage.open(output.file.name, "rb") as handle:
        return handle.read()


# --- Files ------------------------------------------------------------------------------------


def test_output_files_are_served_from_the_kept_copy(bob_client, runs_by_type):
    for run in runs_by_type.values():
        for output in run.outputs.all():
            response = bob_client.get(f"/runs/{run.code}/outputs/{output.position}")
            assert response.status_code == 200
            body = _body(response)
            assert body == _kept_bytes(output)
            assert hashlib.sha256(body).hexdigest() == output.sha256
            assert response["Content-Type"] == output.content_type
            assert response["Content-Length"] == str(len(body))
            assert response["Content-Disposition"].startswith("inline;")
            assert response["X-Content-Type-Options"] == "nosniff"


def test_downloads_are_attachments_named_after_technique_code_and_number(bob_client, runs_by_type):
    run = runs_by_type["ugc"]
    video = run.outputs.get(type="videoUrl")
    response = bob_client.get(f"/runs/{run.code}/outputs/{video.position}?download=1")
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="ugc-creator-{run.code}-{video.position + 1}.mp4"'
    )


def test_output_files_may_be_framed_by_our_own_pages_only(bob_client, runs_by_type):
    run = runs_by_type["critique"]
    pdf = run.outputs.get(type="documentUrl")
    response = bob_client.get(f"/runs/{run.code}/outputs/{pdf.position}")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    # Everything else stays unframeable.
    page = bob_client.get(f"/runs/{run.code}/")
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_byte_ranges_for_seeking(bob_client, runs_by_type):
    run = runs_by_type["ugc"]
    video = run.outputs.get(type="videoUrl")
    full = _kept_bytes(video)
    url = f"/runs/{run.code}/outputs/{video.position}"
    response = bob_client.get(url, headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{len(full)}"
    assert _body(response) == full[100:200]
    response = bob_client.get(url, headers={"Range": "bytes=-10"})
    assert _body(response) == full[-10:]
    response = bob_client.get(url, headers={"Range": f"bytes={len(full)}-"})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(full)}"


def test_conditional_requests_use_the_checksum(bob_client, runs_by_type):
    run = runs_by_type["critique"]
    image = run.outputs.get(type="imageUrl")
    url = f"/runs/{run.code}/outputs/{image.position}"
    etag = bob_client.get(url)["ETag"]
    assert etag == f'"{image.sha256[:32]}"'
    assert bob_client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_unknown_positions_and_other_teams_are_404(bob_client, dave_client, runs_by_type):
    run = runs_by_type["critique"]
    assert bob_client.get(f"/runs/{run.code}/outputs/99").status_code == 404
    assert dave_client.get(f"/runs/{run.code}/outputs/0").status_code == 404
    assert dave_client.get(f"/runs/{run.code}/outputs.zip").status_code == 404


def test_a_copy_missing_from_storage_is_a_404_not_a_crash(bob_client, runs_by_type):
    run = runs_by_type["critique"]
    image = run.outputs.get(type="imageUrl")
    default_storage.delete(image.file.name)
    assert bob_client.get(f"/runs/{run.code}/outputs/{image.position}").status_code == 404


# --- Zip --------------------------------------------------------------------------------------


def test_download_all_is_a_zip_of_every_kept_output(bob_client, runs_by_type):
    run = runs_by_type["critique"]
    response = bob_client.get(f"/runs/{run.code}/outputs.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="art-directors-critique-{run.code}.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert archive.testzip() is None
    expected = {}
    for output in run.outputs.all():
        ext = {"text": "txt", "imageUrl": "png", "documentUrl": "pdf"}[output.type]
        expected[f"art-directors-critique-{run.code}-{output.position + 1}.{ext}"] = _kept_bytes(
            output
        )
    assert {name: archive.read(name) for name in archive.namelist()} == expected


def test_the_zip_says_which_outputs_are_missing(
    bob_client, team_a, bob, sandbox_http, clock, monkeypatch
):
    run = make_run(team_a, bob, *TAROT, clock, keep=False)  # image pending, text kept
    response = bob_client.get(f"/runs/{run.code}/outputs.zip")
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    names = archive.namelist()
    assert "NOT-INCLUDED.txt" in names
    assert any(name.endswith(".txt") and name != "NOT-INCLUDED.txt" for name in names)
    assert "output 1 (card)" in archive.read("NOT-INCLUDED.txt").decode()


def test_the_zip_is_404_when_nothing_is_kept(bob_client, pending_run):
    assert bob_client.get(f"/runs/{pending_run.code}/outputs.zip").status_code == 404
