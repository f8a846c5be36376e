"""FLORA API client: httpx + pydantic, no Django.

from flora import Flora, NotFoundError

with Flora(api_key=...) as client:
    technique = client.techniques.retrieve("tech_abcd1234")
    run = client.techniques.runs.create(technique.technique_id, inputs=[...])
"""

from __future__ import annotations

from . import webhooks
from ._base import mask_key
from ._client import Flora
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AssetFailedError,
    AssetNotReadyError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FieldError,
    FloraError,
    IdempotencyConflictError,
    IdempotencyDuplicateError,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestNotSent,
    SignedUploadError,
    UnprocessableEntityError,
)
from ._models import (
    Asset,
    AssetReservation,
    AssetStatus,
    AssetUploadForm,
    MediaType,
    Run,
    RunInput,
    RunInputType,
    RunListItem,
    RunOutput,
    RunStatus,
    Technique,
    TechniqueIO,
    TechniqueRef,
    Workspace,
    to_datetime,
)
from ._transport import DeadlineBackend, DeadlineTransport, StreamWrapper, deadline
from ._version import __version__
from .pagination import CursorPage
from .resources.assets import MAX_DIRECT_UPLOAD_BYTES
from .webhooks import WebhookEvent, WebhookEventData, WebhookVerificationError

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Asset",
    "AssetFailedError",
    "AssetNotReadyError",
    "AssetReservation",
    "AssetStatus",
    "AssetUploadForm",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "CursorPage",
    "DeadlineBackend",
    "DeadlineTransport",
    "FieldError",
    "Flora",
    "FloraError",
    "IdempotencyConflictError",
    "IdempotencyDuplicateError",
    "InsufficientCreditsError",
    "InternalServerError",
    "MAX_DIRECT_UPLOAD_BYTES",
    "MediaType",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestNotSent",
    "Run",
    "RunInput",
    "RunInputType",
    "RunListItem",
    "RunOutput",
    "RunStatus",
    "SignedUploadError",
    "StreamWrapper",
    "Technique",
    "TechniqueIO",
    "TechniqueRef",
    "UnprocessableEntityError",
    "WebhookEvent",
    "WebhookEventData",
    "WebhookVerificationError",
    "Workspace",
    "__version__",
    "mask_key",
    "deadline",
    "to_datetime",
    "webhooks",
]
