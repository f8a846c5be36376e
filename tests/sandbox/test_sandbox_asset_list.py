"""GET /assets: newest first, filters, search, a stable cursor (list key `assets`)."""

from __future__ import annotations

from tests.sandbox.asset_helpers import image, post_file
from tests.sandbox.sandbox_helpers import validation_fields


def _upload(api, name: str, **fields) -> str:
    response = post_file(api, image("PNG"), name, **fields)
    assert response.status_code == 201, response.json()
    return response.json()["asset_id"]


def test_pages_follow_next_cursor_newest_first(api, clock):
    ids = [_upload(api, f"shot-{n}.png") for n in range(5)]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get("/assets", **params).json()
        seen += [item["asset_id"] for item in body["assets"]]
        assert body["meta"]["total_estimate"] == 5
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_a_new_upload_does_not_shift_the_next_page(api, clock):
    ids = [_upload(api, f"s{n}.png") for n in range(3)]
    first = api.get("/assets", limit=2).json()
    _upload(api, "late.png")
    second = api.get("/assets", limit=2, cursor=first["meta"]["next_cursor"]).json()
    assert [a["asset_id"] for a in second["assets"]] == [ids[0]]


def test_list_items_have_the_sdk_shape(api, clock):
    _upload(api, "cat.png", project_id="prj_demo_social")
    item = api.get("/assets").json()["assets"][0]
    assert item["created_at"] == 1_790_000_000
    assert item["project_id"] == "prj_demo_social" and item["node_id"] is None
    assert item["content_type"] == "image/png" and item["status"] == "ready"
    assert item["url"].endswith("/cat.png")
    assert "data" not in item


def test_filters_by_workspace_project_and_query(api, clock):
    cat = _upload(api, "Cat portrait.png", project_id="prj_demo_social")
    dog = _upload(api, "dog.png", folder="Portraits")
    brand = _upload(api, "logo.png", workspace_id="ws_brand")

    def ids(**params) -> list[str]:
        return [a["asset_id"] for a in api.get("/assets", **params).json()["assets"]]

    assert ids(workspace_id="ws_brand") == [brand]
    assert ids(project_id="prj_demo_social") == [cat]
    assert ids(query="PORTRAIT") == [dog, cat]
    assert ids(query="cat portrait") == [cat]
    assert ids(query="nothing") == []
    assert set(ids()) == {cat, dog, brand}


def test_another_customers_workspace_is_forbidden(api):
    response = api.get("/assets", workspace_id="ws_other")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_bad_limit_and_cursor(api):
    assert "limit" in validation_fields(api.get("/assets", limit=0))
    assert "cursor" in validation_fields(api.get("/assets", cursor="!!"))


def test_an_expired_reservation_lists_as_failed(api, clock):
    api.post("/assets", {"workspace_id": "ws_demo", "source": "signed-url"})
    assert api.get("/assets").json()["assets"][0]["status"] == "pending_upload"
    clock.advance(3601)
    item = api.get("/assets").json()["assets"][0]
    assert item["status"] == "failed" and "expired" in item["failure_message"]


def test_put_is_not_allowed(api):
    response = api.client.put("/sandbox/api/v1/assets", headers={"Authorization": "Bearer x"})
    assert response.status_code == 405
