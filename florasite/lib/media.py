"""Kept files read from the default storage, whichever it is (a folder, memory in tests, an
S3-compatible bucket through django-storages). Plumbing: no app.

Two things differ on a bucket. Reading: django-storages' own `open()` downloads the whole
object before the first byte (into memory, or a temporary file), so files sent to a browser
or into a zip are read here in ranges, straight from the object's body. Delivery: once a
view has checked who may have the file, it may send the browser to a short-lived signed URL
for exactly that object (`signed_url`, with the name, type and caching the view chose)
instead of streaming the bytes through a web thread; FLORASITE_MEDIA_DELIVERY=proxy keeps
every byte going through the dashboard.
"""

from __future__ import annotations

from typing import IO, Protocol

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.http import HttpResponseRedirect
from django.utils.http import content_disposition_header

__all__ = ["Readable", "is_bucket", "open_range", "redirect", "signed_url"]


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


def is_bucket(storage: Storage | None = None) -> bool:
    """Whether `storage` (the default storage) is django-storages' S3Storage.

    Told by its class's ancestry, without importing django-storages (nor boto3) where it is
    not used. Not by the module in sys.modules: another thread may be importing it still.
    """
    cls = (storage if storage is not None else default_storage).__class__  # sets up a lazy one
    return any(
        (base.__module__, base.__qualname__) == ("storages.backends.s3", "S3Storage")
        for base in cls.__mro__
    )


def open_range(name: str, start: int = 0, end: int | None = None) -> IO[bytes] | Readable:
    """The stored file `name` from byte `start` to `end` (inclusive; None: to its end), to
    read in chunks. FileNotFoundError (an OSError) when it is not there."""
    if not is_bucket():
        handle = default_storage.open(name, "rb")
        if start:
            handle.seek(start)
        return handle
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    storage = default_storage
    params = {"Bucket": storage.bucket_name, "Key": storage._normalize_name(clean_name(name))}
    if start or end is not None:
        params["Range"] = f"bytes={start}-{'' if end is None else end}"
    try:
        answer = storage.connection.meta.client.get_object(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(f"{name} is not in the bucket") from exc
        raise
    return answer["Body"]


def signed_url(
    name: str,
    *,
    filename: str,
    content_type: str,
    as_attachment: bool,
    cache_control: str,
) -> str | None:
    """A URL of the bucket that serves `name` for FLORASITE_MEDIA_URL_EXPIRY seconds, with
    these response headers; None when files are not sent that way (a folder, or the proxy
    delivery). Call it only after the caller's access check: the URL is the permission."""
    if settings.FLORASITE_MEDIA_DELIVERY != "redirect" or not is_bucket():
        return None
    return default_storage.url(
        name,
        parameters={
            "ResponseContentDisposition": content_disposition_header(as_attachment, filename),
            "ResponseContentType": content_type,
            "ResponseCacheControl": cache_control,
        },
        expire=settings.FLORASITE_MEDIA_URL_EXPIRY,
    )


def redirect(url: str) -> HttpResponseRedirect:
    """The answer that sends the browser to a signed URL. Never cached: the URL it names
    stops working, and the next request must pass the access check again."""
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response
