"""The sandbox's fixed API keys, workspaces and projects (documented in sandbox/README.md).

Keys are constants rather than database rows: a new user can start with `sk_sandbox_demo`
straight away, and tests elsewhere in the project can rely on the same cast.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from sandbox.errors import ApiError


@dataclass(frozen=True)
class Workspace:
    workspace_id: str
    name: str
    role: str
    created_at: int
    # Project ids, the first being the default for runs that name none.
    projects: tuple[str, ...]
    webhook_secret: str
    # Techniques marked brand_only in the catalog are visible here only.
    has_brand_techniques: bool = False

    def to_api(self) -> dict:
        return {
            "workspace_id": self.workspace_id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ApiKey:
    key: str
    workspaces: tuple[Workspace, ...]
    # Starting a run answers 402 insufficient_credits.
    broke: bool = False
    # More than RATE_LIMIT requests within a second answer 429 rate_limited.
    limited: bool = False

    @property
    def workspace_ids(self) -> list[str]:
        return [ws.workspace_id for ws in self.workspaces]

    def workspace(self, workspace_id: str) -> Workspace | None:
        return next((ws for ws in self.workspaces if ws.workspace_id == workspace_id), None)

    def project_workspace(self, project_id: str) -> Workspace | None:
        return next((ws for ws in self.workspaces if project_id in ws.projects), None)


WS_DEMO = Workspace(
    workspace_id="ws_demo",
    name="Demo Studio",
    role="owner",
    created_at=1767225600,  # 2026-01-01
    projects=("prj_demo_campaign", "prj_demo_social"),
    webhook_secret="whsec_sandbox_demo",
)
WS_BRAND = Workspace(
    workspace_id="ws_brand",
    name="Brand Team",
    role="member",
    created_at=1768435200,  # 2026-01-15
    projects=("prj_brand_guidelines", "prj_brand_launch"),
    webhook_secret="whsec_sandbox_demo",
    has_brand_techniques=True,
)
WS_OTHER = Workspace(
    workspace_id="ws_other",
    name="Other Customer",
    role="owner",
    created_at=1769904000,  # 2026-02-01
    projects=("prj_other_main", "prj_other_archive"),
    webhook_secret="whsec_sandbox_other",
)

KEYS: dict[str, ApiKey] = {
    key.key: key
    for key in (
        ApiKey("sk_sandbox_demo", (WS_DEMO, WS_BRAND)),
        ApiKey("sk_sandbox_other", (WS_OTHER,)),
        ApiKey("sk_sandbox_broke", (WS_DEMO, WS_BRAND), broke=True),
        ApiKey("sk_sandbox_limited", (WS_DEMO, WS_BRAND), limited=True),
    )
}
WORKSPACES: dict[str, Workspace] = {ws.workspace_id: ws for ws in (WS_DEMO, WS_BRAND, WS_OTHER)}


def authenticate(request: HttpRequest) -> ApiKey:
    """The key named by `Authorization: Bearer <key>`, or 401 unauthorized."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if not header:
        raise ApiError(401, "unauthorized", "Missing API key: send Authorization: Bearer <key>.")
    key = KEYS.get(token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise ApiError(401, "unauthorized", "Invalid API key.")
    return key


def visible_workspace(key: ApiKey, workspace_id: str) -> Workspace:
    """The key's workspace with this id, or 403 forbidden."""
    workspace = key.workspace(workspace_id)
    if workspace is None:
        raise ApiError(403, "forbidden", f"This API key cannot access workspace {workspace_id}.")
    return workspace
