"""Files members upload, on a bucket: kept there, thumbnails made from there, and the file
given to the team's members only (a signed URL after the check)."""

from __future__ import annotations

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.uploads import images
from uploads.models import ThumbStatus, Upload
from uploads.thumbnails import make_upload_thumbnail

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(bob_client, fake_assets, s3_bucket):
    data = images.png()
    response = bob_client.post(
        "/uploads/", {"file": SimpleUploadedFile("poster.png", data, "image/png"), "kind": "image"}
    )
    assert response.status_code == 200, response.content
    return Upload.objects.get(), data


def test_an_upload_is_kept_in_the_bucket_and_sent_to_flora_from_there(
    uploaded, s3_bucket, fake_assets
):
    upload, data = uploaded
    assert upload.file.name.startswith("uploads/")
    assert s3_bucket.object_keys() == [upload.file.name]
    kept = s3_bucket.read(upload.file.name)
    assert len(kept) == upload.size
    assert images.pixels(kept) == images.pixels(data)
    (call,) = fake_assets.calls  # FLORA got the kept bytes, read back from the bucket
    assert call["data"] == kept


def test_its_thumbnails_are_made_and_served(uploaded, s3_bucket, bob_client):
    upload, _ = uploaded
    assert make_upload_thumbnail(upload.pk) == ThumbStatus.MADE
    upload.refresh_from_db()
    assert {upload.thumb_small, upload.thumb_large} <= set(s3_bucket.object_keys())
    assert (
        f"/uploads/{upload.public_id}/thumb/small" in bob_client.get("/gallery/").content.decode()
    )
    response = bob_client.get(f"/uploads/{upload.public_id}/thumb/small")
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert b"".join(response.streaming_content) == s3_bucket.read(upload.thumb_small)


def test_the_file_is_a_signed_url_for_members_and_a_404_for_other_teams(
    uploaded, s3_bucket, carol_client, dave_client
):
    upload, _ = uploaded
    path = f"/uploads/{upload.public_id}/file?download=1"
    response = carol_client.get(path)
    assert response.status_code == 302
    fetched = httpx.get(response["Location"])
    assert fetched.content == s3_bucket.read(upload.file.name)
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["content-disposition"] == 'attachment; filename="poster.png"'
    refused = dave_client.get(path)
    assert refused.status_code == 404 and "Location" not in refused


def test_the_proxy_delivery_streams_the_upload(uploaded, s3_bucket, bob_client, settings):
    settings.FLORASITE_MEDIA_DELIVERY = "proxy"
    upload, _ = uploaded
    response = bob_client.get(f"/uploads/{upload.public_id}/file")
    assert response.status_code == 200
    assert response["Content-Length"] == str(upload.size)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == s3_bucket.read(upload.file.name)
