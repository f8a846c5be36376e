"""client.assets.upload and send_to_signed_url: the path by size, the presigned POST, polling."""

from __future__ import annotations

import logging

import httpx
import pydantic
import pytest
import respx

from flora import (
    MAX_DIRECT_UPLOAD_BYTES,
    Asset,
    AssetFailedError,
    AssetNotReadyError,
    AssetReservation,
    AssetUploadForm,
    Flora,
    SignedUploadError,
)
from tests.flora.asset_payloads import (
    PNG,
    SIGNED_TARGET,
    asset_json,
    multipart,
    reservation_json,
    signed_reservation_json,
)
from tests.flora.flora_payloads import API_KEY

BIG = b"\x00" * (MAX_DIRECT_UPLOAD_BYTES + 1)
FORM = AssetUploadForm(url=SIGNED_TARGET, form_fields={"key": "uploads/a", "policy": "p"})


def _upload(client: Flora, data: bytes, **kwargs) -> Asset:
    return client.assets.upload(
        data, workspace_id="ws_abc123", file_name="photo.png", content_type="image/png", **kwargs
    )


def test_a_small_file_is_one_multipart_create_then_a_poll(
    client: Flora, api: respx.MockRouter
) -> None:
    create = api.post("/assets").mock(return_value=httpx.Response(201, json=reservation_json()))
    api.get("/assets/asset_abc123").mock(return_value=httpx.Response(200, json=asset_json()))

    asset = _upload(client, PNG)

    assert asset.is_ready and asset.asset_id == "asset_abc123"
    fields, files = multipart(create.calls.last.request)
    assert files["file"] == ("photo.png", PNG, "image/png")
    assert fields["workspace_id"] == "ws_abc123"


def test_a_large_file_goes_through_the_signed_url(client: Flora, api: respx.MockRouter) -> None:
    create = api.post("/assets").mock(
        return_value=httpx.Response(201, json=signed_reservation_json())
    )
    target = api.route(method="POST", url=SIGNED_TARGET).mock(return_value=httpx.Response(204))
    complete = api.post("/assets/asset_big/complete").mock(
        return_value=httpx.Response(200, json=reservation_json("asset_big"))
    )
    api.get("/assets/asset_big").mock(
        return_value=httpx.Response(200, json=asset_json("asset_big"))
    )

    asset = _upload(client, BIG, idempotency_key="intent-7")

    assert asset.asset_id == "asset_big"
    body = create.calls.last.request
    assert body.headers["content-type"] == "application/json"
    assert b'"source":"signed-url"' in body.content.replace(b" ", b"")
    assert body.headers["Idempotency-Key"] == "intent-7"
    fields, files = multipart(target.calls.last.request)
    assert fields == {"key": "uploads/asset_big", "policy": "p0l1cy"}
    assert files["file"] == ("photo.png", BIG, "image/png")
    assert complete.calls.last.request.headers["Idempotency-Key"] == "intent-7-complete"


def test_the_signed_url_never_sees_the_api_key(client: Flora, api: respx.MockRouter) -> None:
    route = api.route(url=SIGNED_TARGET).mock(return_value=httpx.Response(204))

    client.assets.send_to_signed_url(FORM, PNG, file_name="a.png", content_type="image/png")

    request = route.calls.last.request
    assert "authorization" not in request.headers
    assert API_KEY not in request.content.decode("latin-1")
    assert all(API_KEY not in value for value in request.headers.values())


def test_the_form_fields_come_before_the_file(client: Flora, api: respx.MockRouter) -> None:
    route = api.route(url=SIGNED_TARGET).mock(return_value=httpx.Response(204))
    client.assets.send_to_signed_url(FORM, PNG, file_name="a.png", content_type="image/png")
    content = route.calls.last.request.content
    assert content.index(b'name="key"') < content.index(b'name="policy"') < content.index(b"PNG")


def test_a_refused_signed_upload_says_so(client: Flora, api: respx.MockRouter) -> None:
    xml = "<Error><Code>AccessDenied</Code><Message>Policy expired</Message></Error>"
    api.route(url=SIGNED_TARGET).mock(return_value=httpx.Response(403, text=xml))
    with pytest.raises(SignedUploadError) as caught:
        client.assets.send_to_signed_url(FORM, PNG, file_name="a.png", content_type="image/png")
    assert caught.value.status_code == 403
    assert "The upload URL answered HTTP 403" in str(caught.value)
    assert "Policy expired" in str(caught.value)


