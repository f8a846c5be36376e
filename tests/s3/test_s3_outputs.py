"""Kept run outputs on a bucket (a real S3 server, moto's): kept there from the sandbox's
URLs, thumbnails made from there and served, members' downloads sent to a signed URL only
after the run page's checks, proxied downloads, zips of runs and boards."""

from __future__ import annotations

import io
import sys
import types
import zipfile
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.core.files.storage import default_storage
from django.test import Client
from storages.backends.s3 import S3Storage

from boards.models import Board
from boards.services import add_output
from florasite import discards
from florasite.lib import media
from runs import thumbnails
from runs.models import OutputKeepStatus, ThumbStatus
from tests.runs.results_helpers import CRITIQUE, make_run, sandbox_downloads
from tests.s3.conftest import ACCESS_KEY, REGION, SECRET_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept_run(team_a, bob, s3_bucket, sandbox_http, clock, monkeypatch):
    """A completed sandbox run (an image and a PDF) whose outputs the worker kept in the
    bucket: the sandbox's output URLs, downloaded as in production."""
    with sandbox_downloads(monkeypatch) as downloads:
        run = make_run(team_a, bob, *CRITIQUE, clock)
        originals = {o.pk: downloads.get(o.source_url).content for o in run.outputs.all() if o.file}
    return run, originals


def _image(run):
    return run.outputs.get(type="imageUrl")


def test_a_kept_output_is_an_object_of_the_private_bucket(kept_run, s3_bucket):
    run, originals = kept_run
    assert isinstance(default_storage._wrapped, S3Storage)
    for output in run.outputs.exclude(type="text"):
        assert output.keep_status == OutputKeepStatus.KEPT
        assert output.file.name.startswith("outputs/")
        assert s3_bucket.read(output.file.name) == originals[output.pk]
        assert s3_bucket.head(output.file.name)["ContentLength"] == output.size
        # No public URL: the object without a signature is refused by the server.
        unsigned = httpx.get(f"{s3_bucket.endpoint}/{s3_bucket.name}/{output.file.name}")
        assert unsigned.status_code == 403


def test_its_thumbnails_are_made_from_the_bucket_and_served_by_the_dashboard(
    kept_run, s3_bucket, bob_client
):
    run, _ = kept_run
    assert thumbnails.make_run_thumbnails(run.pk) == {ThumbStatus.MADE: 1, ThumbStatus.NONE: 1}
    image = _image(run)
    image.refresh_from_db()
    assert (
        image.thumb_small in s3_bucket.object_keys()
        and image.thumb_large in s3_bucket.object_keys()
    )

    page = bob_client.get("/gallery/")
    thumb = f"/runs/{run.code}/outputs/{image.position}/thumb/small?v={image.sha256[:12]}"
    assert thumb in page.content.decode()
    response = bob_client.get(thumb)
    assert response.status_code == 200  # streamed from here: cached a year at this URL
    assert response["Content-Type"] == "image/webp"
    assert "immutable" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == s3_bucket.read(image.thumb_small)


def test_a_members_download_is_a_signed_url_with_the_files_name_and_type(
    kept_run, s3_bucket, bob_client
):
    run, originals = kept_run
    image = _image(run)
    response = bob_client.get(f"/runs/{run.code}/outputs/{image.position}?download=1")
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    url = response["Location"]
    assert url.startswith(f"{s3_bucket.endpoint}/{s3_bucket.name}/{image.file.name}?")
    fetched = httpx.get(url)
    assert fetched.status_code == 200
    assert fetched.content == originals[image.pk]
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["content-disposition"].startswith("attachment; filename=")
    assert fetched.headers["content-disposition"].endswith('.png"')
    # Inline by default, as the run page shows it.
    page = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert f'src="/runs/{run.code}/outputs/{image.position}"' in page
    inline = bob_client.get(f"/runs/{run.code}/outputs/{image.position}")["Location"]
    assert httpx.get(inline).headers["content-disposition"].startswith("inline")


def test_a_viewer_may_download_as_today_and_other_teams_get_no_url(
    kept_run, carol_client, dave_client
):
    run, _ = kept_run
    path = f"/runs/{run.code}/outputs/{_image(run).position}"
    assert carol_client.get(path).status_code == 302  # viewers see the team's results
    refused = dave_client.get(path)
    assert refused.status_code == 404 and "Location" not in refused
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    for client in (dave_client, Client()):
        assert "X-Amz-Signature" not in client.get(path).get("Location", "")


