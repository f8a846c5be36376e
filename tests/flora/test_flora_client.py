from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
import respx

import flora
from flora import Flora, FloraError, RunInput
from tests.flora.flora_payloads import (
    API_KEY,
    BASE_URL,
    run_json,
    run_list_item_json,
    technique_json,
)


def test_it_requires_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLORA_API_KEY", raising=False)
    with pytest.raises(FloraError, match="FLORA_API_KEY"):
        Flora()


def test_it_reads_key_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLORA_API_KEY", "sk_live_from_env_0123456789abcdef")
    monkeypatch.setenv("FLORA_BASE_URL", "https://env.flora.test/api/v1/")
    with respx.mock() as router:
        route = router.get("https://env.flora.test/api/v1/workspaces").respond(
            json={"workspaces": []}
        )
        with Flora() as client:
            assert client.base_url == "https://env.flora.test/api/v1"
            client.workspaces.list()
    assert route.calls.last.request.headers["authorization"] == (
        "Bearer sk_live_from_env_0123456789abcdef"
    )


def test_it_defaults_to_the_public_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLORA_BASE_URL", raising=False)
    with Flora(api_key=API_KEY) as client:
        assert client.base_url == "https://app.flora.ai/api/v1"


def test_it_sends_auth_accept_and_user_agent(client: Flora, api: respx.MockRouter) -> None:
    route = api.get("/workspaces").respond(json={"workspaces": []})
    client.workspaces.list()
    headers = route.calls.last.request.headers
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["accept"] == "application/json"
    expected_agent = f"florasite/{flora.__version__} (python-httpx/{httpx.__version__})"
    assert headers["user-agent"] == expected_agent


def test_version_is_exposed() -> None:
    assert flora.__version__ == "0.1.0"


def test_repr_shows_base_url_and_a_masked_key_only(client: Flora) -> None:
    text = repr(client)
    assert BASE_URL in text
    assert API_KEY not in text
    assert API_KEY[8:-4] not in text
    assert "sk_live_…wxyz" in text


def test_repr_of_a_short_key_shows_nothing_of_it() -> None:
    with Flora(api_key="short_secret_key", base_url=BASE_URL) as client:
        assert "short" not in repr(client)
        assert "secret" not in repr(client)


def test_the_key_is_not_a_public_attribute(client: Flora) -> None:
    public = {name: value for name, value in vars(client).items() if not name.startswith("_")}
    assert API_KEY not in repr(public)


def test_context_manager_closes_the_client_it_owns() -> None:
    with Flora(api_key=API_KEY, base_url=BASE_URL) as client:
        http = client._http
    assert http.is_closed


def test_it_leaves_a_passed_http_client_open() -> None:
    http = httpx.Client()
    with Flora(api_key=API_KEY, base_url=BASE_URL, http_client=http):
        pass
    assert not http.is_closed
    http.close()


def _wsgi_app(seen: list[dict[str, Any]]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append(environ)
        body = json.dumps(technique_json(environ["PATH_INFO"].rsplit("/", 1)[-1])).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("request-id", "req_wsgi")])
        return [body]

    return app


def test_it_talks_to_a_wsgi_app_through_a_passed_client() -> None:
    seen: list[dict[str, Any]] = []
    http = httpx.Client(transport=httpx.WSGITransport(app=_wsgi_app(seen)))
    with Flora(api_key=API_KEY, base_url="http://sandbox/api/v1", http_client=http) as client:
        technique = client.techniques.retrieve("tech_book-drop")
    assert technique.technique_id == "tech_book-drop"
    assert seen[0]["PATH_INFO"] == "/api/v1/techniques/tech_book-drop"
    assert seen[0]["HTTP_AUTHORIZATION"] == f"Bearer {API_KEY}"
    http.close()


def test_techniques_list_omits_unset_params(client: Flora, api: respx.MockRouter) -> None:
    route = api.get("/techniques").respond(json={"techniques": [], "meta": {}})
    client.techniques.list()
    assert route.calls.last.request.url.query == b""


def test_techniques_list_sends_filters(client: Flora, api: respx.MockRouter) -> None:
    route = api.get("/techniques").respond(
        json={"techniques": [technique_json()], "meta": {"next_cursor": None}}
    )
    page = client.techniques.list(query="book cover", workspace_id="ws_1", limit=5, cursor="c0")
    params = dict(route.calls.last.request.url.params)
    assert params == {"query": "book cover", "workspace_id": "ws_1", "limit": "5", "cursor": "c0"}
    assert [t.technique_id for t in page.items] == ["tech_abcd1234"]


