"""The flora client and the sandbox, talking in-process: each checks the other."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

import flora
from sandbox import stats, webhooks
from sandbox.testing import wsgi_transport

HOOK = "https://hooks.example.com/flora"


@pytest.fixture
def client(db: None) -> Iterator[flora.Flora]:
    with (
        wsgi_transport() as transport,
        httpx.Client(transport=transport) as http_client,
        flora.Flora(
            api_key="sk_sandbox_demo",
            base_url="http://testserver/sandbox/api/v1",
            http_client=http_client,
        ) as flora_client,
    ):
        flora_client._sleep = lambda seconds: None
        yield flora_client


def test_the_client_drives_a_run_from_catalog_to_webhook(client, clock):
    techniques = list(client.techniques.list(limit=10))
    assert len(techniques) == 38
    assert all(isinstance(t, flora.Technique) for t in techniques)
    tarot = client.techniques.retrieve("tarot-pull")
    assert tarot.technique_id == "tech_tarot-pull"
    assert [w.workspace_id for w in client.workspaces.list()] == ["ws_demo", "ws_brand"]

    run = client.techniques.runs.create(
        tarot.technique_id,
        inputs=[{"id": "question", "type": "text", "value": "Will the launch go well?"}],
        callback_url=HOOK,
        idempotency_key="intent-e2e",
    )
    assert run.status == "pending"
    seen = [run.status]
    while not run.is_terminal:
        clock.advance(2)  # FLORA suggests polling every 2-5 s; the clock moves instead of us
        run = client.techniques.runs.retrieve(run.run_id, technique_id=tarot.technique_id)
        seen.append(run.status)
    assert seen[0] == "pending" and "running" in seen and seen[-1] == "completed"
    assert run.charged_cost == tarot.run_cost
    assert {output.type for output in run.outputs} == {"imageUrl", "text"}

    history = client.techniques.runs.list(technique_id="tarot-pull", status="completed")
    assert [item.run_id for item in history] == [run.run_id]
    assert history.items[0].technique.name == "Tarot Pull"

    with pytest.raises(flora.IdempotencyDuplicateError):
        client.techniques.runs.create(
            tarot.technique_id,
            inputs=[{"id": "question", "type": "text", "value": "Will the launch go well?"}],
            callback_url=HOOK,
            idempotency_key="intent-e2e",
        )
    assert stats.create_calls("sk_sandbox_demo") == 2
    assert stats.runs_created("sk_sandbox_demo") == 1

    with respx.mock(assert_all_called=True) as receiver:
        route = receiver.post(HOOK).respond(204)
        assert webhooks.deliver(run.run_id) == "delivered"
    request = route.calls.last.request
    event = flora.webhooks.verify(
        request.content, request.headers, ["whsec_sandbox_demo"], now=clock.now()
    )
    assert (event.type, event.data.run_id, event.data.status) == (
        "run.completed",
        run.run_id,
        "completed",
    )


def test_the_client_maps_the_sandboxs_errors(client, clock):
    with pytest.raises(flora.NotFoundError) as not_found:
        client.techniques.retrieve("tech_nope")
    assert not_found.value.request_id.startswith("req_")

    with pytest.raises(flora.BadRequestError) as invalid:
        client.techniques.runs.create("tech_tarot-pull", inputs=[])
    assert [f["field"] for f in invalid.value.fields] == ["question"]

    with pytest.raises(flora.PermissionDeniedError):
        client.techniques.list(workspace_id="ws_other")


def test_the_client_sees_the_broke_and_limited_keys(db, clock):
    with wsgi_transport() as transport, httpx.Client(transport=transport) as http_client:
        broke = flora.Flora(
            api_key="sk_sandbox_broke",
            base_url="http://testserver/sandbox/api/v1",
            http_client=http_client,
        )
        with pytest.raises(flora.InsufficientCreditsError):
            broke.techniques.runs.create(
                "tech_tarot-pull", inputs=[{"id": "question", "type": "text", "value": "?"}]
            )

        limited = flora.Flora(
            api_key="sk_sandbox_limited",
            base_url="http://testserver/sandbox/api/v1",
            http_client=http_client,
            max_retries=0,
        )
        for _ in range(5):
            limited.workspaces.list()
        with pytest.raises(flora.RateLimitError):
            limited.workspaces.list()

        unknown = flora.Flora(
            api_key="sk_live_unknown",
            base_url="http://testserver/sandbox/api/v1",
            http_client=http_client,
        )
        with pytest.raises(flora.AuthenticationError):
            unknown.workspaces.list()
