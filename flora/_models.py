"""Pydantic models for FLORA's responses and request inputs, field for field as the spec."""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = [
    "FloraModel",
    "MediaType",
    "Run",
    "RunInput",
    "RunInputType",
    "RunListItem",
    "RunOutput",
    "RunStatus",
    "Technique",
    "TechniqueIO",
    "TechniqueRef",
    "Workspace",
    "to_datetime",
]

MediaType = Literal["imageUrl", "videoUrl", "audioUrl", "text", "documentUrl"]
RunStatus = Literal["pending", "running", "completed", "failed"]
RunInputType = Literal["text", "imageUrl", "videoUrl"]

TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed"})

# Values above this are unix milliseconds (1e12 s is the year 33658).
_MS_THRESHOLD = 1e12


def to_datetime(ts: float | None) -> datetime.datetime | None:
    """An aware UTC datetime from a FLORA timestamp (unix seconds or milliseconds)."""
    if ts is None:
        return None
    seconds = ts / 1000 if ts > _MS_THRESHOLD else ts
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


class FloraModel(BaseModel):
    """Base for response models.

    Unknown fields are kept (FLORA adds optional fields over time), and older doc pages
    use camelCase, so both `run_id` and `runId` are accepted.
    """

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        # Report problems under the spec's snake_case names.
        loc_by_alias=False,
    )


# Types are `Literal | str` so a media type or status FLORA adds later parses
# instead of breaking every page that contains it; the Literal documents what is known.


class TechniqueIO(FloraModel):
    id: str
    name: str
    type: MediaType | str
    description: str | None = None
    specified_aspect_ratio: str | None = None
    specified_duration: float | None = None
    optional: bool = False
    allow_multiple: bool = False
    accepts_element: bool = False


class Technique(FloraModel):
    technique_id: str
    name: str
    description: str | None = None
    run_cost: float
    inputs: list[TechniqueIO]
    outputs: list[TechniqueIO]


class RunOutput(FloraModel):
    output_id: str
    type: MediaType | str
    # A media URL, or the text itself for `text` outputs.
    url: str


class Run(FloraModel):
    run_id: str
    status: RunStatus | str
    progress: float
    created_at: float
    started_at: float | None = None
    completed_at: float | None = None
    charged_cost: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    outputs: list[RunOutput] | None = None
    poll_url: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def created_datetime(self) -> datetime.datetime | None:
        return to_datetime(self.created_at)

    @property
    def started_datetime(self) -> datetime.datetime | None:
        return to_datetime(self.started_at)

    @property
    def completed_datetime(self) -> datetime.datetime | None:
        return to_datetime(self.completed_at)


class TechniqueRef(FloraModel):
    name: str
    technique_id: str


class RunListItem(Run):
    project_id: str
    workspace_id: str
    technique: TechniqueRef
    technique_run_id: str


class Workspace(FloraModel):
    workspace_id: str
    name: str
    role: str | None = None
    created_at: float | None = None

    @property
    def created_datetime(self) -> datetime.datetime | None:
        return to_datetime(self.created_at)


class RunInput(BaseModel):
    """One input of a run request. Strict on purpose: a typo should fail here, not upstream."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: RunInputType
    value: str
