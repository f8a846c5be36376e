"""What each kind of FLORA output may be, and the file extension each content type is stored with.

The output copier (runs.keeping) refuses any other type; HTML and SVG are never allowed
anywhere, since the copy is served from the dashboard's own origin, where they could run
scripts. The run's download (runs.serving) names files by the same table.
"""

from __future__ import annotations

import mimetypes

__all__ = ["ALLOWED_CONTENT_TYPES", "EXTENSIONS", "allowed_types", "described", "extension"]

_IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/gif", "image/avif", "image/heic"}
)
_VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime", "video/ogg"})
_AUDIO_TYPES = frozenset(
    {
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
        "audio/vnd.wave",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "audio/webm",
        "audio/flac",
        "audio/x-flac",
    }
)
_DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "text/plain",
        "text/markdown",
        "text/csv",
        "application/json",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
# What each FLORA output type may be. HTML and SVG are never allowed anywhere: the copy is
# served from the dashboard's origin, where they could run scripts.
ALLOWED_CONTENT_TYPES: dict[str, frozenset[str]] = {
    "imageUrl": _IMAGE_TYPES,
    "videoUrl": _VIDEO_TYPES,
    "audioUrl": _AUDIO_TYPES,
    "documentUrl": _DOCUMENT_TYPES,
}
# An output type FLORA adds later is kept if it is any of the known safe kinds.
_ANY_ALLOWED = _IMAGE_TYPES | _VIDEO_TYPES | _AUDIO_TYPES | _DOCUMENT_TYPES

_TYPE_WORDS = {
    "imageUrl": "an image",
    "videoUrl": "a video",
    "audioUrl": "audio",
    "documentUrl": "a document",
}

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "image/heic": "heic",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "video/ogg": "ogv",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/ogg": "ogg",
    "audio/webm": "weba",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/markdown": "md",
    "text/csv": "csv",
    "application/json": "json",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}


def allowed_types(output_type: str) -> frozenset[str]:
    """The content types an output of this FLORA type may have."""
    return ALLOWED_CONTENT_TYPES.get(output_type, _ANY_ALLOWED)


def described(output_type: str) -> str:
    """The output type in words, for "FLORA sent text/html, which is not an image"."""
    return _TYPE_WORDS.get(output_type, "a kind of file the dashboard keeps")


def extension(content_type: str) -> str:
    """The file extension (no dot) a copy of this content type is stored with."""
    media = content_type.split(";", 1)[0]
    found = EXTENSIONS.get(media) or (mimetypes.guess_extension(media) or ".bin")
    return found.lstrip(".")
