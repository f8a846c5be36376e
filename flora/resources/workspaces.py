from __future__ import annotations

from .._base import APIResource
from .._models import Workspace


class Workspaces(APIResource):
    def list(self) -> list[Workspace]:
        """GET /workspaces: the workspaces the API key can see (not paginated)."""
        return self._client._get_list("/workspaces", key="workspaces", model=Workspace)
