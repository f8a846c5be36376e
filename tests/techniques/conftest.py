"""What only the catalog tests use: `big_flora`, a FLORA with as many techniques as a test
asks for, served in cursor pages (the sandbox's catalog fits in one page of 100)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest


def technique(number: int, *, name: str = "", makes: str = "imageUrl", **fields) -> dict:
    """A technique as FLORA lists it: one text input, one output of type `makes`."""
    return {
        "technique_id": f"tech_{number:04d}",
        "name": name or f"Technique {number:04d}",
        "description": fields.pop("description", f"Number {number}."),
        "run_cost": fields.pop("run_cost", 0.1),
        "inputs": [{"id": "prompt", "name": "Prompt", "type": "text"}],
        "outputs": [{"id": "out", "name": "Output", "type": makes}],
        **fields,
    }


class BigFlora:
    """Cursor pages of each key's techniques (`catalogs[api_key]`), counting every request.

    `fail_at` makes the request for that page (1-based) answer 503 instead."""

    def __init__(self) -> None:
        self.catalogs: dict[str, list[dict]] = {}
        self.requests: list[httpx.Request] = []
        self.fail_at: int | None = None

    def lists(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/techniques")]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = request.headers["authorization"].removeprefix("Bearer ")
        items = self.catalogs.get(key, [])
        limit = int(request.url.params.get("limit", "10"))
        offset = int(request.url.params.get("cursor", "0"))
        if self.fail_at is not None and offset // limit + 1 == self.fail_at:
            error = {"error": {"code": "service_unavailable", "message": "Down."}}
            return httpx.Response(503, json=error, headers={"request-id": "req_big_503"})
        end = offset + limit
        body = {
            "techniques": items[offset:end],
            "meta": {"next_cursor": str(end) if end < len(items) else None},
        }
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"request-id": "req_big"}
        )


@pytest.fixture
def big_flora(monkeypatch: pytest.MonkeyPatch, db) -> Iterator[BigFlora]:
    """FLORA for every team (team A's key sk_sandbox_demo, team B's sk_sandbox_other)."""
    flora = BigFlora()
    client = httpx.Client(transport=httpx.MockTransport(flora.handler))
    monkeypatch.setattr("teams.services.get_http_client", lambda: client)
    yield flora
    client.close()
