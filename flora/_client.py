from __future__ import annotations

import os
from types import TracebackType

import httpx

from ._base import (
    DEFAULT_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Gate,
    SyncAPIClient,
)
from ._errors import FloraError
from .resources import Assets, Techniques, Workspaces

__all__ = ["Flora"]


class _Unset:
    """Marks an option not given to with_options() (None is a value there: no deadline)."""


_UNSET = _Unset()


class Flora(SyncAPIClient):
    """Client for FLORA's public API.

    >>> with Flora(api_key="sk_live_...") as client:
    ...     page = client.techniques.list(query="product")

    `api_key` falls back to $FLORA_API_KEY and `base_url` to $FLORA_BASE_URL. Pass
    `http_client` to control transport details (tests use httpx.WSGITransport); a
    client passed in is left open for its owner to close. Give it a DeadlineTransport so
    that `deadline` is enforced on the socket, not only between chunks.

    `timeout` bounds each network operation; `deadline` bounds a whole call, retries
    included (None: unbounded); bodies over `max_response_bytes` are refused with
    APIResponseValidationError. `with_options()` returns a copy with other values, sharing
    the connection pool.
    """

    assets: Assets
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
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        gate: Gate | None = None,
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
            deadline=deadline,
            max_response_bytes=max_response_bytes,
            gate=gate,
        )
        self.assets = Assets(self)
        self.techniques = Techniques(self)
        self.workspaces = Workspaces(self)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        deadline: float | None | _Unset = _UNSET,
        max_response_bytes: int | None = None,
    ) -> Flora:
        """A copy of this client with some options changed; it shares the HTTP client (and
        never closes it), so copies are cheap. The original is left as it was."""
        copy = Flora(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            http_client=self._http,
            deadline=self.deadline if isinstance(deadline, _Unset) else deadline,
            max_response_bytes=max_response_bytes or self.max_response_bytes,
            gate=self._gate,
        )
        copy._sleep = self._sleep
        return copy

    def __enter__(self) -> Flora:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
