"""What FLORA says, made to fit the columns it is written to (runs.models).

Values that do not fit are made to fit here, in the one place they are written, so every row
can be read back and shown. (PostgreSQL refuses a value too long or too large for its
column; SQLite stores it, and then Django cannot read the decimal back.)
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from runs.models import Run, RunOutput

__all__ = ["MAX_AMOUNT", "clip", "fits", "output_id", "to_decimal"]

MAX_AMOUNT = Decimal("999999.9999")  # DecimalField(max_digits=10, decimal_places=4)


def to_decimal(value: Any) -> Decimal | None:
    """An amount of money as the cost columns hold it; None for anything that is not one
    (NaN, Infinity, negative, or more than a column holds)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.0001"))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return None
    return amount


def _max_length(model: type[Run] | type[RunOutput], name: str) -> int:
    return model._meta.get_field(name).max_length  # type: ignore[union-attr, return-value]


def clip(model: type[Run] | type[RunOutput], name: str, value: Any) -> str:
    """A text cut to its column's length (error codes, names: a shortened one still reads)."""
    return str(value or "")[: _max_length(model, name)]


def fits(model: type[Run] | type[RunOutput], name: str, value: Any) -> bool:
    """Whether an identifier fits its column. A shortened id would name something else, so
    one that does not fit is not stored at all (the caller says so in the log)."""
    return len(str(value)) <= _max_length(model, name)


def output_id(value: str) -> str:
    """FLORA's output id as stored: one too long for the column is cut and given a short hash
    of the whole, so it stays the same on every answer and unique within its run."""
    limit = _max_length(RunOutput, "output_id")
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{value[: limit - 13]}~{digest}"
