"""Fixtures for the sandbox's contract tests: a frozen clock and a small API client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django_tasks import default_task_backend

from tests.sandbox.sandbox_helpers import SandboxClient


@pytest.fixture
def api(client: Client, db: None) -> SandboxClient:
    return SandboxClient(client)


@pytest.fixture
def task_results() -> Iterator[list]:
    """Tasks enqueued on the dummy backend during the test."""
    default_task_backend.clear()
    yield default_task_backend.results
    default_task_backend.clear()
