"""What each output and input of a run looks like on a page, and the names of its files.

Both the run page (members) and the public share page (token holders) show outputs; they
differ only in the URLs the files are served from (runs:output, runs:share_output) and in
what FLORA detail a viewer may see. The files themselves are served by runs/serving.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models.functions import Length, Substr
from django.urls import reverse
from django.utils.text import slugify

from florasite.lib.net import http_url
from runs.content_types import EXTENSIONS
from runs.models import InputLink, OutputKeepStatus, Run, RunOutput, ThumbStatus
from runs.thumbnails import thumb_box
from teams.models import FloraConnection
from uploads.models import FloraAsset

# A text longer than this shows its beginning on the page; the whole is a download away.
TEXT_PREVIEW_CHARS = 20_000

_KIND_LABELS = {
    "image": "Image",
    "video": "Video",
    "audio": "Audio",
    "text": "Text",
    "pdf": "PDF document",
    "textdoc": "Text document",
    "document": "Document",
    "file": "File",
}
_TYPE_KINDS = {"imageUrl": "image", "videoUrl": "video", "audioUrl": "audio", "text": "text"}


# --- Outputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputItem:
    """One output as a template needs it."""

    output: RunOutput
    number: int
    kind: str
    title: str
    url: str  # the kept copy, inline ("" while not kept)
    download_url: str
    filename: str
    dom_id: str
    # Text outputs: the beginning shown on the page, and the whole text's length.
    text: str = ""
    text_length: int = 0
    # "Use in another technique" (kept images and videos, members only).
    use_url: str = ""

    @property
    def text_is_partial(self) -> bool:
        return self.text_length > len(self.text)

    @property
    def text_note(self) -> str:
        return f"Showing the first {len(self.text):,} of {self.text_length:,} characters."

    @property
    def label(self) -> str:
        return _KIND_LABELS.get(self.kind, "File")

    @property
    def is_kept(self) -> bool:
        return self.output.keep_status == OutputKeepStatus.KEPT

    @property
    def is_pending(self) -> bool:
        return self.output.keep_status == OutputKeepStatus.PENDING

    @property
    def is_failed(self) -> bool:
        return self.output.keep_status == OutputKeepStatus.FAILED

    @property
    def is_retrying(self) -> bool:
        return self.is_pending and self.output.attempts > 0 and bool(self.output.last_error)


def output_kind(output: RunOutput) -> str:
    media = output.content_type.split(";", 1)[0].strip().lower()
    kind = _TYPE_KINDS.get(output.type)
    if kind:
        return kind
    if output.type == "documentUrl" or not media:
        if media == "application/pdf":
            return "pdf"
        if media.startswith("text/"):
            return "textdoc"
        return "document" if output.type == "documentUrl" else "file"
    for prefix in ("image", "video", "audio"):
        if media.startswith(prefix + "/"):
            return prefix
    if media == "application/pdf":
        return "pdf"
    return "textdoc" if media.startswith("text/") else "file"


def thumb_url(run_code: str, output: RunOutput, size: str) -> str:
    """The thumbnail's URL, "" when it has none; ?v= changes when the kept file does."""
    if not output.has_thumb:
        return ""
    path = reverse("runs:output_thumb", args=[run_code, output.position, size])
    return f"{path}?v={output.sha256[:12]}"


@dataclass(frozen=True)
class ThumbTile:
    """What templates/runs/_thumb.html needs: the image, or the tile of its kind."""

    url: str  # "" for a typed tile (text, audio, video, no thumbnail yet)
    width: int
    height: int
    alt: str
    kind: str
    label: str
    note: str = ""  # why there is no picture (video: no poster frames here)


def thumb_tile(run: Run, output: RunOutput, size: str = "small") -> ThumbTile:
    """The tile of one output; `run` is output.run, passed so that nothing is fetched."""
    kind = output_kind(output)
    label = _KIND_LABELS.get(kind, "File")
    alt = (
        f"{label} {output.position + 1} of {run.technique_name or run.technique_id}, run {run.code}"
    )
    width, height = thumb_box(output.width, output.height, size)
    if output.has_thumb:
        return ThumbTile(thumb_url(run.code, output, size), width, height, alt, kind, label)
    notes = {
        "video": "No poster frame: videos play on the run page.",
        "image": "The thumbnail is not ready yet."
        if output.thumb_status == ThumbStatus.PENDING
        else "No thumbnail could be made.",
    }
    return ThumbTile("", width, height, alt, kind, label, notes.get(kind, ""))


def technique_slug(run: Run) -> str:
    return (
        slugify(run.technique_name) or slugify(run.technique_id.removeprefix("tech_")) or "output"
    )[:60]


def extension(output: RunOutput) -> str:
    if output.type == "text":
        return "txt"
    media = output.content_type.split(";", 1)[0].strip().lower()
    return EXTENSIONS.get(media, "bin")


def output_filename(run: Run, output: RunOutput, *, public: bool = False) -> str:
    """`<technique-slug>-<code>-<n>.<ext>`; share viewers get no run code."""
    parts = [technique_slug(run)] if public else [technique_slug(run), run.code]
    return "-".join([*parts, str(output.position + 1)]) + "." + extension(output)


def _title(output: RunOutput) -> str:
    words = re.sub(r"[_\-]+", " ", output.output_id).strip()
    return words[:1].upper() + words[1:] if words else f"Output {output.position + 1}"


def _outputs(run: Run) -> list[RunOutput]:
    # A text may be megabytes long: the database counts it and sends only its beginning.
    return list(
        run.outputs.defer("text")
        .annotate(text_length=Length("text"), text_start=Substr("text", 1, TEXT_PREVIEW_CHARS))
        .order_by("position", "pk")
    )


