"""Serving a file's bytes as FLORA's media hosts do: ETag, byte ranges, HEAD, no sniffing."""

from __future__ import annotations

import hashlib
import re

from django.http import HttpRequest, HttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def serve(request: HttpRequest, data: bytes, content_type: str, filename: str) -> HttpResponse:
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "public, max-age=86400",
        "Content-Disposition": f'inline; filename="{filename}"',
        # The type is the one read from the bytes; a browser must not guess another.
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers=headers)
    status = 200
    # Safari only plays video from servers that answer byte ranges.
    if match := _RANGE.match(request.headers.get("Range", "")):
        first, last = match.groups()
        total = len(data)
        start = int(first) if first else max(0, total - int(last or 0))
        end = min(int(last), total - 1) if first and last else total - 1
        if start >= total or start > end:
            return HttpResponse(status=416, headers={"Content-Range": f"bytes */{total}"})
        data = data[start : end + 1]
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        status = 206
    headers["Content-Length"] = str(len(data))
    body = b"" if request.method == "HEAD" else data
    return HttpResponse(body, status=status, content_type=content_type, headers=headers)
