"""Files in storage that no row needs any more, deleted by the worker.

Deleting a team deletes its rows in one transaction (Django's cascade), not the files they
name in the default storage: kept outputs, uploads, their thumbnails, exports. Each app that
stores files connects a ``pre_delete`` receiver for Team (in its AppConfig.ready) that passes
its names of that team to ``discard()``: they are written as DiscardedFile rows in the same
transaction, so a delete that rolls back discards nothing, and the periodic job
"florasite.discards" deletes them from storage in batches, retrying a storage failure.

Rows deleted one by one in the admin (a run, an upload, an export) discard their files the
same way (``DiscardsFilesAdmin``).

Thumbnails are stored once per content (florasite.lib.thumbs), so another team's upload or
output may name the same file. Before deleting, every check registered with
``register_in_use`` is asked which of the names a row still holds; those are forgotten, not
deleted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from django.contrib import admin
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Model, Q, QuerySet

from florasite.models import DiscardedFile

__all__ = [
    "BATCH",
    "MAX_ATTEMPTS",
    "DiscardsFilesAdmin",
    "delete_discarded",
    "discard",
    "discard_columns",
    "held_in",
    "register_in_use",
]

logger = logging.getLogger(__name__)

BATCH = 400  # names a pass reads, checks and deletes (two IN lists: under SQLite's old 999)
MAX_ATTEMPTS = 10  # then the row stays, with the storage's error, for an operator
NAME_LENGTH = DiscardedFile._meta.get_field("name").max_length
TIME_BUDGET = 30.0  # seconds of one job run; what is left waits for the next

InUse = Callable[[list[str]], set[str]]
_IN_USE: dict[str, InUse] = {}


def register_in_use(name: str, check: InUse) -> None:
    """`check(names)` answers which of `names` a row of its app still holds."""
    _IN_USE[name] = check


def discard(names: Iterable[str]) -> int:
    """Note storage names for deletion (empty names skipped); returns how many."""
    count = 0
    # Every stored name fits (FileFields of 500, thumbnails of 300); one cut short could
    # name another file.
    names = (name for name in names if name and len(name) <= NAME_LENGTH)
    while chunk := list(islice(names, 1000)):
        DiscardedFile.objects.bulk_create([DiscardedFile(name=name) for name in chunk])
        count += len(chunk)
    return count


def discard_columns(rows: QuerySet, *columns: str) -> int:
    """Discard the names the rows hold in these columns (file fields or storage names),
    read in chunks: a team's million outputs are never all in memory."""
    held = rows.values_list(*columns).iterator(chunk_size=2000)
    return discard(name for names in held for name in names)


def held_in(model: type[Model], *columns: str, prefix: str = "") -> InUse:
    """An in-use check: the names (those starting with `prefix`) that a row of `model`
    holds in one of `columns`."""

    def check(names: list[str]) -> set[str]:
        names = [name for name in names if name.startswith(prefix)]
        if not names:
            return set()
        match = Q()
        for column in columns:
            match |= Q(**{f"{column}__in": names})
        found = model.objects.filter(match).values_list(*columns)
        return {name for row in found for name in row} & set(names)

    return check


class DiscardsFilesAdmin(admin.ModelAdmin):
    """A ModelAdmin whose deletes (one object, or the bulk action) discard the stored files
    the rows name in `discard_columns` (lookups from the admin's model, such as
    "outputs__file"), in the deleting transaction."""

    discard_columns: tuple[str, ...] = ()

    def delete_model(self, request: Any, obj: Model) -> None:
        with transaction.atomic():
            discard_columns(type(obj)._default_manager.filter(pk=obj.pk), *self.discard_columns)
            super().delete_model(request, obj)

    def delete_queryset(self, request: Any, queryset: QuerySet) -> None:
        with transaction.atomic():
            discard_columns(queryset, *self.discard_columns)
            super().delete_queryset(request, queryset)


def _in_use(names: list[str]) -> set[str]:
    used: set[str] = set()
    for check in _IN_USE.values():
        used |= check(names)
    return used


def delete_discarded(*, budget: float = TIME_BUDGET) -> dict[str, int]:
    """Delete discarded files from storage, oldest first, for at most `budget` seconds."""
    counts = {"deleted": 0, "in_use": 0, "failed": 0}
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        rows = list(
            DiscardedFile.objects.filter(attempts__lt=MAX_ATTEMPTS).order_by("attempts", "id")[
                :BATCH
            ]
        )
        if not rows:
            break
        used = _in_use(sorted({row.name for row in rows}))
        done = []
        for row in rows:
            if row.name in used:
                counts["in_use"] += 1
                done.append(row.pk)
                continue
            try:
                default_storage.delete(row.name)
            except Exception as exc:  # a storage outage: the row stays for a later pass
                counts["failed"] += 1
                final = row.attempts + 1 >= MAX_ATTEMPTS
                (logger.error if final else logger.warning)(
                    "Could not delete the discarded file %s (attempt %d of %d): %s",
                    row.name,
                    row.attempts + 1,
                    MAX_ATTEMPTS,
                    exc,
                )
                DiscardedFile.objects.filter(pk=row.pk).update(
                    attempts=F("attempts") + 1, last_error=str(exc)[:300]
                )
                continue
            counts["deleted"] += 1
            done.append(row.pk)
        DiscardedFile.objects.filter(pk__in=done).delete()
        if counts["failed"]:
            break  # the storage is failing: leave the rest for the next run
    if any(counts.values()):
        logger.info(
            "Discarded files: %(deleted)d deleted, %(in_use)d still in use elsewhere, "
            "%(failed)d to retry",
            counts,
        )
    return counts
