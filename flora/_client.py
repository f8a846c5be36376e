from __future__ import annotations

import os
from types import TracebackType

import httpx

from ._base import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, SyncAPIClient
from ._errors import FloraError
from .resources import Techniques, Workspaces

__all__ = ["Flora"]


class Flora(SyncAPIClient):
    """Client for FLORA's public API.

    >>> with Flora(api_key="sk_live_...") as client:
    ...     page = client.techniques.list(query="product")

    `api_key` falls back to $FLORA_API_KEY and `base_url` to $FLORA_BASE_URL. Pass
    `http_client` to control transport details (tests use httpx.WSGITransport); a
    client passed in is left open for its owner to close.
    """

    techniques: Techniques
    workspaces: Workspaces

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        api_key = api_key or os.environ.get("FLORA_API_KEY")
        if not api_key:
            raise FloraError(
                "No FLORA API key: pass api_key=... or set the FLORA_API_KEY environment variable."
            )
        super().__init__(
            api_key=api_key,
            base_url=base_url or os.environ.get("FLORA_BASE_URL") or DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )
        self.techniques = Techniques(self)
        self.workspaces = Workspaces(self)

    def __enter__(self) -> Flora:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
