"""Kept outputs as file responses: one file (inline or as a download), or a zip of them all.

Files come from the dashboard's URLs, after its checks: the kept copy in storage, streamed in
chunks (florasite.lib.media.open_range), or the text kept in the database. On a bucket with
FLORASITE_MEDIA_DELIVERY=redirect, a file's URL answers (after the same checks) with a
short-lived signed URL of its object instead of the bytes; zips and thumbnails are always
streamed from here.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from florasite.lib import media, thumbs
from runs.display import output_filename
from runs.models import Run, RunOutput

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _size(output: RunOutput) -> int:
    if output.type == "text":
        return len(output.text.encode("utf-8"))
    return output.size if output.size is not None else default_storage.size(output.file.name)


def _open(output: RunOutput, start: int = 0, end: int | None = None) -> media.Readable:
    """The output's bytes from `start` to `end` (inclusive), read while they are sent."""
    if output.type == "text":
        return io.BytesIO(output.text.encode("utf-8")[start : None if end is None else end + 1])
    return media.open_range(output.file.name, start, end)


def _chunks(handle: media.Readable, length: int) -> Iterator[bytes]:
    try:
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
    if output.type != "text" and (
        url := media.signed_url(
            output.file.name,
            filename=filename,
            content_type=content_type,
            as_attachment=as_attachment,
            cache_control=cache_control,
        )
    ):
        return media.redirect(url)
    try:
        size = _size(output)
    except OSError as exc:
        _log_missing(output)
        raise Http404("The kept copy of this output is missing from storage.") from exc
    status = 200
    start, end = 0, size - 1
    range_header = request.headers.get("Range", "")
    if range_header and (
        not request.headers.get("If-Range") or request.headers["If-Range"] == etag
    ):
        wanted = _byte_range(range_header, size)
        if wanted is False:
            headers["Content-Range"] = f"bytes */{size}"
            return HttpResponse(status=416, headers=headers)
        if wanted:
            start, end = wanted
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    try:
        handle = _open(output, start, end) if size else io.BytesIO()
    except OSError as exc:
        _log_missing(output)
        raise Http404("The kept copy of this output is missing from storage.") from exc
    length = end - start + 1
    response = StreamingHttpResponse(
        _chunks(handle, length), status=status, content_type=content_type, headers=headers
    )
    response["Content-Length"] = str(length)
    return response


def _log_missing(output: RunOutput) -> None:
    logger.error(
        "Kept copy of output %s of run %s is missing from storage", output.pk, output.run_id
    )


def serve_thumb(
    request: HttpRequest, output: RunOutput, size: str, *, cache_control: str
) -> HttpResponse:
    """One of an output's thumbnails (runs.thumbnails: "small" or "large"), as WebP.

    The ETag (the kept file's checksum) answers a reload without the bytes.
    """
    return thumbs.serve_row(request, output, size, cache_control=cache_control, what="output")


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


ZipEntry = tuple[str, RunOutput]  # the name inside the zip, and the output


def stream_zip(
    entries: Iterable[ZipEntry], trailer: Callable[[set[int]], list[tuple[str, str]]]
) -> Iterator[bytes]:
    """A zip of kept outputs, produced while it is sent (never whole in memory).

    Media files are stored as they are (already compressed); text is deflated. `trailer` is
    called once every file is in, with the pks of the outputs whose copy was missing from
    storage, and returns the (name, text) files that end the zip (a note, a manifest).
    """
    sink = _Sink()
    missing: set[int] = set()
    with zipfile.ZipFile(sink, mode="w", allowZip64=True) as archive:  # type: ignore[arg-type]
        for name, output in entries:
            try:
                size = _size(output)
                handle = _open(output)
            except OSError:
                logger.error("Kept copy of output %s is missing from storage", output.pk)
                missing.add(output.pk)
                continue
            compress = zipfile.ZIP_DEFLATED if output.type == "text" else zipfile.ZIP_STORED
            info = zipfile.ZipInfo(name)
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
        for name, text in trailer(missing):
            archive.writestr(name, text)
    yield sink.take()


def zip_stream(run: Run, outputs: list[RunOutput], missing: list[RunOutput]) -> Iterator[bytes]:
    """A zip of the run's kept outputs. Outputs not kept yet (or missing from storage) are
    listed in a note inside the zip so nothing goes missing silently."""

    def note(lost: set[int]) -> list[tuple[str, str]]:
        absent = [*missing, *(o for o in outputs if o.pk in lost)]
        if not absent:
            return []
        lines = [
            "These outputs are not available from the dashboard yet, so they are not in",
            "this zip:",
            "",
            *[f"- output {o.position + 1} ({o.output_id})" for o in absent],
            "",
            "Download the zip again later from the run page.",
        ]
        return [("NOT-INCLUDED.txt", "\n".join(lines) + "\n")]

    return stream_zip(((output_filename(run, o), o) for o in outputs), note)
