"""The history's CSV exports on a bucket (a real S3 server, moto's): the worker writes the
file there, a member's download is a signed URL only after the export's checks (or, with the
proxy delivery, the object streamed in ranges), another team gets neither."""

from __future__ import annotations

import re

import httpx
import pytest

from exports.models import Export
from tests.exports.helpers import built, export_made, rows_of
from tests.runs.live_helpers import plain_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_export(team_a, bob, bob_client, s3_bucket) -> Export:
    for _ in range(3):
        plain_run(team_a, bob)
    export = built(export_made(bob_client))
    assert export.file.name.startswith("exports/")
    return export


def test_the_worker_writes_the_csv_into_the_bucket(ready_export, s3_bucket):
    body = s3_bucket.read(ready_export.file.name)
    assert len(body) == ready_export.size
    assert len(rows_of(body.decode())) == 3
    # Private: no URL without a signature.
    unsigned = httpx.get(f"{s3_bucket.endpoint}/{s3_bucket.name}/{ready_export.file.name}")
    assert unsigned.status_code == 403


def test_a_members_download_is_a_signed_url_named_as_today(ready_export, s3_bucket, bob_client):
    response = bob_client.get(f"/exports/{ready_export.code}/download")
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    url = response["Location"]
    assert url.startswith(f"{s3_bucket.endpoint}/{s3_bucket.name}/{ready_export.file.name}?")
    fetched = httpx.get(url)
    assert fetched.status_code == 200
    assert fetched.content == s3_bucket.read(ready_export.file.name)
    assert fetched.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="runs-acme-\d{8}-\d{4}\.csv"',
        fetched.headers["content-disposition"],
    )
    assert fetched.headers["cache-control"] == "private, no-store"


def test_another_team_gets_no_url(ready_export, dave_client):
    response = dave_client.get(f"/exports/{ready_export.code}/download")
    assert response.status_code == 404
    assert "Location" not in response


def test_the_proxy_delivery_streams_the_object(ready_export, s3_bucket, bob_client, settings):
    settings.FLORASITE_MEDIA_DELIVERY = "proxy"
    response = bob_client.get(f"/exports/{ready_export.code}/download")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == s3_bucket.read(ready_export.file.name)


def test_an_object_gone_from_the_bucket_is_410_in_words(
    ready_export, s3_bucket, bob_client, settings
):
    settings.FLORASITE_MEDIA_DELIVERY = "proxy"
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=ready_export.file.name)
    response = bob_client.get(f"/exports/{ready_export.code}/download")
    assert response.status_code == 410
