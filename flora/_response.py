"""Reading FLORA's answers: JSON bodies, list envelopes, validation into the models.

Every problem is an APIResponseValidationError naming what did not match, so callers catch
one error for "FLORA answered something the contract does not allow".
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
import pydantic
from pydantic import TypeAdapter
from pydantic.alias_generators import to_camel

from ._errors import APIResponseValidationError
from ._models import FloraModel

T = TypeVar("T")


class _PageMeta(FloraModel):
    next_cursor: str | None = None
    total_estimate: float | None = None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        content_type = response.headers.get("content-type", "unknown")
        raise APIResponseValidationError(
            f"expected a JSON body, got {content_type}", response=response
        ) from None


def _envelope_items(response: httpx.Response, body: Any, key: str) -> Any:
    if isinstance(body, dict):
        for name in (key, to_camel(key)):
            if isinstance(body.get(name), list):
                return body[name]
    raise APIResponseValidationError(f"expected a {key!r} list in the body", response=response)


def _validate(response: httpx.Response, adapter: TypeAdapter[T], data: Any) -> T:
    try:
        return adapter.validate_python(data)
    except pydantic.ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False)
        summary = "; ".join(
            f"{'.'.join(str(part) for part in p['loc']) or 'body'}: {p['msg']}"
            for p in problems[:3]
        )
        if len(problems) > 3:
            summary += f" (and {len(problems) - 3} more)"
        raise APIResponseValidationError(summary, response=response) from None
