"""Serving kept outputs: what each output looks like on a page, and its file response.

Both the run page (members) and the public share page (token holders) show outputs; they
differ only in the URLs the files are served from and in what FLORA detail a viewer may see.
Files always come from the dashboard: the kept copy in storage (never a storage or media
URL), or the text kept in the database.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

from django.core.files.storage import default_storage
from django.db.models.functions import Length, Substr
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from florasite.lib.net import http_url
from runs.content_types import EXTENSIONS
from runs.models import OutputKeepStatus, Run, RunOutput
from teams.models import FloraConnection

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
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
    )


# --- File responses ---------------------------------------------------------------------------


def _open(output: RunOutput) -> tuple[IO[bytes], int]:
    if output.type == "text":
        data = output.text.encode("utf-8")
        return io.BytesIO(data), len(data)
    handle = default_storage.open(output.file.name, "rb")
    size = output.size if output.size is not None else default_storage.size(output.file.name)
    return handle, size


def _chunks(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _byte_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end) inclusive for one satisfiable range; None to send everything; False
    when the range cannot be satisfied (416). Several ranges are answered in full."""
    match = _RANGE.fullmatch(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # the last N bytes
        count = int(last)
        if count == 0:
            return False
        return max(0, size - count), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def serve_output(
    request: HttpRequest, output: RunOutput, filename: str, *, cache_control: str
) -> HttpResponse | StreamingHttpResponse:
    """The kept copy as a file response: inline by default, attachment with ?download=1.

    Answers byte ranges (browsers need them to seek in video and audio) and conditional
    requests on the checksum.
    """
    etag = f'"{output.sha256[:32]}"' if output.sha256 else ""
    content_type = output.content_type or "application/octet-stream"
    as_attachment = request.GET.get("download") == "1"
    headers = {
        "Content-Disposition": content_disposition_header(as_attachment, filename),
        "Accept-Ranges": "bytes",
        "Cache-Control": cache_control,
    }
    if etag:
        headers["ETag"] = etag
        if request.headers.get("If-None-Match") == etag:
            return HttpResponse(status=304, headers=headers)
    try:
        handle, size = _open(output)
    except OSError as exc:
        logger.error(
            "Kept copy of output %s of run %s is missing from storage", output.pk, output.run_id
        )
        raise Http404("The kept copy of this output is missing from storage.") from exc
    status = 200
    start, length = 0, size
    range_header = request.headers.get("Range", "")
    if range_header and (
        not request.headers.get("If-Range") or request.headers["If-Range"] == etag
    ):
        wanted = _byte_range(range_header, size)
        if wanted is False:
            handle.close()
            headers["Content-Range"] = f"bytes */{size}"
            return HttpResponse(status=416, headers=headers)
        if wanted:
            start, end = wanted
            length = end - start + 1
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response = StreamingHttpResponse(
        _chunks(handle, start, length), status=status, content_type=content_type, headers=headers
    )
    response["Content-Length"] = str(length)
    return response


# --- Zip of every kept output -----------------------------------------------------------------


class _Sink:
    """A write-only, unseekable stream that hands what zipfile writes to a generator."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def zip_stream(run: Run, outputs: list[RunOutput], missing: list[RunOutput]) -> Iterator[bytes]:
    """A zip of the kept outputs, produced while it is sent (never whole in memory).

    Media files are stored as they are (already compressed); text is deflated. Outputs not
    kept yet are listed in a note inside the zip so nothing goes missing silently.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", allowZip64=True) as archive:  # type: ignore[arg-type]
        for output in outputs:
            try:
                handle, size = _open(output)
            except OSError:
                logger.error("Kept copy of output %s is missing from storage", output.pk)
                missing.append(output)
                continue
            compress = zipfile.ZIP_DEFLATED if output.type == "text" else zipfile.ZIP_STORED
            info = zipfile.ZipInfo(output_filename(run, output))
            info.compress_type = compress
            if output.kept_at:
                info.date_time = output.kept_at.timetuple()[:6]
            try:
                with archive.open(info, mode="w", force_zip64=size > 2**31) as entry:
                    while chunk := handle.read(CHUNK_SIZE):
                        entry.write(chunk)
                        if len(sink.buffer) >= CHUNK_SIZE:
                            yield sink.take()
            finally:
                handle.close()
            yield sink.take()
        if missing:
            lines = [
                "These outputs are not available from the dashboard yet, so they are not in",
                "this zip:",
                "",
                *[f"- output {o.position + 1} ({o.output_id})" for o in missing],
                "",
                "Download the zip again later from the run page.",
            ]
            archive.writestr("NOT-INCLUDED.txt", "\n".join(lines) + "\n")
    yield sink.take()


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


def input_items(run: Run, *, public: bool = False) -> list[InputItem]:
    """The run's inputs for display. Image inputs become thumbnails (https URLs only).

    On the public page, media inputs hosted by FLORA (for example an earlier run's output
    fed back in) are described but not linked, so the page reveals no FLORA URL.
    """
    hidden_hosts = _flora_hosts(run) if public else set()
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
            if host and host in hidden_hosts:
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