def test_techniques_retrieve(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/tech_abcd1234").respond(json=technique_json())
    technique = client.techniques.retrieve("tech_abcd1234")
    assert technique.name == "Editorial Image Grid"
    assert technique.run_cost == 0.25
    assert technique.inputs[0].type == "text"


@pytest.mark.parametrize(
    ("technique_id", "raw_path"),
    [
        ("a/b", "/api/v1/techniques/a%2Fb"),
        ("x y?z#w", "/api/v1/techniques/x%20y%3Fz%23w"),
        ("tech_é", "/api/v1/techniques/tech_%C3%A9"),
    ],
)
def test_ids_are_url_quoted(
    client: Flora, api: respx.MockRouter, technique_id: str, raw_path: str
) -> None:
    route = api.get(url__regex=r".*").respond(json=technique_json(technique_id))
    client.techniques.retrieve(technique_id)
    assert route.calls.last.request.url.raw_path == raw_path.encode()


def test_run_retrieve_quotes_both_ids(client: Flora, api: respx.MockRouter) -> None:
    route = api.get(url__regex=r".*").respond(json=run_json())
    client.techniques.runs.retrieve("run/1", technique_id="tech/../x")
    assert route.calls.last.request.url.raw_path == (
        b"/api/v1/techniques/tech%2F..%2Fx/runs/run%2F1"
    )


@pytest.mark.parametrize("bad_id", ["", ".", ".."])
def test_ids_that_would_change_the_path_are_refused(client: Flora, bad_id: str) -> None:
    with pytest.raises(ValueError):
        client.techniques.retrieve(bad_id)


def test_runs_create_sends_inputs_mode_and_callback(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/techniques/tech_abcd1234/runs").respond(201, json=run_json())
    run = client.techniques.runs.create(
        "tech_abcd1234",
        inputs=[
            {"id": "prompt", "type": "text", "value": "a red chair"},
            RunInput(id="photo", type="imageUrl", value="https://example.com/chair.png"),
        ],
        callback_url="https://dash.example.com/hooks/flora",
        idempotency_key="intent-42",
    )
    assert run.run_id == "run_abc123"
    assert json.loads(route.calls.last.request.content) == {
        "inputs": [
            {"id": "prompt", "type": "text", "value": "a red chair"},
            {"id": "photo", "type": "imageUrl", "value": "https://example.com/chair.png"},
        ],
        "mode": "async",
        "callback_url": "https://dash.example.com/hooks/flora",
        "idempotency_key": "intent-42",
    }
    assert route.calls.last.request.headers["idempotency-key"] == "intent-42"
    assert route.calls.last.request.headers["content-type"] == "application/json"


def test_runs_create_leaves_out_an_unset_callback_url(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/techniques/t/runs").respond(json=run_json())
    client.techniques.runs.create("t", inputs=[])
    assert "callback_url" not in json.loads(route.calls.last.request.content)


@pytest.mark.parametrize(
    "bad_input",
    [
        {"id": "a", "type": "audioUrl", "value": "https://x/a.mp3"},
        {"id": "a", "type": "text"},
        {"id": "a", "type": "text", "value": "v", "vaule": "typo"},
    ],
)
def test_runs_create_refuses_bad_inputs_before_sending(
    client: Flora, api: respx.MockRouter, bad_input: dict[str, str]
) -> None:
    route = api.post("/techniques/t/runs").respond(json=run_json())
    with pytest.raises(ValueError):
        client.techniques.runs.create("t", inputs=[bad_input])
    assert not route.called


def test_runs_create_generates_one_key_for_header_and_body(
    client: Flora, api: respx.MockRouter
) -> None:
    route = api.post("/techniques/t/runs").respond(json=run_json())
    client.techniques.runs.create("t", inputs=[])
    request = route.calls.last.request
    key = request.headers["idempotency-key"]
    assert key.startswith("florasite-")
    uuid.UUID(key.removeprefix("florasite-"))
    assert json.loads(request.content)["idempotency_key"] == key


def test_each_create_call_gets_its_own_key(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/techniques/t/runs").respond(json=run_json())
    client.techniques.runs.create("t", inputs=[])
    client.techniques.runs.create("t", inputs=[])
    first, second = (call.request.headers["idempotency-key"] for call in route.calls)
    assert first != second


def test_runs_retrieve(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/tech_abcd1234/runs/run_abc123").respond(
        json=run_json(
            status="completed",
            progress=1,
            outputs=[{"output_id": "o1", "type": "imageUrl", "url": "https://m.flora.ai/1.png"}],
        )
    )
    run = client.techniques.runs.retrieve("run_abc123", technique_id="tech_abcd1234")
    assert run.status == "completed"
    assert run.is_terminal
    assert run.outputs is not None
    assert run.outputs[0].url == "https://m.flora.ai/1.png"


def test_runs_list_sends_filters_and_reads_the_envelope(
    client: Flora, api: respx.MockRouter
) -> None:
    route = api.get("/technique-runs").respond(
        json={
            "technique_runs": [run_list_item_json()],
            "meta": {"next_cursor": None, "total_estimate": 1},
        }
    )
    page = client.techniques.runs.list(workspace_id="ws_abc123", status="completed", limit=10)
    assert dict(route.calls.last.request.url.params) == {
        "workspace_id": "ws_abc123",
        "status": "completed",
        "limit": "10",
    }
    assert page.items[0].technique.technique_id == "tech_abcd1234"
    assert page.total_estimate == 1


def test_workspaces_list(client: Flora, api: respx.MockRouter) -> None:
    api.get("/workspaces").respond(
        json={
            "workspaces": [
                {"workspace_id": "ws_1", "name": "Studio", "role": "owner", "created_at": 1.7e12},
                {"workspace_id": "ws_2", "name": "Agency", "role": "member", "created_at": None},
            ]
        }
    )
    workspaces = client.workspaces.list()
    assert [w.workspace_id for w in workspaces] == ["ws_1", "ws_2"]
    assert workspaces[1].created_datetime is None


def test_the_key_never_reaches_the_logs(
    client: Flora, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/workspaces").respond(500, json={"error": {"code": "unknown_error", "message": "x"}})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(flora.InternalServerError) as excinfo:
        client.workspaces.list()
    assert caplog.records
    assert API_KEY not in caplog.text
    assert API_KEY not in str(excinfo.value)
    assert API_KEY not in repr(excinfo.value)
