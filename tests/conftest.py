"""Fixtures shared by the whole suite.

App-specific fixtures live in tests/<app>/conftest.py; the cast of users and teams (alice,
bob, carol, dave) lives here because every app's tests use it.
"""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _isolated_cache(settings: object) -> None:
    """Give every test its own cache namespace.

    The database cache is rolled back with each test's transaction, but Redis (the CI run on
    PostgreSQL) is shared, so each test gets a key prefix of its own instead of a flush.
    """
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    for conf in caches.values():
        conf["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches
