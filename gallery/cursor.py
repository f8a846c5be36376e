"""The gallery's cursor (`?after=`): where the last tile of a page sits in the one order of
both kinds, (created_at, kind, id) descending, "u" (an upload) before "o" (an output) when
the times tie; and what each source's next page starts after (cursor_filters).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.db.models import Q

from runs.models import RunOutput
from uploads.models import Upload

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Cursor(NamedTuple):
    """Where the last tile of a page sits in the order: its time, kind ("o" or "u"), id."""

    moment: datetime
    kind: str
    pk: int


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)  # exact, unlike floats


def encode_cursor(item: RunOutput | Upload) -> str:
    assert item.created_at is not None
    kind = "u" if isinstance(item, Upload) else "o"
    raw = f"{kind}.{_micros(item.created_at)}.{item.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> Cursor | None:
    """(created_at, kind, id) from `?after=`; None for anything that is not one of ours."""
    if not value or len(value) > 64:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        kind, micros, pk = raw.split(".")
        if kind not in ("o", "u"):
            return None
        moment = EPOCH + timedelta(microseconds=int(micros))
        return Cursor(moment, kind, int(pk))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        return None


def cursor_filters(after: Cursor, kind: str, moment_field: str, id_field: str) -> list[Q]:
    """The rows of one source (`kind`) that sort after the cursor: both sources resume.

    The order is (created_at, kind, id) descending, "u" > "o". In the cursor's own source the
    rest of its time goes by id; the other source's rows at that very time are all still to
    come (kind "o" after a "u" cursor) or were all shown (kind "u" before an "o" cursor).
    The plain range comes first so that the index seeks.
    """
    before = Q(**{f"{moment_field}__lt": after.moment})
    if kind == after.kind:
        tie = Q(**{f"{moment_field}": after.moment, f"{id_field}__lt": after.pk})
        return [Q(**{f"{moment_field}__lte": after.moment}), before | tie]
    if kind < after.kind:  # an output after an upload's cursor: its whole instant remains
        return [Q(**{f"{moment_field}__lte": after.moment})]
    return [before]
