from __future__ import annotations

from .._base import APIResource, SyncAPIClient, path_segment
from .._models import Technique
from ..pagination import CursorPage
from .runs import Runs


class Techniques(APIResource):
    """The technique catalog; runs of a technique hang off `techniques.runs`."""

    def __init__(self, client: SyncAPIClient) -> None:
        super().__init__(client)
        self.runs = Runs(client)

    def list(
        self,
        *,
        query: str | None = None,
        workspace_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> CursorPage[Technique]:
        """GET /techniques: techniques visible to the key, optionally searched/filtered."""
        params = {"query": query, "workspace_id": workspace_id, "limit": limit, "cursor": cursor}
        return self._client._get_page(
            "/techniques", key="techniques", model=Technique, params=params
        )

    def retrieve(self, technique_id: str) -> Technique:
        """GET /techniques/{technique_id}: one technique with its input/output schema."""
        return self._client._get(f"/techniques/{path_segment(technique_id)}", cast_to=Technique)
