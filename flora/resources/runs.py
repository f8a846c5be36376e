from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from .._base import APIResource, path_segment
from .._models import Run, RunInput, RunListItem, RunStatus
from ..pagination import CursorPage


class Runs(APIResource):
    """Technique runs: `client.techniques.runs`."""

    def create(
        self,
        technique_id: str,
        *,
        inputs: Iterable[RunInput | Mapping[str, Any]],
        mode: Literal["async", "stream"] = "async",
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """POST /techniques/{technique_id}/runs: start a run.

        Pass `idempotency_key` (one per user intent, e.g. per form submission) so a
        repeated submission is recognised by FLORA; without one, a key is generated for
        this call and reused across its retries. A key FLORA has already seen raises
        IdempotencyDuplicateError: the run was submitted before, do not submit again.

        Inputs may be RunInput models or dicts; a malformed input raises
        pydantic.ValidationError (a ValueError) before anything is sent.
        """
        body: dict[str, Any] = {
            "inputs": [RunInput.model_validate(item).model_dump(mode="json") for item in inputs],
            "mode": mode,
        }
        if callback_url is not None:
            body["callback_url"] = callback_url
        return self._client._post(
            f"/techniques/{path_segment(technique_id)}/runs",
            cast_to=Run,
            body=body,
            idempotency_key=idempotency_key,
        )

    def retrieve(self, run_id: str, *, technique_id: str) -> Run:
        """GET /techniques/{technique_id}/runs/{run_id}: status, progress and outputs."""
        path = f"/techniques/{path_segment(technique_id)}/runs/{path_segment(run_id)}"
        return self._client._get(path, cast_to=Run)

    def list(
        self,
        *,
        workspace_id: str | None = None,
        project_id: str | None = None,
        technique_id: str | None = None,
        status: RunStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> CursorPage[RunListItem]:
        """GET /technique-runs: run history, newest first, optionally filtered."""
        params = {
            "workspace_id": workspace_id,
            "project_id": project_id,
            "technique_id": technique_id,
            "status": status,
            "limit": limit,
            "cursor": cursor,
        }
        return self._client._get_page(
            "/technique-runs", key="technique_runs", model=RunListItem, params=params
        )