def _valid_until(url: str) -> datetime:
    """When a SigV4 signed URL stops working, after checking its signature with the test
    keys as S3 does: moto's server serves signed URLs without checking them (5.2.5), so the
    test checks them itself."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    given = dict(pairs)
    signed_at = datetime.strptime(given["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    unsigned = [(k, v) for k, v in pairs if not k.startswith("X-Amz-")]
    query = urlencode(unsigned, quote_via=quote)
    request = AWSRequest(method="GET", url=urlunsplit((*parts[:3], query, "")))
    auth = S3SigV4QueryAuth(
        Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION, expires=int(given["X-Amz-Expires"])
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        auth.add_auth(request)
    expected = dict(parse_qsl(urlsplit(request.url).query))["X-Amz-Signature"]
    assert given["X-Amz-Signature"] == expected, "the signature does not verify"
    return signed_at + timedelta(seconds=int(given["X-Amz-Expires"]))


def test_the_signed_url_lasts_the_configured_time_and_names_its_headers(
    kept_run, s3_bucket, bob_client, settings
):
    settings.FLORASITE_MEDIA_URL_EXPIRY = 60
    run, _ = kept_run
    url = bob_client.get(f"/runs/{run.code}/outputs/{_image(run).position}")["Location"]
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-SignedHeaders"] == "host"
    assert query["X-Amz-Credential"].startswith(f"{ACCESS_KEY}/")
    assert query["response-content-type"] == "image/png"
    assert query["response-cache-control"] == "private, max-age=3600"
    assert query["response-content-disposition"].startswith("inline; filename=")
    # Signed by these keys, over these headers, for 60 seconds from now.
    until = _valid_until(url)
    assert abs((until - datetime.now(UTC)).total_seconds() - 60) < 10
    # A URL whose expiry or headers were edited no longer verifies.
    with pytest.raises(AssertionError, match="does not verify"):
        _valid_until(url.replace("X-Amz-Expires=60", "X-Amz-Expires=86400"))
    with pytest.raises(AssertionError, match="does not verify"):
        _valid_until(url.replace("inline", "attachment"))


def test_the_proxy_delivery_streams_from_the_bucket_with_ranges(
    kept_run, s3_bucket, bob_client, dave_client, settings
):
    settings.FLORASITE_MEDIA_DELIVERY = "proxy"
    run, originals = kept_run
    image = _image(run)
    path = f"/runs/{run.code}/outputs/{image.position}"
    whole = bob_client.get(path)
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == originals[image.pk]
    assert whole["Content-Length"] == str(image.size)
    part = bob_client.get(path, HTTP_RANGE="bytes=4-13")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 4-13/{image.size}"
    assert b"".join(part.streaming_content) == originals[image.pk][4:14]
    assert dave_client.get(path).status_code == 404


def dave_refused(path: str) -> bool:
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="dave"))
    return client.get(path).status_code == 404


def _never_whole(monkeypatch) -> None:
    """django-storages' open() downloads a whole object first: zips must not use it."""

    def refuse(self, name, mode="rb"):
        raise AssertionError(f"{name} was opened whole")

    monkeypatch.setattr(S3Storage, "_open", refuse)


def test_a_runs_zip_streams_its_files_from_the_bucket(
    kept_run, s3_bucket, bob_client, monkeypatch, dave
):
    run, originals = kept_run
    _never_whole(monkeypatch)
    response = bob_client.get(f"/runs/{run.code}/outputs.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    contents = sorted(archive.read(name) for name in archive.namelist())
    assert contents == sorted(
        [*originals.values(), run.outputs.get(type="text").text.encode("utf-8")]
    )
    assert dave_refused(f"/runs/{run.code}/outputs.zip")


def test_a_boards_zip_streams_its_files_from_the_bucket(
    kept_run, s3_bucket, bob, bob_client, monkeypatch, dave
):
    run, originals = kept_run
    board = Board.objects.create(team=run.team, name="Bucket picks", created_by=bob)
    for output in run.outputs.order_by("position"):
        add_output(board, output, bob)
    _never_whole(monkeypatch)
    response = bob_client.get(f"/boards/{board.code}/download.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert names[-1] == "manifest.csv"
    files = sorted(archive.read(name) for name in names[:-1])
    assert [*sorted(originals.values())] == [f for f in files if f in originals.values()]
    assert "missing from storage" not in archive.read("manifest.csv").decode()
    assert dave_refused(f"/boards/{board.code}/download.zip")


def test_a_missing_object_is_a_404_in_words_when_proxied(kept_run, s3_bucket, bob_client, settings):
    settings.FLORASITE_MEDIA_DELIVERY = "proxy"
    run, _ = kept_run
    image = _image(run)
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=image.file.name)
    response = bob_client.get(f"/runs/{run.code}/outputs/{image.position}")
    assert response.status_code == 404


def test_a_bucket_is_told_while_another_thread_still_imports_django_storages(
    s3_bucket, monkeypatch
):
    """gunicorn's threads: one may find storages.backends.s3 in sys.modules half imported
    (found by the browser check: a 500 on the first requests after a start)."""
    assert default_storage.__class__ is S3Storage  # the default storage, set up
    monkeypatch.setitem(sys.modules, "storages.backends.s3", types.ModuleType("half-imported"))
    assert media.is_bucket()


def test_a_deleted_teams_objects_leave_the_bucket(kept_run, s3_bucket):
    run, _ = kept_run
    thumbnails.make_run_thumbnails(run.pk)
    before = set(s3_bucket.object_keys())
    names = {n for o in run.outputs.all() for n in (o.file.name, o.thumb_small, o.thumb_large) if n}
    assert len(names) == 4 and names <= before  # an image, its two thumbnails, a PDF
    run.team.delete()
    assert set(s3_bucket.object_keys()) == before  # the worker deletes them, not the request
    assert discards.delete_discarded() == {"deleted": 4, "in_use": 0, "failed": 0}
    assert not names & set(s3_bucket.object_keys())
