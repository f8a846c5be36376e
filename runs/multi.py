"""One run form asking for several runs (an `allow_multiple` input with several values).

The batches app, above runs, registers how such a form becomes a batch (batches.apps); the
run form's view hands the plan over instead of starting the runs itself. Without a
registered maker (runs used alone) the runs start from the request as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

__all__ = ["BatchMaker", "batch_maker", "register_batch_maker"]

# (request, technique, workspace_id, intent_key, plan) -> the response (the batch's page).
BatchMaker = Callable[[HttpRequest, Any, str, str, list[list[dict[str, str]]]], HttpResponse]

_makers: list[BatchMaker] = []


def register_batch_maker(maker: BatchMaker) -> None:
    _makers.append(maker)


def batch_maker() -> BatchMaker | None:
    return _makers[-1] if _makers else None