def member_items(run: Run) -> list[OutputItem]:
    items = []
    for output in _outputs(run):
        url = reverse("runs:output", args=[run.code, output.position])
        items.append(_item(run, output, url, public=False))
    return items


def share_items(run: Run, token: str) -> list[OutputItem]:
    items = []
    for output in _outputs(run):
        url = reverse("runs:share_output", args=[token, output.position])
        items.append(_item(run, output, url, public=True))
    return items


def _item(run: Run, output: RunOutput, url: str, *, public: bool) -> OutputItem:
    kept = output.keep_status == OutputKeepStatus.KEPT
    return OutputItem(
        output=output,
        number=output.position + 1,
        kind=output_kind(output),
        title=_title(output),
        url=url if kept else "",
        download_url=f"{url}?download=1" if kept else "",
        filename=output_filename(run, output, public=public),
        dom_id=f"output-{output.position + 1}",
        text=output.text_start or "",  # type: ignore[attr-defined]
        text_length=output.text_length or 0,  # type: ignore[attr-defined]
        use_url=(
            reverse("runs:use_output", args=[run.code, output.position])
            if kept and not public and output.type in ("imageUrl", "videoUrl") and output.sha256
            else ""
        ),
    )


# --- Inputs -----------------------------------------------------------------------------------

_INPUT_KINDS = {
    "imageUrl": "image",
    "videoUrl": "video",
    "audioUrl": "audio",
    "documentUrl": "document",
    "text": "text",
}


@dataclass(frozen=True)
class InputItem:
    label: str
    kind: str  # image, video, audio, document, text, element, hidden, value
    value: str
    url: str = ""


def _input_values(raw: object) -> list[str]:
    if isinstance(raw, list | tuple):
        return [str(value) for value in raw]
    return [] if raw is None else [str(raw)]


def _flora_hosts(run: Run) -> set[str]:
    """Hosts that belong to FLORA (its API and its output files) for this run."""
    hosts: set[str] = set()
    for source_url in run.outputs.values_list("source_url", flat=True):
        host = urlsplit(source_url).hostname
        if host:
            hosts.add(host.lower())
    for raw in run.outputs_raw or []:
        host = urlsplit(str(raw.get("url", ""))).hostname if isinstance(raw, dict) else None
        if host:
            hosts.add(host.lower())
    try:
        host = urlsplit(run.team.connection.base_url).hostname
    except FloraConnection.DoesNotExist:
        host = None
    if host:
        hosts.add(host.lower())
    return hosts


def _kept_copies(run: Run) -> dict:
    """The dashboard's copies of the files this run's inputs were made of: an asset URL ->
    the upload's file, and (input id, value) -> the earlier output it came from."""
    values = [
        str(v)
        for raw in run.inputs or []
        if isinstance(raw, dict) and raw.get("type") in ("imageUrl", "videoUrl")
        for v in _input_values(raw.get("value"))
    ]
    if not values:
        return {}
    copies: dict = {}
    for asset in FloraAsset.objects.filter(
        team_id=run.team_id, url__in=values, upload__isnull=False
    ).select_related("upload"):
        copies[asset.url] = reverse("uploads:file", args=[asset.upload.public_id])
    for link in InputLink.objects.filter(run=run).select_related("source_output__run"):
        output = link.source_output
        sent = FloraAsset.objects.filter(
            team_id=run.team_id, workspace_id=run.workspace_id, sha256=output.sha256
        ).values_list("url", flat=True)
        for url in sent:
            copies[(link.input_id, url)] = reverse(
                "runs:output", args=[output.run.code, output.position]
            )
    return copies


def input_items(run: Run, *, public: bool = False) -> list[InputItem]:
    """The run's inputs for display. Image inputs become thumbnails (https URLs only).

    On the public page, media inputs hosted by FLORA (for example an earlier run's output
    fed back in) are described but not linked, so the page reveals no FLORA URL.
    """
    hidden_hosts = _flora_hosts(run) if public else set()
    kept = {} if public else _kept_copies(run)
    items: list[InputItem] = []
    for raw in run.inputs or []:
        if not isinstance(raw, dict):
            continue
        input_id = str(raw.get("id") or "")
        label = str(raw.get("name") or raw.get("label") or "") or (
            re.sub(r"[_\-]+", " ", input_id).strip().capitalize() or "Input"
        )
        media_type = str(raw.get("type") or "")
        kind = _INPUT_KINDS.get(media_type, "value")
        for value in _input_values(raw.get("value")):
            if kind in ("text", "value"):
                items.append(InputItem(label, kind, value))
                continue
            parts = urlsplit(value)
            host = (parts.hostname or "").lower()
            if (input_id, value) in kept or value in kept:
                # A file sent from the dashboard: shown from the dashboard's own copy.
                items.append(
                    InputItem(label, kind, value, url=kept.get((input_id, value)) or kept[value])
                )
            elif host and host in hidden_hosts:
                items.append(InputItem(label, "hidden", _KIND_LABELS.get(kind, "File")))
            elif parts.scheme == "https" and http_url(value):
                items.append(InputItem(label, kind, value, url=value))
            elif public:
                # Not an https link: a FLORA element id (accepts_element) is a FLORA id, and
                # anything else is no use to a visitor either.
                items.append(InputItem(label, "hidden", _KIND_LABELS.get(kind, "File")))
            else:
                # An element id (accepts_element) or a value that is not a web address.
                items.append(InputItem(label, "element", value))
    return items
