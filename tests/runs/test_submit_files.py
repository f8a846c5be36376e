"""Starting a run with a file: sent with the form (no JavaScript) or uploaded first (the
form's script), validated before anything is sent, never a run when the file fails."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from flora import APIConnectionError
from runs.models import Run
from tests.runs.inputs_helpers import ZOOM
from tests.runs.submit_helpers import html_of, page_form, read_form
from tests.uploads import images
from uploads import validation
from uploads.models import FloraAsset, Upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]


def a_file(data: bytes, name: str = "scene.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "image/png")


def post(client, data: dict, technique: str = ZOOM):
    return client.post(f"/techniques/{technique}/run", data)


def test_the_form_is_multipart_and_offers_a_file_for_each_media_input(bob_client, upstream):
    html = html_of(bob_client.get(f"/techniques/{ZOOM}/"))
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file" name="file_scene"' in html and 'accept="image/*"' in html
    assert 'name="ref_scene"' in html
    assert "/inputs/picker?kind=image" in html


def test_a_png_sent_with_the_form_starts_the_run_with_its_asset(bob_client, upstream, fake_assets):
    data = page_form(bob_client, ZOOM)
    response = post(bob_client, {**data, "file_scene": a_file(images.png(gps=True))})
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.code}/"
    [call] = fake_assets.calls
    upload = Upload.objects.get()
    assert call["data"] == upload.file.read() and upload.location_removed
    assert run.inputs == [
        {
            "id": "scene",
            "type": "imageUrl",
            "value": "https://assets.example/fake/1.bin",
            "name": "Starting scene",
        }
    ]
    [body] = upstream.create_bodies()
    assert body["inputs"] == [
        {"id": "scene", "type": "imageUrl", "value": "https://assets.example/fake/1.bin"}
    ]
    # The run page shows the input from the dashboard's copy of the upload.
    page = html_of(bob_client.get(f"/runs/{run.code}/"))
    assert f'src="/uploads/{upload.public_id}/file"' in page


def test_a_text_file_renamed_png_is_refused_on_its_field_and_starts_nothing(
    bob_client, upstream, fake_assets
):
    data = page_form(bob_client, ZOOM)
    response = post(bob_client, {**data, "file_scene": a_file(b"just some words\n", "scene.png")})
    assert response.status_code == 200
    assert "named like a PNG image, but its content is not one" in html_of(response)
    assert not Run.objects.exists() and not Upload.objects.exists()
    assert fake_assets.calls == [] and upstream.create_bodies() == []


def test_an_oversized_image_is_refused(bob_client, upstream, fake_assets, monkeypatch):
    monkeypatch.setattr(validation, "MAX_IMAGE_BYTES", 50)
    data = page_form(bob_client, ZOOM)
    response = post(bob_client, {**data, "file_scene": a_file(images.png())})
    assert "images can be at most" in html_of(response)
    assert not Run.objects.exists() and fake_assets.calls == []


def test_a_video_in_an_image_input_is_refused(bob_client, upstream, fake_assets):
    data = page_form(bob_client, ZOOM)
    response = post(bob_client, {**data, "file_scene": a_file(images.MP4, "clip.mp4")})
    assert "This file is a video, not an image" in html_of(response)
    assert not Run.objects.exists()


def test_flora_refusing_the_upload_starts_nothing_and_keeps_the_file_chosen(
    bob_client, upstream, fake_assets
):
    fake_assets.fail_with = APIConnectionError("down")
    data = page_form(bob_client, ZOOM)
    response = post(bob_client, {**data, "file_scene": a_file(images.png())})
    html = html_of(response)
    assert response.status_code == 502
    assert "The file was not sent to FLORA: FLORA is not answering. Nothing was started." in html
    assert not Run.objects.exists() and upstream.create_bodies() == []
    upload = Upload.objects.get()
    # The re-rendered form names the kept file: pressing Run again sends it, no re-choosing.
    again = read_form(html)
    assert again["ref_scene"] == upload.ref
    fake_assets.fail_with = None
    assert post(bob_client, again).status_code == 302
    assert Run.objects.count() == 1 and Upload.objects.count() == 1


def test_the_same_form_posted_twice_with_a_file_is_one_run_and_one_upload(
    bob_client, upstream, fake_assets
):
    data = page_form(bob_client, ZOOM)
    first = post(bob_client, {**data, "file_scene": a_file(images.png())})
    second = post(bob_client, {**data, "file_scene": a_file(images.png())})
    assert first["Location"] == second["Location"]
    assert Run.objects.count() == 1 and len(upstream.create_bodies()) == 1
    assert len(fake_assets.calls) == 1


def test_the_intent_covers_the_content_not_the_reference(bob_client, upstream, fake_assets):
    """A file sent with the form and the same bytes uploaded first are one intent."""
    data = page_form(bob_client, ZOOM)
    ref = bob_client.post("/uploads/", {"file": a_file(images.png()), "kind": "image"}).json()
    first = post(bob_client, {**data, "ref_scene": ref["ref"]})
    second = post(bob_client, {**data, "file_scene": a_file(images.png())})
    assert first["Location"] == second["Location"]
    assert Run.objects.count() == 1


def test_an_uploaded_file_is_not_sent_to_flora_again_when_the_run_starts(
    bob_client, upstream, fake_assets
):
    ref = bob_client.post("/uploads/", {"file": a_file(images.png()), "kind": "image"}).json()
    data = page_form(bob_client, ZOOM)
    assert post(bob_client, {**data, "ref_scene": ref["ref"]}).status_code == 302
    assert len(fake_assets.calls) == 1
    assert Run.objects.get().inputs[0]["value"] == ref["asset_url"]
    assert FloraAsset.objects.count() == 1


def test_another_teams_upload_cannot_be_named(bob_client, dave_client, upstream, fake_assets):
    theirs = dave_client.post("/uploads/", {"file": a_file(images.png()), "kind": "image"}).json()
    data = page_form(bob_client, ZOOM)
    response = post(bob_client, {**data, "ref_scene": theirs["ref"]})
    assert "is not one of your team&#x27;s images any more" in html_of(response)
    assert not Run.objects.exists()


def test_a_file_and_a_link_for_one_input_is_refused(bob_client, upstream, fake_assets):
    data = page_form(bob_client, ZOOM)
    response = post(
        bob_client,
        {**data, "in_scene": "https://example.com/a.png", "file_scene": a_file(images.png())},
    )
    assert "This input takes one file or one link: you gave both." in html_of(response)
    assert not Run.objects.exists() and fake_assets.calls == []


def test_a_viewer_cannot_start_a_run_with_a_file(carol_client, upstream, fake_assets):
    data = page_form(carol_client, ZOOM)
    assert post(carol_client, {**data, "file_scene": a_file(images.png())}).status_code == 403
    assert not Upload.objects.exists() and fake_assets.calls == []


def test_a_good_file_beside_a_field_to_fix_is_kept_for_the_corrected_form(
    bob_client, upstream, fake_assets
):
    from tests.runs.inputs_helpers import COLOR

    data = page_form(bob_client, COLOR)
    response = post(bob_client, {**data, "file_image": a_file(images.png())}, technique=COLOR)
    html = html_of(response)
    assert "Color reference is required." in html
    upload = Upload.objects.get()
    again = read_form(html)
    assert again["ref_image"] == upload.ref
    assert f'src="/uploads/{upload.public_id}/file"' in html  # shown as chosen
    again["in_reference"] = "https://example.com/grade.png"
    assert post(bob_client, again, technique=COLOR).status_code == 302
    assert Run.objects.count() == 1 and len(fake_assets.calls) == 1
