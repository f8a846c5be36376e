"""Pydantic models for FLORA's responses and request inputs, field for field as the spec."""

from __future__ import annotations

import datetime
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "Asset",
    "AssetReservation",
    "AssetStatus",
    "AssetUploadForm",
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
AssetStatus = Literal["pending_upload", "ready", "failed"]

TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed"})

# Values above this are unix milliseconds (1e12 s is the year 33658).
_MS_THRESHOLD = 1e12
# No run starts or ends after 1 January 3000; a later "timestamp" is garbage, and one near
# datetime's own limit (year 9999) would overflow as soon as it is shown in a local time zone.
_MAX_SECONDS = 32_503_680_000.0


def _seconds(ts: float) -> float | None:
    """Unix seconds of a FLORA timestamp; None for one that is no moment in a run's life."""
    if not math.isfinite(ts) or ts < 0:
        return None
    seconds = ts / 1000 if ts > _MS_THRESHOLD else ts
    return seconds if seconds <= _MAX_SECONDS else None


def to_datetime(ts: float | None) -> datetime.datetime | None:
    """An aware UTC datetime from a FLORA timestamp (unix seconds or milliseconds)."""
    seconds = None if ts is None else _seconds(ts)
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


# Python's json module (and so httpx's response.json()) reads NaN and Infinity literals, and
# FLORA's numbers may be anything a float holds. The validators below turn values no run can
# have into "unknown", so one absurd number neither breaks a page of runs nor reaches the
# caller's database as a value it cannot store.


def _timestamp(value: float | None) -> float | None:
    return value if value is not None and _seconds(value) is not None else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _progress(value: float) -> float:
    # 0..1 or 0..100 (both scales are seen); anything else is clamped into that range.
    if math.isnan(value):
        return 0.0
    return max(0.0, min(value, 100.0))


def _huge_int(value: Any) -> Any:
    # An integer too large for a float (JSON allows any number of digits) is "infinite".
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value


def _none_if_invalid(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # An optional detail of the wrong type is dropped, not fatal to the whole answer.
    try:
        return handler(value)
    except ValidationError:
        return None


Timestamp = Annotated[float | None, BeforeValidator(_huge_int), AfterValidator(_timestamp)]
OptionalTimestamp = Annotated[Timestamp, WrapValidator(_none_if_invalid)]
Amount = Annotated[float | None, AfterValidator(_finite)]
OptionalAmount = Annotated[Amount, WrapValidator(_none_if_invalid)]
OptionalStr = Annotated[str | None, WrapValidator(_none_if_invalid)]
Progress = Annotated[float, BeforeValidator(_huge_int), AfterValidator(_progress)]


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
    specified_duration: OptionalAmount = None
    optional: bool = False
    allow_multiple: bool = False
    accepts_element: bool = False


class Technique(FloraModel):
    technique_id: str
    name: str
    description: str | None = None
    # None when FLORA sends a price that is no number (NaN, Infinity): "price unknown".
    run_cost: Amount
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
    progress: Progress
    # Required, but None when FLORA's value is no plausible moment (see _seconds).
    created_at: Timestamp
    started_at: OptionalTimestamp = None
    completed_at: OptionalTimestamp = None
    charged_cost: OptionalAmount = None
    error_code: OptionalStr = None
    error_message: OptionalStr = None
    outputs: list[RunOutput] | None = None
    poll_url: OptionalStr = None

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
    role: OptionalStr = None
    created_at: OptionalTimestamp = None

    @property
    def created_datetime(self) -> datetime.datetime | None:
        return to_datetime(self.created_at)


# -- assets ------------------------------------------------------------------------------


def _moment(value: Any) -> Any:
    # Asset times come as an ISO 8601 string (retrieve) or unix seconds/ms (list); a value
    # that is neither, or no plausible moment, is "unknown" rather than fatal.
    if value is None or isinstance(value, datetime.datetime):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return to_datetime(float(value))
        except (OverflowError, ValueError, OSError):
            return None
    if isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return moment if to_datetime(moment.timestamp()) is not None else None
    return None


def _dimension(value: int | None) -> int | None:
    # A size no file can have (negative, or past any real image or file) is "unknown".
    return value if value is not None and 0 <= value < 2**53 else None


Moment = Annotated[datetime.datetime | None, BeforeValidator(_moment)]
OptionalMoment = Annotated[Moment, WrapValidator(_none_if_invalid)]
Dimension = Annotated[int | None, AfterValidator(_dimension)]
OptionalDimension = Annotated[Dimension, WrapValidator(_none_if_invalid)]


class AssetUploadForm(FloraModel):
    """Where and how to send the bytes of a signed-url upload: a presigned form POST."""

    url: str
    method: str = "POST"
    file_field: str = "file"
    form_fields: dict[str, str] = {}
    content_type: str = "multipart/form-data"


class AssetReservation(FloraModel):
    """The answer to POST /assets, /assets/{id}/complete and /assets/{id}/retry."""

    asset_id: str
    status: AssetStatus | str
    url: OptionalStr = None
    visibility: OptionalStr = None
    workspace_id: OptionalStr = None
    uploaded_via: OptionalStr = None
    expires_at: OptionalMoment = None
    upload: AssetUploadForm | None = None
    upload_url: OptionalStr = None
    failure_message: OptionalStr = None


class Asset(FloraModel):
    """An asset as GET /assets/{id} and GET /assets describe it."""

    asset_id: str
    status: AssetStatus | str
    content_type: OptionalStr = None
    # An ISO string from retrieve, a number from list: both read as an aware datetime.
    created_at: OptionalMoment = None
    description: OptionalStr = None
    failure_message: OptionalStr = None
    height: OptionalDimension = None
    width: OptionalDimension = None
    name: OptionalStr = None
    size_bytes: OptionalDimension = None
    upload_content_type: OptionalStr = None
    uploaded_via: OptionalStr = None
    url: OptionalStr = None
    workspace_id: OptionalStr = None
    project_id: OptionalStr = None
    node_id: OptionalStr = None

    @property
    def is_ready(self) -> bool:
        return self.status == "ready"


class RunInput(BaseModel):
    """One input of a run request. Strict on purpose: a typo should fail here, not upstream."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: RunInputType
    value: str
