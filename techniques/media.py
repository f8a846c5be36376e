"""Files as run inputs: what a media input of the run form may name besides a link.

An image or video input takes one of: an https link (techniques.fields), a file sent with
the form (`file_<input id>`), or a reference (`ref_<input id>`) to something the team
already has:

    upload:<uuid>            a file a member uploaded (uploads.Upload), e.g. by the form's
                             script (POST /uploads/) or the "Recent" picker
    output:<run code>:<n>    a kept output of one of the team's runs ("Use in another
                             technique"); the runs app registers how to look them up
                             (register_output_choices), since the catalog cannot import it

A reference or a file becomes a MediaChoice when the form is cleaned; its plan value is
`sha256:<hex>` until the submit view has made it a FLORA asset (runs.inputs), so the intent
key covers the content and not a URL or id that a retried upload could change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.urls import reverse

from uploads import validation
from uploads.models import AssetStatus, FloraAsset, Upload
from uploads.services import Source
from uploads.validation import Refused, prepare

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from teams.models import Team
    from uploads.validation import Prepared

__all__ = [
    "FILE_PREFIX",
    "PLACEHOLDER",
    "REF_PREFIX",
    "MediaChoice",
    "OutputChoices",
    "choice_for",
    "kind_of",
    "known_asset_urls",
    "register_output_choices",
    "resolve_choice",
]

FILE_PREFIX = "file_"
REF_PREFIX = "ref_"
# The plan value of a chosen file until it is an asset: "sha256:<64 hex>".
PLACEHOLDER = "sha256:"
_UPLOAD_REF = re.compile(r"^upload:([0-9a-f-]{36})$")
_OUTPUT_REF = re.compile(r"^output:([A-Za-z0-9_-]{1,32}):(\d{1,4})$")
_KINDS = {"imageUrl": "image", "videoUrl": "video"}


def kind_of(media_type: str) -> str:
    """'image' or 'video' for the input types that take files; '' for the others."""
    return _KINDS.get(media_type, "")


@dataclass
class MediaChoice:
    """A file chosen for an input: where it comes from and how to read it."""

    ref: str
    kind: str
    sha256: str
    name: str
    preview_url: str
    source: Source | None = None
    upload: Upload | None = None
    prepared: Prepared | None = None  # a file sent with the form, not kept yet
    output_pk: int | None = None
    run_code: str = ""

    @property
    def placeholder(self) -> str:
        return PLACEHOLDER + self.sha256

    @classmethod
    def of_upload(cls, upload: Upload) -> MediaChoice:
        return cls(
            ref=upload.ref,
            kind=upload.kind,
            sha256=upload.sha256,
            name=upload.original_name,
            preview_url=reverse("uploads:file", args=[upload.public_id]),
            source=Source.of_upload(upload),
            upload=upload,
        )

    @classmethod
    def of_file(cls, prepared: Prepared) -> MediaChoice:
        return cls(
            ref="",
            kind=prepared.kind,
            sha256=prepared.sha256,
            name=prepared.name,
            preview_url="",
            prepared=prepared,
        )


# (team, run code, output position) -> the output as a choice, or None.
OutputChoices = Callable[["Team", str, int], "MediaChoice | None"]
_output_sources: list[OutputChoices] = []


def register_output_choices(source: OutputChoices) -> None:
    """The runs app says how to find a kept output (the last one registered wins)."""
    _output_sources.append(source)


def choice_for(team: Team, ref: str, kind: str) -> MediaChoice | None:
    """The team's upload or kept output `ref` names, of this kind; None otherwise."""
    ref = (ref or "").strip()
    choice: MediaChoice | None = None
    if match := _UPLOAD_REF.match(ref):
        upload = Upload.objects.filter(team=team, public_id=match.group(1)).first()
        choice = MediaChoice.of_upload(upload) if upload is not None else None
    elif (match := _OUTPUT_REF.match(ref)) and _output_sources:
        choice = _output_sources[-1](team, match.group(1), int(match.group(2)))
    if choice is None or choice.kind != kind:
        return None
    return choice


def resolve_choice(
    team: Team, kind: str, *, ref: str = "", upload: UploadedFile | None = None
) -> MediaChoice | None:
    """The file sent for an input (validated: uploads.validation) or the team's file `ref`
    names; None when neither was given. Raises Refused with the reason in words."""
    if upload is not None:
        cap = validation.MAX_IMAGE_BYTES if kind == "image" else validation.MAX_VIDEO_BYTES
        if upload.size is not None and upload.size > cap:
            # Said before the file is read into memory.
            raise Refused(
                f"This file is {upload.size / 2**20:.0f} MB; {kind}s can be at most "
                f"{cap // 2**20} MB."
            )
        return MediaChoice.of_file(prepare(upload.read(), name=upload.name or "", kind=kind))
    if not ref:
        return None
    choice = choice_for(team, ref, kind)
    if choice is None:
        raise Refused(
            f"The {kind} chosen for this input is not one of your team's {kind}s any more: "
            "choose it again."
        )
    return choice


def known_asset_urls(team: Team, values: list[str]) -> set[str]:
    """Which of these values are URLs of the team's ready FLORA assets."""
    values = [value for value in values if value.startswith(("http://", "https://"))]
    if not values:
        return set()
    return set(
        FloraAsset.objects.filter(team=team, url__in=values, status=AssetStatus.READY).values_list(
            "url", flat=True
        )
    )
