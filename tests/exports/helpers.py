"""Helpers of the exports tests: ask for an export as the Runs page's button does, and run
the worker's task as the worker would (tests call task functions directly)."""

from __future__ import annotations

import csv
import io

from django.core.files.storage import default_storage

from exports import services
from exports.models import Export


def ask(client, query: str = "", intent: str = "intent-1", **headers: str):
    return client.post("/exports/new", {"query": query, "intent": intent}, headers=headers)


def export_made(client, query: str = "", intent: str = "intent-1") -> Export:
    response = ask(client, query, intent)
    assert response.status_code == 302, response.content
    return Export.objects.get(intent_key=intent)


def built(export: Export) -> Export:
    assert services.build(export.pk) == "ready"
    export.refresh_from_db()
    return export


def stored_text(export: Export) -> str:
    with default_storage.open(export.file.name, "rb") as handle:
        return handle.read().decode("utf-8")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def stored_names() -> list[str]:
    _, files = default_storage.listdir("exports")
    return files
