"""Output files under /sandbox/media/: real, typed, deterministic, public."""

from __future__ import annotations

import io
import struct
import wave

import pytest
from django.test import Client
from PIL import Image

from sandbox import catalog, media
from sandbox.models import SandboxRun

IMAGE = "https://cdn.example.com/photo.jpg"


def _value(item: catalog.IO) -> str:
    if item.type == "text":
        return item.choices[0] if item.choices else "a sunlit studio, soft shadows"
    return IMAGE


def _completed(api, clock, technique_id: str, **body) -> dict:
    technique = catalog.find(technique_id)
    inputs = [
        {"id": item.id, "type": item.type, "value": _value(item)}
        for item in technique.inputs
        if not item.optional
    ]
    created = api.start_run(technique_id, inputs, **body).json()
    clock.advance_past(created["run_id"])
    response = api.get(f"/techniques/{technique_id}/runs/{created['run_id']}")
    assert response.json()["status"] == "completed"
    return response.json()


def _fetch(url: str, **headers):
    # A fresh client: media URLs need no login and no API key.
    return Client().get(url.removeprefix("http://testserver"), headers=headers)


def _outputs(body: dict) -> dict[str, dict]:
    return {output["output_id"]: output for output in body["outputs"]}


def test_images_are_pngs_of_the_specified_aspect_ratio(api, clock):
    outputs = _outputs(_completed(api, clock, "tech_turn-any-product-into-4-ad-visuals"))

    for output_id, ratio in [("ad_square", 1), ("ad_story", 9 / 16), ("ad_banner", 16 / 9)]:
        response = _fetch(outputs[output_id]["url"])
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert int(response["Content-Length"]) == len(response.content)
        image = Image.open(io.BytesIO(response.content))
        assert image.format == "PNG"
        assert image.width / image.height == pytest.approx(ratio, rel=0.02)


def test_layout_resizer_uses_the_requested_aspect_ratio(api, clock):
    technique = "tech_quick-reframe"
    inputs = [
        {"id": "layout", "type": "imageUrl", "value": IMAGE},
        {"id": "aspect_ratio", "type": "text", "value": "9:16"},
    ]
    created = api.start_run(technique, inputs).json()
    clock.advance_past(created["run_id"])
    body = api.get(f"/techniques/{technique}/runs/{created['run_id']}").json()

    image = Image.open(io.BytesIO(_fetch(body["outputs"][0]["url"]).content))
    assert image.size == (360, 640)


def _boxes(data: bytes) -> list[bytes]:
    kinds, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        kinds.append(kind)
        offset += size
    return kinds


def test_videos_are_h264_mp4s(api, clock):
    body = _completed(api, clock, "tech_seamless-transition")
    response = _fetch(body["outputs"][0]["url"])

    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    data = response.content
    # The index comes first, so browsers can start playing before the download ends.
    assert _boxes(data) == [b"ftyp", b"moov", b"mdat"]
    assert b"avc1" in data and b"avcC" in data
    assert int(response["Content-Length"]) == len(data)


def test_audio_is_a_wav(api, clock):
    body = _completed(api, clock, "tech_ugc-creation")
    response = _fetch(_outputs(body)["voice"]["url"])

    assert response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as audio:
        assert audio.getnchannels() == 1
        assert audio.getnframes() / audio.getframerate() == pytest.approx(3.0)


def test_documents_are_pdfs(api, clock):
    body = _completed(api, clock, "tech_art-directors-critique")
    outputs = _outputs(body)
    response = _fetch(outputs["report"]["url"])

    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-1.4")
    assert response.content.rstrip().endswith(b"%%EOF")
    assert b"Art Director's Critique" in response.content
    assert b"Strong focal point" in response.content
    assert outputs["critique"]["type"] == "text"
    assert not outputs["critique"]["url"].startswith("http")


def test_every_output_of_every_technique_is_served(api, clock):
    for technique in catalog.TECHNIQUES:
        workspace = "ws_brand" if technique.brand_only else "ws_demo"
        body = _completed(api, clock, technique.technique_id, workspace_id=workspace)
        assert [o["output_id"] for o in body["outputs"]] == [o.id for o in technique.outputs]
        for output in body["outputs"]:
            if output["type"] == "text":
                assert output["url"]
                continue
            response = _fetch(output["url"])
            extension = media.EXTENSIONS[output["type"]]
            assert response.status_code == 200, output
            assert response["Content-Type"] == media.CONTENT_TYPES[extension]


def test_the_same_inputs_give_the_same_file(api, clock):
    first = _completed(api, clock, "tech_palette-pull")
    second = _completed(api, clock, "tech_palette-pull")

    first_url, second_url = first["outputs"][0]["url"], second["outputs"][0]["url"]
    assert first_url != second_url
    assert _fetch(first_url).content == _fetch(second_url).content


def test_media_of_unfinished_runs_is_not_found(api, clock):
    created = api.start_run().json()

    response = Client().get(f"/sandbox/media/{created['run_id']}/palette.png")

    assert response.status_code == 404


def test_unknown_media_is_not_found(api, clock):
    body = _completed(api, clock, "tech_palette-pull")
    run_id = body["run_id"]

    assert Client().get(f"/sandbox/media/{run_id}/palette.mp4").status_code == 404
    assert Client().get(f"/sandbox/media/{run_id}/nothing.png").status_code == 404
    assert Client().get("/sandbox/media/run_nope/palette.png").status_code == 404


def test_media_answers_byte_ranges_and_etags(api, clock):
    url = _completed(api, clock, "tech_product-motion")["outputs"][0]["url"]
    full = _fetch(url)

    partial = _fetch(url, Range="bytes=0-99")
    assert partial.status_code == 206
    assert partial.content == full.content[:100]
    assert partial["Content-Range"] == f"bytes 0-99/{len(full.content)}"
    assert _fetch(url, Range=f"bytes={len(full.content)}-").status_code == 416
    assert _fetch(url, **{"If-None-Match": full["ETag"]}).status_code == 304


def test_media_is_regenerated_from_the_run_alone(api, clock):
    body = _completed(api, clock, "tech_palette-pull")
    SandboxRun.objects.filter(run_id=body["run_id"]).update(outputs=None)

    assert _fetch(body["outputs"][0]["url"]).status_code == 200
