"""POST /assets with a file (multipart): detection by content, limits, errors, isolation."""

from __future__ import annotations

import pytest

from sandbox.models import SandboxAsset, SandboxIdempotencyKey
from tests.sandbox.asset_helpers import SAMPLES, fields_of, image, png_header, post_file
from tests.sandbox.sandbox_helpers import DEMO, OTHER

FOUR_MB = 4 * 1024 * 1024


def test_a_png_becomes_a_ready_asset_at_once(api, clock):
    response = post_file(api, image("PNG", (320, 200)), "cat.png", folder="moodboards")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "ready" and body["uploaded_via"] == "direct"
    assert body["visibility"] == "workspace" and body["workspace_id"] == "ws_demo"
    assert body["asset_id"].startswith("asset_")
    assert body["url"] == f"http://testserver/sandbox/files/assets/{body['asset_id']}/cat.png"
    detail = api.get(f"/assets/{body['asset_id']}").json()
    assert detail["content_type"] == "image/png"
    assert (detail["width"], detail["height"]) == (320, 200)
    assert detail["size_bytes"] == len(image("PNG", (320, 200)))
    assert detail["name"] == "cat.png" and detail["created_at"].endswith("Z")


def test_the_asset_url_serves_the_bytes_with_the_real_type(api, client):
    data = image("PNG")
    url = post_file(api, data, "shot.jpg", content_type="image/jpeg").json()["url"]

    served = client.get(url.removeprefix("http://testserver"))

    assert served.status_code == 200 and served.content == data
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert client.get(url.removeprefix("http://testserver") + "x").status_code == 404


def test_a_png_named_jpg_is_a_png(api):
    asset_id = post_file(api, image("PNG"), "holiday.jpg", content_type="image/jpeg").json()[
        "asset_id"
    ]
    detail = api.get(f"/assets/{asset_id}").json()
    assert detail["content_type"] == "image/png"
    assert detail["upload_content_type"] == "image/jpeg"


@pytest.mark.parametrize("content_type", sorted(SAMPLES))
def test_every_allowed_type_is_read_from_its_bytes(api, content_type):
    response = post_file(api, SAMPLES[content_type], "upload.bin")
    assert response.status_code == 201, response.json()
    detail = api.get(f"/assets/{response.json()['asset_id']}").json()
    assert detail["content_type"] == content_type


def test_a_text_file_named_png_is_refused(api):
    response = post_file(api, b"just some notes\n", "notes.png", content_type="image/png")
    assert "Unsupported file type" in fields_of(response)["file"]
    assert "not the file name" in fields_of(response)["file"]
    assert SandboxAsset.objects.count() == 0


@pytest.mark.parametrize(
    "data",
    [b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", b"GIF8", b"<svg></svg>"],
    ids=["mkv", "short", "svg"],
)
def test_types_outside_the_list_are_refused(api, data):
    assert "Unsupported file type" in fields_of(post_file(api, data, "x.webm"))["file"]


def test_an_empty_file_is_refused(api):
    assert fields_of(post_file(api, b"", "empty.png"))["file"] == "The file is empty"


def test_a_damaged_image_is_refused(api):
    message = fields_of(post_file(api, b"\x89PNG\r\n\x1a\n" + b"garbage" * 5, "a.png"))["file"]
    assert message.startswith("The file starts like a PNG image but cannot be read")


def test_an_image_over_150_megapixels_is_refused(api):
    message = fields_of(post_file(api, png_header(15_000, 10_001), "huge.png"))["file"]
    assert message == "The image is 15000x10001 (150 MP); at most 150 MP"
    assert post_file(api, png_header(15_000, 10_000), "ok.png").status_code == 201


def test_a_file_over_4_mb_is_refused(api):
    response = post_file(api, b"\xff\xd8\xff" + b"\0" * FOUR_MB, "big.jpg")
    assert fields_of(response)["file"].startswith("The file is 4.0 MB; direct uploads take")
    assert 'source "signed-url"' in fields_of(response)["file"]
    assert SandboxAsset.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"workspace_id": ""}, "workspace_id", "Required"),
        ({"workspace_id": "demo"}, "workspace_id", "Must be a workspace id starting with ws_"),
        ({"project_id": "demo_campaign"}, "project_id", "Must be a project id starting with prj_"),
        ({"project_id": "prj_brand_launch"}, "project_id", "Project prj_brand_launch is not in"),
        ({"source": "signed-url"}, "source", "Send either a file (multipart) or a source"),
        ({"folder": "f" * 256}, "folder", "At most 255 characters"),
    ],
)
def test_field_problems(api, fields, field, message):
    response = post_file(api, image("PNG"), "a.png", **fields)
    assert fields_of(response)[field].startswith(message)


