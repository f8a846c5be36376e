"""A stand-in for FLORA's assets resource (`client.assets`), where the sandbox's is not
needed: it records what was sent and answers as the real client does (a ready asset, or
AssetFailedError, or whatever error the test sets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from flora import AssetFailedError


@dataclass
class FakeAssets:
    calls: list[dict] = field(default_factory=list)
    fail_with: Exception | None = None
    status: str = "ready"
    failure_message: str | None = None
    made: dict[str, SimpleNamespace] = field(default_factory=dict)

    def upload(self, data: bytes, **kwargs):
        self.calls.append({"data": data, **kwargs})
        if self.fail_with is not None:
            raise self.fail_with
        number = len(self.calls)
        asset_id = f"asset_fake_{number}"
        if self.status == "failed":
            raise AssetFailedError(asset_id, self.failure_message)
        asset = SimpleNamespace(
            asset_id=asset_id,
            status=self.status,
            name=kwargs.get("file_name"),
            url=f"https://assets.example/fake/{number}.bin",
            failure_message=None,
        )
        self.made[asset_id] = asset
        return asset

    def retrieve(self, asset_id: str):
        return self.made[asset_id]

    def list(self, **params):
        query = params.get("query") or ""
        return SimpleNamespace(items=[a for a in self.made.values() if query in (a.name or "")])
