"""Fixtures of the catalog tests."""

from __future__ import annotations

import pytest

from tests.runs.submit_helpers import Upstream, upstream_for_tests


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch, db) -> Upstream:
    """FLORA (the in-process sandbox) behind a transport that counts and can fail."""
    with upstream_for_tests(monkeypatch) as flora:
        yield flora
