from __future__ import annotations

import httpx
import pytest
import respx

from flora import CursorPage, Flora
from tests.flora.flora_payloads import run_list_item_json, technique_json


def _techniques_page(ids: list[str], next_cursor: str | None, **meta: object) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "techniques": [technique_json(i) for i in ids],
            "meta": {"next_cursor": next_cursor, **meta},
        },
    )


def _by_cursor(pages: dict[str | None, httpx.Response]) -> object:
    def respond(request: httpx.Request) -> httpx.Response:
        return pages[request.url.params.get("cursor")]

    return respond


def test_iterating_a_page_walks_all_three_pages(client: Flora, api: respx.MockRouter) -> None:
    route = api.get("/techniques").mock(
        side_effect=_by_cursor(
            {
                None: _techniques_page(["t1", "t2"], "c1", total_estimate=5),
                "c1": _techniques_page(["t3", "t4"], "c2"),
                "c2": _techniques_page(["t5"], None),
            }
        )
    )
    page = client.techniques.list(query="shoe", limit=2)
    assert [t.technique_id for t in page] == ["t1", "t2", "t3", "t4", "t5"]
    assert route.call_count == 3
    sent = [dict(call.request.url.params) for call in route.calls]
    assert sent == [
        {"query": "shoe", "limit": "2"},
        {"query": "shoe", "limit": "2", "cursor": "c1"},
        {"query": "shoe", "limit": "2", "cursor": "c2"},
    ]


def test_a_page_exposes_its_items_cursor_and_estimate(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques").mock(return_value=_techniques_page(["t1"], "c1", total_estimate=40))
    page = client.techniques.list()
    assert isinstance(page, CursorPage)
    assert [t.technique_id for t in page.items] == ["t1"]
    assert page.next_cursor == "c1"
    assert page.total_estimate == 40
    assert page.has_next_page()


def test_get_next_page_fetches_with_the_same_filters(client: Flora, api: respx.MockRouter) -> None:
    route = api.get("/technique-runs").mock(
        side_effect=[
            httpx.Response(
                200,
                json={"technique_runs": [run_list_item_json("r1")], "meta": {"next_cursor": "n"}},
            ),
            httpx.Response(200, json={"technique_runs": [run_list_item_json("r2")], "meta": {}}),
        ]
    )
    first = client.techniques.runs.list(status="failed", technique_id="tech_x")
    second = first.get_next_page()
    assert [r.run_id for r in second.items] == ["r2"]
    assert dict(route.calls.last.request.url.params) == {
        "status": "failed",
        "technique_id": "tech_x",
        "cursor": "n",
    }
    assert not second.has_next_page()


def test_the_last_page_has_no_next_page(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques").mock(return_value=_techniques_page(["t1"], None))
    page = client.techniques.list()
    assert not page.has_next_page()
    with pytest.raises(RuntimeError):
        page.get_next_page()


@pytest.mark.parametrize("meta", [{}, {"next_cursor": ""}, None])
def test_a_missing_or_empty_cursor_means_one_page(
    client: Flora, api: respx.MockRouter, meta: dict[str, object] | None
) -> None:
    body: dict[str, object] = {"techniques": [technique_json("t1")]}
    if meta is not None:
        body["meta"] = meta
    route = api.get("/techniques").respond(json=body)
    assert [t.technique_id for t in client.techniques.list()] == ["t1"]
    assert route.call_count == 1


def test_a_cursor_repeated_by_the_server_does_not_loop(
    client: Flora, api: respx.MockRouter
) -> None:
    route = api.get("/techniques").mock(
        side_effect=_by_cursor(
            {None: _techniques_page(["t1"], "same"), "same": _techniques_page(["t2"], "same")}
        )
    )
    first = client.techniques.list()
    second = first.get_next_page()
    assert not second.has_next_page()
    assert [t.technique_id for t in first] == ["t1", "t2"]
    assert route.call_count == 3  # get_next_page above, then the walk's own two fetches


def test_a_cursor_cycle_stops_the_walk(client: Flora, api: respx.MockRouter) -> None:
    route = api.get("/techniques").mock(
        side_effect=_by_cursor(
            {
                None: _techniques_page(["t1"], "a"),
                "a": _techniques_page(["t2"], "b"),
                "b": _techniques_page(["t3"], "a"),
            }
        )
    )
    assert [t.technique_id for t in client.techniques.list()] == ["t1", "t2", "t3"]
    assert route.call_count == 3


def test_a_first_page_fetched_with_a_cursor_that_comes_back(
    client: Flora, api: respx.MockRouter
) -> None:
    api.get("/techniques").mock(return_value=_techniques_page(["t1"], "c9"))
    page = client.techniques.list(cursor="c9")
    assert not page.has_next_page()
    assert [t.technique_id for t in page] == ["t1"]


def test_iter_pages_yields_each_page(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques").mock(
        side_effect=_by_cursor(
            {None: _techniques_page(["t1", "t2"], "c1"), "c1": _techniques_page(["t3"], None)}
        )
    )
    pages = list(client.techniques.list().iter_pages())
    assert [len(p.items) for p in pages] == [2, 1]


def test_camel_case_meta_is_understood(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques").respond(
        json={"techniques": [], "meta": {"nextCursor": "c1", "totalEstimate": 3}}
    )
    page = client.techniques.list()
    assert page.next_cursor == "c1"
    assert page.total_estimate == 3


def test_repr_is_short(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques").mock(return_value=_techniques_page(["t1"], "c1"))
    assert repr(client.techniques.list()) == (
        "CursorPage(items=1, next_cursor='c1', total_estimate=None)"
    )
