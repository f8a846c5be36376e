"""POST /uploads/ and GET /uploads/<id>/file: validated, kept once, sent to FLORA once,
served to the team's members only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from flora import APIConnectionError
from tests.uploads import images
from uploads.models import FloraAsset, Upload

pytestmark = pytest.mark.django_db


def post(client, data: bytes, name: str = "photo.png", kind: str = "image", **extra):
    payload = {"file": SimpleUploadedFile(name, data, "image/png"), "kind": kind, **extra}
    return client.post("/uploads/", payload)


def test_a_member_uploads_an_image_and_gets_the_asset(bob_client, fake_assets):
    response = post(bob_client, images.png(gps=True))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["asset_url"] == "https://assets.example/fake/1.bin"
    assert body["ref"].startswith("upload:")
    upload = Upload.objects.get()
    assert body["ref"] == upload.ref
    assert (upload.kind, upload.content_type, upload.width, upload.height) == (
        "image",
        "image/png",
        48,
        32,
    )
    assert upload.uploaded_by.username == "bob"
    assert upload.location_removed
    (call,) = fake_assets.calls
    assert call["workspace_id"] == "ws_demo"
    assert call["content_type"] == "image/png"
    assert call["data"] == upload.file.read()
    assert call["idempotency_key"].startswith("fs-asset-")
    # FLORA gets the file's name tagged with its content, to find it again after a lost answer.
    assert call["file_name"] == f"photo-{upload.sha256[:12]}.png"
    assert FloraAsset.objects.get().url == body["asset_url"]


def test_the_same_bytes_twice_reuse_the_upload_and_the_asset(bob_client, alice_client, fake_assets):
    first = post(bob_client, images.png(), name="one.png").json()
    second = post(alice_client, images.png(), name="two.png").json()
    assert first["ref"] == second["ref"]
    assert second["asset_url"] == first["asset_url"]
    assert (first["reused"], second["reused"]) == (False, True)
    assert Upload.objects.count() == 1
    assert len(fake_assets.calls) == 1


def test_another_workspace_gets_its_own_asset_of_the_same_upload(bob_client, fake_assets):
    post(bob_client, images.png())
    post(bob_client, images.png(), workspace="ws_brand")
    assert Upload.objects.count() == 1
    assert sorted(FloraAsset.objects.values_list("workspace_id", flat=True)) == [
        "ws_brand",
        "ws_demo",
    ]
    assert [call["workspace_id"] for call in fake_assets.calls] == ["ws_demo", "ws_brand"]


def test_a_text_file_renamed_png_is_refused_and_nothing_is_kept_or_sent(bob_client, fake_assets):
    response = post(bob_client, b"not an image at all", name="photo.png")
    assert response.status_code == 400
    assert "named like a PNG image, but its content is not one" in response.json()["error"]
    assert not Upload.objects.exists()
    assert fake_assets.calls == []


def test_a_viewer_cannot_upload(carol_client, fake_assets):
    assert post(carol_client, images.png()).status_code == 403
    assert not Upload.objects.exists()
    assert fake_assets.calls == []


def test_another_teams_workspace_is_404(dave_client, fake_assets):
    assert post(dave_client, images.png(), workspace="ws_demo").status_code == 404
    assert fake_assets.calls == []


def test_flora_failing_keeps_the_file_and_says_why(bob_client, fake_assets):
    fake_assets.fail_with = APIConnectionError("boom")
    response = post(bob_client, images.png())
    assert response.status_code == 502
    body = response.json()
    assert body["ok"] is False
    assert body["error"].startswith("The file was not sent to FLORA: FLORA is not answering")
    assert Upload.objects.count() == 1
    assert not FloraAsset.objects.filter(status="ready").exists()
    # Next time it is sent again (nothing ready was recorded).
    fake_assets.fail_with = None
    assert post(bob_client, images.png()).json()["ok"] is True
    assert len(fake_assets.calls) == 2


def test_a_failed_asset_is_not_reused_and_the_retry_uses_a_new_key(bob_client, fake_assets):
    fake_assets.status = "failed"
    fake_assets.failure_message = "unsupported codec"
    body = post(bob_client, images.png()).json()
    assert body["error"] == "FLORA could not use this file: unsupported codec"
    fake_assets.status = "ready"
    assert post(bob_client, images.png()).json()["ok"] is True
    first, second = fake_assets.calls
    assert first["idempotency_key"] != second["idempotency_key"]


def test_a_missing_file_or_kind_is_said(bob_client, fake_assets):
    assert bob_client.post("/uploads/", {"kind": "image"}).json()["error"] == (
        "Choose a file to upload."
    )
    response = post(bob_client, images.png(), kind="audio")
    assert response.json()["error"] == "Say whether this is an image or a video."


def test_it_rejects_get(bob_client):
    assert bob_client.get("/uploads/").status_code == 405


def test_members_of_the_team_get_the_file_others_404(
    bob_client, carol_client, dave_client, fake_assets
):
    ref = post(bob_client, images.png()).json()
    url = ref["preview_url"]
    response = carol_client.get(url)  # viewers may look
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == Upload.objects.get().file.read()
    assert dave_client.get(url).status_code == 404


def test_an_unknown_upload_is_404(bob_client):
    assert bob_client.get("/uploads/2b1f7f4e-6c3e-4b8e-9a77-1d2f3e4a5b6c/file").status_code == 404


def test_a_video_is_taken_by_its_magic_bytes(bob_client, fake_assets):
    body = post(bob_client, images.MP4, name="clip.mp4", kind="video").json()
    assert body["ok"] is True and body["kind"] == "video"
    assert fake_assets.calls[0]["content_type"] == "video/mp4"


def test_the_upload_deadline_grows_with_the_size_but_is_bounded(team_a, settings):
    from uploads.services import MAX_UPLOAD_DEADLINE, upload_client

    settings.FLORA_PAGE_DEADLINE = 8.0
    assert upload_client(team_a, 1024).deadline == pytest.approx(8.0, abs=0.01)
    assert upload_client(team_a, 20 * 2**20).deadline == pytest.approx(18.0)
    assert upload_client(team_a, 2**31).deadline == MAX_UPLOAD_DEADLINE


def test_an_asset_still_processing_is_asked_about_not_uploaded_again(bob_client, fake_assets):
    from flora import AssetNotReadyError

    fake_assets.fail_with = AssetNotReadyError("asset_slow", "pending_upload", 30)
    body = post(bob_client, images.png()).json()
    assert body["error"] == (
        "FLORA is still processing this file. Press the button again in a moment."
    )
    assert FloraAsset.objects.get().asset_id == "asset_slow"
    # Next time: GET /assets/{id} says it is ready now; nothing is uploaded again.
    fake_assets.fail_with = None
    fake_assets.made["asset_slow"] = SimpleNamespace(
        asset_id="asset_slow", status="ready", name="x", url="https://assets.example/slow",
        failure_message=None,
    )  # fmt: skip
    assert post(bob_client, images.png()).json()["asset_url"] == "https://assets.example/slow"
    assert len(fake_assets.calls) == 1


def test_an_earlier_asset_that_failed_later_is_made_again_on_a_new_key(bob_client, fake_assets):
    from flora import AssetNotReadyError

    fake_assets.fail_with = AssetNotReadyError("asset_slow", "pending_upload", 30)
    post(bob_client, images.png())
    first_key = fake_assets.calls[0]["idempotency_key"]
    fake_assets.fail_with = None
    fake_assets.made["asset_slow"] = SimpleNamespace(
        asset_id="asset_slow", status="failed", name="x", url=None, failure_message="corrupt"
    )
    assert post(bob_client, images.png()).json()["ok"] is True
    assert fake_assets.calls[1]["idempotency_key"] != first_key


def test_uploads_are_rate_limited_per_member(bob_client, alice_client, fake_assets, monkeypatch):
    monkeypatch.setattr("uploads.views.UPLOADS_PER_WINDOW", 2)
    assert post(bob_client, images.png()).status_code == 200
    assert post(bob_client, images.png()).status_code == 200
    refused = post(bob_client, images.png())
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["error"].startswith("That is a lot of uploads at once: wait")
    assert post(alice_client, images.png()).status_code == 200  # her own allowance
