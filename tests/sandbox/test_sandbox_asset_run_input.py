"""An asset's URL as a run input: the sandbox's own asset URLs pass its run validation, on
plain http in local runs too, once the asset is ready; anything else gets a clear message."""

from __future__ import annotations

from tests.sandbox.asset_helpers import SAMPLES, image, post_file
from tests.sandbox.sandbox_helpers import OTHER, validation_fields


def _asset_url(api, data: bytes = b"", name: str = "photo.png") -> str:
    response = post_file(api, data or image("PNG"), name)
    assert response.status_code == 201, response.json()
    return response.json()["url"]


def _image_input(url: str) -> list[dict]:
    return [{"id": "image", "type": "imageUrl", "value": url}]


def test_a_run_with_an_asset_url_completes_with_outputs(api, clock, client):
    url = _asset_url(api)
    assert url.startswith("http://testserver/")

    created = api.start_run(inputs=_image_input(url))
    assert created.status_code == 201, created.json()
    run = created.json()
    clock.advance_past(run["run_id"])
    done = api.get(f"/techniques/tech_palette-pull/runs/{run['run_id']}").json()

    assert done["status"] == "completed"
    media = [o for o in done["outputs"] if o["type"] == "imageUrl"]
    assert media
    served = client.get(media[0]["url"].removeprefix("http://testserver"))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"


def test_a_pending_asset_is_not_an_input_yet(api, clock):
    reservation = api.post("/assets", {"workspace_id": "ws_demo", "source": "signed-url"}).json()
    url = reservation["url"]
    message = validation_fields(api.start_run(inputs=_image_input(url)))["image"]
    assert message == (
        f"Asset {reservation['asset_id']} is still pending_upload: "
        "upload its file and complete it first"
    )


def test_a_failed_asset_is_refused_with_its_reason(api, clock):
    reservation = api.post("/assets", {"workspace_id": "ws_demo", "source": "signed-url"}).json()
    clock.advance(3601)
    message = validation_fields(api.start_run(inputs=_image_input(reservation["url"])))["image"]
    assert message.startswith(f"Asset {reservation['asset_id']} failed (The upload URL expired")


def test_another_customers_asset_is_not_found(api):
    url = _asset_url(api)
    response = api.start_run(key=OTHER, technique="tech_palette-pull", inputs=_image_input(url))
    assert "not one of this API key's assets" in validation_fields(response)["image"]


def test_a_video_asset_is_not_an_image(api):
    url = _asset_url(api, SAMPLES["video/mp4"], "clip.mp4")
    message = validation_fields(api.start_run(inputs=_image_input(url)))["image"]
    assert message.endswith("is video/mp4, not an image")


def test_a_made_up_asset_url_is_not_found(api):
    url = _asset_url(api)
    forged = url.rsplit("/", 2)[0] + "/asset_doesnotexist/photo.png"
    assert "not found" in validation_fields(api.start_run(inputs=_image_input(forged)))["image"]
    renamed = url.rsplit("/", 1)[0] + "/other.png"
    assert "not found" in validation_fields(api.start_run(inputs=_image_input(renamed)))["image"]


def test_plain_http_elsewhere_is_still_refused(api):
    url = _asset_url(api).replace("http://testserver", "http://cdn.example.com")
    assert validation_fields(api.start_run(inputs=_image_input(url)))["image"] == (
        "Expected an https:// URL"
    )


def test_public_https_urls_still_pass(api):
    inputs = _image_input("https://cdn.example.com/sandbox/files/assets/x/y.png")
    assert api.start_run(inputs=inputs).status_code == 201
