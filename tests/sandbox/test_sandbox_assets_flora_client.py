"""The real flora client's assets resource against the sandbox over HTTP: each checks the other."""

from __future__ import annotations

import re

import pytest

import flora
from sandbox.models import SandboxAsset, SandboxIdempotencyKey
from tests.sandbox.asset_helpers import SAMPLES, image

BIG = image("PNG", (1600, 900)) + b"\0" * (4 * 1024 * 1024)  # over 4 MB: the signed path


@pytest.fixture
def client(sandbox_http) -> flora.Flora:
    flora_client = flora.Flora(
        api_key="sk_sandbox_demo",
        base_url="http://testserver/sandbox/api/v1",
        http_client=sandbox_http,
    )
    flora_client._sleep = lambda seconds: None
    return flora_client


def test_a_small_file_is_uploaded_in_one_call(client, upstream, clock):
    data = image("PNG", (320, 240))
    asset = client.assets.upload(
        data, workspace_id="ws_demo", file_name="small.png", content_type="image/png"
    )

    assert isinstance(asset, flora.Asset) and asset.is_ready
    assert (asset.content_type, asset.width, asset.height) == ("image/png", 320, 240)
    assert asset.uploaded_via == "direct" and asset.size_bytes == len(data)
    assert upstream.calls("POST", r"/sandbox/api/v1/assets$") == 1
    assert upstream.calls("POST", r"/sandbox/uploads/.*") == 0
    assert upstream.client.get(asset.url).content == data


def test_a_large_file_goes_through_the_sandboxs_signed_url(client, upstream, clock):
    asset = client.assets.upload(
        BIG, workspace_id="ws_demo", file_name="large.png", content_type="image/png"
    )

    assert asset.is_ready and asset.uploaded_via == "signed_url"
    assert (asset.width, asset.height, asset.size_bytes) == (1600, 900, len(BIG))
    uploads = [r for r in upstream.requests if r.url.path.startswith("/sandbox/uploads/")]
    assert len(uploads) == 1 and "authorization" not in uploads[0].headers
    assert upstream.calls("POST", r"/sandbox/api/v1/assets/.*/complete") == 1
    assert upstream.client.get(asset.url).content == BIG


def test_the_uploaded_asset_is_a_run_input(client, clock):
    asset = client.assets.upload(
        SAMPLES["image/jpeg"], workspace_id="ws_demo", file_name="in.jpg", content_type="image/jpeg"
    )
    run = client.techniques.runs.create(
        "tech_palette-pull", inputs=[{"id": "image", "type": "imageUrl", "value": asset.url}]
    )
    clock.advance_past(run.run_id)
    done = client.techniques.runs.retrieve(run.run_id, technique_id="tech_palette-pull")
    assert done.status == "completed" and done.outputs


def test_a_file_that_is_not_media_is_refused_with_the_fields(client, clock):
    with pytest.raises(flora.BadRequestError) as caught:
        client.assets.upload(
            b"plain text", workspace_id="ws_demo", file_name="fake.png", content_type="image/png"
        )
    assert caught.value.code == "input_validation_error"
    assert caught.value.fields[0]["field"] == "file"
    assert SandboxAsset.objects.count() == 0


def test_a_large_file_that_is_not_media_fails_as_an_asset(client, clock):
    with pytest.raises(flora.AssetFailedError) as caught:
        client.assets.upload(
            b"x" * (5 * 1024 * 1024),
            workspace_id="ws_demo",
            file_name="fake.png",
            content_type="image/png",
        )
    assert caught.value.failure_message.startswith("Unsupported file type")


def test_a_lost_answer_is_retried_on_its_key_and_makes_one_asset(client, upstream, clock):
    upstream.lose_answer(path=re.compile(r"/sandbox/api/v1/assets$"))
    with pytest.raises(flora.IdempotencyDuplicateError):
        client.assets.create(
            workspace_id="ws_demo",
            file=("a.gif", SAMPLES["image/gif"], "image/gif"),
            idempotency_key="one-upload",
        )
    assert upstream.calls("POST", r"/sandbox/api/v1/assets$") == 2
    assert SandboxAsset.objects.count() == 1
    assert SandboxIdempotencyKey.objects.filter(key="one-upload").count() == 1


def test_a_lost_complete_answer_still_ends_ready(client, upstream, clock):
    upstream.lose_answer(path=re.compile(r".*/complete$"))
    asset = client.assets.upload(
        BIG, workspace_id="ws_demo", file_name="large.png", content_type="image/png"
    )
    assert asset.is_ready
    assert upstream.calls("POST", re.compile(r".*/complete$")) == 2
    assert SandboxAsset.objects.count() == 1


def test_list_and_retrieve_read_what_the_sandbox_sends(client, clock):
    for name in ("one.png", "two.png", "three.png"):
        client.assets.create(workspace_id="ws_demo", file=(name, image("PNG"), "image/png"))
    page = client.assets.list(workspace_id="ws_demo", limit=2)
    assert page.has_next_page()
    assets = list(page)
    assert [a.name for a in assets] == ["three.png", "two.png", "one.png"]
    assert all(a.created_at is not None and a.created_at.year == 2026 for a in assets)
    one = client.assets.retrieve(assets[-1].asset_id)
    assert one.created_at == assets[-1].created_at and one.is_ready