def test_another_customers_workspace_or_project_is_forbidden(api):
    for fields in ({"workspace_id": "ws_other"}, {"project_id": "prj_other_main"}):
        response = post_file(api, image("PNG"), "a.png", **fields)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


def test_a_project_places_the_asset(api):
    asset_id = post_file(api, image("PNG"), "a.png", project_id="prj_demo_social").json()[
        "asset_id"
    ]
    assert SandboxAsset.objects.get(asset_id=asset_id).project_id == "prj_demo_social"


def test_multipart_without_a_file_part(api):
    response = api.client.post(
        "/sandbox/api/v1/assets",
        {"workspace_id": "ws_demo"},
        headers={"Authorization": f"Bearer {DEMO}"},
    )
    assert fields_of(response)["file"].startswith('Required: a "file" part')


def test_a_repeated_key_is_a_duplicate_and_makes_one_asset(api):
    headers = {"Idempotency-Key": "upload-1"}
    first = post_file(api, image("PNG"), "a.png", headers=headers)
    second = post_file(api, image("PNG"), "a.png", headers=headers)
    assert (first.status_code, second.status_code) == (201, 409)
    assert second.json()["error"]["code"] == "idempotency_duplicate"
    assert "an asset was already created" in second.json()["error"]["message"]
    assert SandboxAsset.objects.count() == 1


def test_the_key_may_come_in_the_form_and_another_file_conflicts(api):
    post_file(api, image("PNG"), "a.png", idempotency_key="upload-2")
    again = post_file(api, image("PNG"), "a.png", headers={"Idempotency-Key": "upload-2"})
    other = post_file(api, image("GIF"), "a.png", idempotency_key="upload-2")
    assert again.status_code == 409
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_conflict"


def test_a_refused_upload_does_not_use_up_its_key(api):
    post_file(api, b"text", "a.png", idempotency_key="upload-3")
    assert not SandboxIdempotencyKey.objects.filter(key="upload-3").exists()
    assert post_file(api, image("PNG"), "a.png", idempotency_key="upload-3").status_code == 201


def test_another_key_sees_nothing(api):
    asset_id = post_file(api, image("PNG"), "a.png").json()["asset_id"]
    response = api.get(f"/assets/{asset_id}", key=OTHER)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert api.get("/assets", key=OTHER).json()["assets"] == []
    for step in ("complete", "retry"):
        assert api.post(f"/assets/{asset_id}/{step}", {}, key=OTHER).status_code == 404


def test_keys_sharing_a_workspace_share_its_assets(api):
    asset_id = post_file(api, image("PNG"), "a.png").json()["asset_id"]
    assert api.get(f"/assets/{asset_id}", key="sk_sandbox_broke").status_code == 200


def test_no_key_is_401(api):
    assert post_file(api, image("PNG"), key=None).status_code == 401


def test_a_key_is_forgotten_after_two_hours(api, clock):
    headers = {"Idempotency-Key": "upload-4"}
    assert post_file(api, image("PNG"), "a.png", headers=headers).status_code == 201
    clock.advance(2 * 60 * 60 - 1)
    assert post_file(api, image("PNG"), "a.png", headers=headers).status_code == 409
    clock.advance(2)
    assert post_file(api, image("PNG"), "a.png", headers=headers).status_code == 201
    assert SandboxAsset.objects.count() == 2


@pytest.mark.parametrize(
    "text",
    [b"I'm free to upload anything", b"\xff\xfeU\x00n\x00i\x00", b"1234moov but prose"],
    ids=["free", "utf16", "moov"],
)
def test_text_that_happens_to_look_like_a_header_is_refused(api, text):
    assert "Unsupported file type" in fields_of(post_file(api, text, "a.mov"))["file"]


def test_a_bare_mp3_frame_is_mpeg_audio(api):
    frames = b"\xff\xfb\x90\x64" + b"\x00" * 413
    asset_id = post_file(api, frames * 4, "song.bin").json()["asset_id"]
    assert api.get(f"/assets/{asset_id}").json()["content_type"] == "audio/mpeg"
