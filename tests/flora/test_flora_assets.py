"""client.assets: the three create modes, retries and idempotency, list, complete, retry."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from flora import (
    MAX_DIRECT_UPLOAD_BYTES,
    Asset,
    AssetReservation,
    BadRequestError,
    Flora,
    IdempotencyDuplicateError,
    NotFoundError,
)
from tests.flora.asset_payloads import (
    PNG,
    asset_json,
    multipart,
    reservation_json,
    signed_reservation_json,
)


def test_a_file_is_sent_as_multipart_with_its_fields(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/assets").mock(return_value=httpx.Response(201, json=reservation_json()))

    reservation = client.assets.create(
        workspace_id="ws_abc123",
        file=("photo.png", PNG, "image/png"),
        folder="moodboards",
        project_id="prj_abc123",
    )

    assert isinstance(reservation, AssetReservation)
    assert reservation.status == "ready" and reservation.uploaded_via == "direct"
    request = route.calls.last.request
    fields, files = multipart(request)
    assert files == {"file": ("photo.png", PNG, "image/png")}
    assert fields["workspace_id"] == "ws_abc123"
    assert fields["folder"] == "moodboards" and fields["project_id"] == "prj_abc123"
    assert "source" not in fields
    assert fields["idempotency_key"] == request.headers["Idempotency-Key"]
    assert request.headers["Authorization"].startswith("Bearer ")


def test_plain_bytes_take_the_name_and_type_given(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/assets").mock(return_value=httpx.Response(201, json=reservation_json()))
    client.assets.create(
        workspace_id="ws_abc123", file=PNG, file_name="a.png", content_type="image/png"
    )
    fields, files = multipart(route.calls.last.request)
    assert files["file"] == ("a.png", PNG, "image/png")
    assert fields["file_name"] == "a.png" and fields["content_type"] == "image/png"


def test_a_source_is_sent_as_json(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/assets").mock(
        return_value=httpx.Response(201, json=reservation_json(uploaded_via="url"))
    )
    client.assets.create(workspace_id="ws_abc123", source="https://images.example.com/cat.jpg")

    request = route.calls.last.request
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body == {
        "workspace_id": "ws_abc123",
        "source": "https://images.example.com/cat.jpg",
        "idempotency_key": request.headers["Idempotency-Key"],
    }


def test_a_signed_url_reservation_is_read(client: Flora, api: respx.MockRouter) -> None:
    api.post("/assets").mock(return_value=httpx.Response(201, json=signed_reservation_json()))
    reservation = client.assets.create(workspace_id="ws_abc123", source="signed-url")
    assert reservation.status == "pending_upload"
    assert reservation.upload is not None
    assert reservation.upload.form_fields == {"key": "uploads/asset_big", "policy": "p0l1cy"}
    assert reservation.upload.file_field == "file" and reservation.upload.method == "POST"
    assert reservation.expires_at is not None and reservation.expires_at.hour == 14


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"file": PNG, "source": "signed-url"}],
    ids=["neither", "both"],
)
def test_exactly_one_of_file_and_source(client: Flora, api: respx.MockRouter, kwargs) -> None:
    route = api.post("/assets")
    with pytest.raises(ValueError, match="exactly one"):
        client.assets.create(workspace_id="ws_abc123", **kwargs)
    assert not route.called


def test_a_file_over_4_mb_is_refused_before_sending(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/assets")
    with pytest.raises(ValueError, match="at most 4194304 bytes"):
        client.assets.create(workspace_id="ws_abc123", file=b"x" * (MAX_DIRECT_UPLOAD_BYTES + 1))
    assert not route.called


def test_exactly_4_mb_is_sent(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/assets").mock(return_value=httpx.Response(201, json=reservation_json()))
    client.assets.create(workspace_id="ws_abc123", file=b"x" * MAX_DIRECT_UPLOAD_BYTES)
    assert route.called


@pytest.mark.parametrize(
    "first",
    [httpx.ReadTimeout("slow"), httpx.Response(500, json={"error": {"code": "unknown_error"}})],
    ids=["timeout", "500"],
)
def test_a_retried_upload_resends_the_same_body_on_the_same_key(
    client: Flora, api: respx.MockRouter, sleeps: list[float], first
) -> None:
    route = api.post("/assets").mock(
        side_effect=[first, httpx.Response(201, json=reservation_json())]
    )
    client.assets.create(workspace_id="ws_abc123", file=("photo.png", PNG, "image/png"))

    assert route.call_count == 2 and len(sleeps) == 1
    one, two = (call.request for call in route.calls)
    assert one.headers["Idempotency-Key"] == two.headers["Idempotency-Key"]
    assert multipart(one) == multipart(two)
    assert multipart(two)[1]["file"][1] == PNG


def test_a_duplicate_after_a_lost_answer_is_never_a_second_asset(
    client: Flora, api: respx.MockRouter
) -> None:
    duplicate = {"error": {"code": "idempotency_duplicate", "message": "Duplicate key."}}
    route = api.post("/assets").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(409, json=duplicate)]
    )
    with pytest.raises(IdempotencyDuplicateError):
        client.assets.create(workspace_id="ws_abc123", source="signed-url", idempotency_key="k1")
    assert route.call_count == 2
    assert {call.request.headers["Idempotency-Key"] for call in route.calls} == {"k1"}


def test_the_error_envelope_reaches_the_caller(client: Flora, api: respx.MockRouter) -> None:
    body = {
        "error": {
            "code": "input_validation_error",
            "message": "file: Unsupported type",
            "fields": [{"field": "file", "message": "Unsupported type"}],
        }
    }
    api.post("/assets").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(BadRequestError) as caught:
        client.assets.create(workspace_id="ws_abc123", file=b"hello")
    assert caught.value.fields == [{"field": "file", "message": "Unsupported type"}]


def test_retrieve_reads_an_asset(client: Flora, api: respx.MockRouter) -> None:
    api.get("/assets/asset_abc123").mock(return_value=httpx.Response(200, json=asset_json()))
    asset = client.assets.retrieve("asset_abc123")
    assert isinstance(asset, Asset) and asset.is_ready
    assert (asset.width, asset.height, asset.size_bytes) == (640, 480, 72)
    assert asset.created_at is not None and asset.created_at.isoformat().startswith("2026-12-02")


def test_retrieve_quotes_the_id(client: Flora, api: respx.MockRouter) -> None:
    route = api.get("/assets/a%2F..%2Fb").mock(return_value=httpx.Response(404, json={}))
    with pytest.raises(NotFoundError):
        client.assets.retrieve("a/../b")
    assert route.called


def test_list_pages_on_next_cursor_with_the_same_filters(
    client: Flora, api: respx.MockRouter
) -> None:
    first = {"assets": [asset_json("a1", created_at=1_767_225_600)], "meta": {"next_cursor": "c2"}}
    second = {"assets": [asset_json("a2", created_at=1_767_225_600_000)], "meta": {}}
    route = api.get("/assets").mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=second)]
    )

    page = client.assets.list(workspace_id="ws_abc123", query="cat", limit=1)
    assets = list(page)

    assert [a.asset_id for a in assets] == ["a1", "a2"]
    assert assets[0].created_at == assets[1].created_at
    assert assets[0].created_at is not None and assets[0].created_at.year == 2026
    params = [dict(call.request.url.params) for call in route.calls]
    assert params[0] == {"workspace_id": "ws_abc123", "query": "cat", "limit": "1"}
    assert params[1] == {**params[0], "cursor": "c2"}


@pytest.mark.parametrize("action", ["complete", "retry"])
def test_complete_and_retry_post_on_a_key(
    client: Flora, api: respx.MockRouter, action: str
) -> None:
    route = api.post(f"/assets/asset_big/{action}").mock(
        return_value=httpx.Response(200, json=signed_reservation_json())
    )
    reservation = getattr(client.assets, action)("asset_big", idempotency_key="k-9")
    assert reservation.asset_id == "asset_big"
    assert route.calls.last.request.headers["Idempotency-Key"] == "k-9"


def test_complete_is_retried_on_its_key_after_a_timeout(
    client: Flora, api: respx.MockRouter
) -> None:
    route = api.post("/assets/asset_big/complete").mock(
        side_effect=[httpx.ConnectTimeout("slow"), httpx.Response(200, json=reservation_json())]
    )
    client.assets.complete("asset_big")
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert route.call_count == 2 and len(keys) == 1
