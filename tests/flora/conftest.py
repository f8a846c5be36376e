"""Fixtures for the flora client tests: a client on a fake base URL, respx, no sleeping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from flora import Flora
from tests.flora.flora_payloads import API_KEY, BASE_URL


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[Flora]:
    with Flora(api_key=API_KEY, base_url=BASE_URL) as flora_client:
        flora_client._sleep = sleeps.append
        yield flora_client


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router
