"""A stand-in for FLORA's assets resource (`client.assets`), where the sandbox's is not
needed: it records what was sent and answers a ready (or failed) asset."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace


@dataclass
class FakeAssets:
    calls: list[dict] = field(default_factory=list)
    fail_with: Exception | None = None
    status: str = "ready"
    failure_message: str | None = None

    def upload(self, data: bytes, **kwargs):
        self.calls.append({"data": data, **kwargs})
        if self.fail_with is not None:
            raise self.fail_with
        number = len(self.calls)
        return SimpleNamespace(
            asset_id=f"asset_fake_{number}",
            status=self.status,
            url=f"https://assets.example/fake/{number}.bin" if self.status == "ready" else None,
            failure_message=self.failure_message,
        )