def test_a_signed_upload_is_resent_whole_after_a_reset(
    client: Flora, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    form = AssetUploadForm(url=SIGNED_TARGET + "?X-Signature=s3cr3t", form_fields={"k": "v"})
    route = api.route(host="uploads.flora.test").mock(
        side_effect=[httpx.ReadError("reset"), httpx.Response(204)]
    )
    with caplog.at_level(logging.WARNING, logger="flora"):
        client.assets.send_to_signed_url(form, BIG, file_name="a.bin", content_type="video/mp4")
    assert route.call_count == 2
    assert multipart(route.calls[0].request) == multipart(route.calls[1].request)
    assert "s3cr3t" not in caplog.text and "uploads.flora.test" in caplog.text


def test_polling_waits_until_ready(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    api.post("/assets").mock(
        return_value=httpx.Response(201, json=reservation_json(status="pending_upload"))
    )
    pending = asset_json(status="pending_upload", url=None)
    api.get("/assets/asset_abc123").mock(
        side_effect=[
            httpx.Response(200, json=pending),
            httpx.Response(200, json=pending),
            httpx.Response(200, json=asset_json()),
        ]
    )
    asset = _upload(client, PNG, poll_interval=0.5)
    assert asset.is_ready
    assert sleeps == [0.5, 0.5]


def test_a_failed_asset_raises_with_its_message(client: Flora, api: respx.MockRouter) -> None:
    api.post("/assets").mock(return_value=httpx.Response(201, json=reservation_json()))
    failed = asset_json(status="failed", failure_message="Unsupported file type: text/plain")
    api.get("/assets/asset_abc123").mock(return_value=httpx.Response(200, json=failed))
    with pytest.raises(AssetFailedError) as caught:
        _upload(client, b"hello")
    assert caught.value.failure_message == "Unsupported file type: text/plain"
    assert "asset_abc123 failed to process: Unsupported file type" in str(caught.value)


def test_polling_gives_up_at_the_timeout(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    api.post("/assets").mock(return_value=httpx.Response(201, json=reservation_json()))
    pending = asset_json(status="pending_upload")
    route = api.get("/assets/asset_abc123").mock(return_value=httpx.Response(200, json=pending))
    with pytest.raises(AssetNotReadyError) as caught:
        _upload(client, PNG, poll_interval=1.0, poll_timeout=3.0)
    assert caught.value.status == "pending_upload"
    assert sum(sleeps) == 3.0 and route.call_count == 4


def test_a_lost_complete_answer_still_reaches_the_asset(
    client: Flora, api: respx.MockRouter
) -> None:
    api.post("/assets").mock(return_value=httpx.Response(201, json=signed_reservation_json()))
    api.route(url=SIGNED_TARGET).mock(return_value=httpx.Response(204))
    duplicate = {"error": {"code": "idempotency_duplicate", "message": "Duplicate key."}}
    complete = api.post("/assets/asset_big/complete").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(409, json=duplicate)]
    )
    api.get("/assets/asset_big").mock(
        return_value=httpx.Response(200, json=asset_json("asset_big"))
    )
    assert _upload(client, BIG).asset_id == "asset_big"
    assert complete.call_count == 2


# -- models --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "not a date"),
        ("created_at", float("nan")),
        ("created_at", 10**400),
        ("created_at", "9999-12-31T23:59:59Z"),
        ("created_at", True),
        ("width", -5),
        ("width", 10**30),
        ("height", "tall"),
        ("size_bytes", float("inf")),
        ("size_bytes", 3.5),
        ("name", 17),
        ("url", ["x"]),
    ],
)
def test_an_odd_value_is_unknown_not_fatal(field: str, value: object) -> None:
    asset = Asset.model_validate(asset_json(**{field: value}))
    assert getattr(asset, field) is None
    assert asset.asset_id == "asset_abc123"


def test_unknown_fields_and_statuses_are_kept() -> None:
    asset = Asset.model_validate(asset_json(status="quarantined", thumbnail="t.png"))
    assert asset.status == "quarantined" and not asset.is_ready
    assert asset.model_extra == {"thumbnail": "t.png"}


def test_a_list_item_with_project_and_node() -> None:
    asset = Asset.model_validate(
        asset_json(created_at=1_767_225_600, project_id="prj_1", node_id="n")
    )
    assert (asset.project_id, asset.node_id) == ("prj_1", "n")
    assert asset.created_at is not None and asset.created_at.tzinfo is not None


def test_a_reservation_needs_an_id_and_a_status() -> None:
    with pytest.raises(pydantic.ValidationError):
        AssetReservation.model_validate({"status": "ready"})
    minimal = AssetReservation.model_validate({"asset_id": "a", "status": "ready"})
    assert minimal.upload is None and minimal.expires_at is None
