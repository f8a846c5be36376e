"""Periodic jobs go through many runs or teams: one that fails must not stop the others.

Each loop (the refresh sweep, the reconciler, the history sync, the output copies) catches
an item's failure, logs it in full with the run code or team slug, and carries on. Inside a
transaction the item also needs its own savepoint: on PostgreSQL one failed statement
aborts the whole transaction, and every later item would fail with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def savepoint() -> Iterator[None]:
    """A savepoint around one item when the job runs inside a transaction; nothing otherwise.

    Outside a transaction (the worker) autocommit already isolates each statement, and no
    transaction may stay open while FLORA answers: on SQLite it would hold the write lock.
    """
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
    else:
        yield
