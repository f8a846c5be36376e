"""Upload thumbnails (issue 16, uploads in the gallery): made once from the kept file by the
same render as an output's, served to the team, queued after an upload, backfilled."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from tests.gallery.helpers import make_uploads
from tests.uploads import images
from tests.uploads.test_upload_views import post
from uploads.models import ThumbStatus, Upload
from uploads.services import keep_upload
from uploads.thumbnails import make_due_upload_thumbnails, make_upload_thumbnail
from uploads.validation import prepare

pytestmark = pytest.mark.django_db


def kept_png(team, user, size=(800, 400)) -> Upload:
    data = images.encoded("PNG", size=size)
    return keep_upload(team, user, prepare(data, name="wide.png", kind="image"))


def test_an_image_uploads_thumbnails_are_made_once_and_served(team_a, bob, bob_client):
    upload = kept_png(team_a, bob)
    assert upload.thumb_status == ThumbStatus.PENDING
    assert make_upload_thumbnail(upload.pk) == ThumbStatus.MADE
    assert make_upload_thumbnail(upload.pk) == "skipped"  # made: nothing more to do
    upload.refresh_from_db()
    with default_storage.open(upload.thumb_small, "rb") as handle:
        small = Image.open(io.BytesIO(handle.read()))
    assert (small.format, small.size) == ("WEBP", (320, 160))
    response = bob_client.get(f"/uploads/{upload.public_id}/thumb/large")
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    again = bob_client.get(
        f"/uploads/{upload.public_id}/thumb/large", headers={"If-None-Match": response["ETag"]}
    )
    assert again.status_code == 304
    assert bob_client.get(f"/uploads/{upload.public_id}/thumb/huge").status_code == 404
    # The gallery tile shows it, at its own proportions.
    body = bob_client.get("/gallery/").content.decode()
    assert f'src="/uploads/{upload.public_id}/thumb/small" width="320" height="160"' in body


def test_a_video_gets_a_typed_tile_and_a_broken_image_fails_for_good(team_a, bob, bob_client):
    (video,) = make_uploads(team_a, bob, 1, kind="video")
    assert make_upload_thumbnail(video.pk) == ThumbStatus.NONE
    (broken,) = make_uploads(team_a, bob, 1, name="broken")
    default_storage.save(broken.file.name, ContentFile(b"not a png at all"))
    assert make_upload_thumbnail(broken.pk) == ThumbStatus.FAILED
    broken.refresh_from_db()
    assert broken.thumb_error == "The file is not an image this site can read."
    assert bob_client.get(f"/uploads/{broken.public_id}/thumb/small").status_code == 404
    body = bob_client.get("/gallery/").content.decode()
    assert "No poster frame: open the file to play it." in body
    assert "No thumbnail could be made." in body


def test_a_storage_error_is_retried_then_given_up(team_a, bob):
    (missing,) = make_uploads(team_a, bob, 1, name="gone")  # no file in storage
    assert make_upload_thumbnail(missing.pk) == ThumbStatus.PENDING
    assert make_due_upload_thumbnails() == 1  # the second attempt (each run: once per row)
    assert make_due_upload_thumbnails() == 1  # the third, the last
    assert make_due_upload_thumbnails() == 0
    missing.refresh_from_db()
    assert (missing.thumb_status, missing.thumb_attempts) == (ThumbStatus.FAILED, 3)
    assert missing.thumb_error == "The thumbnail could not be read or written in storage."


def test_an_upload_queues_its_thumbnails_once(
    bob_client, fake_assets, django_capture_on_commit_callbacks
):
    from django_tasks import default_task_backend

    default_task_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post(bob_client, images.png(), name="one.png")
        post(bob_client, images.png(), name="again.png")  # the same bytes: the same upload
    queued = [r for r in default_task_backend.results if r.task.name == "make_upload_thumbnail"]
    assert [r.args for r in queued] == [[Upload.objects.get().pk]]


def test_the_periodic_job_and_the_backfill_make_older_uploads_thumbnails(team_a, bob):
    from runs import tasks

    first, second = kept_png(team_a, bob, (60, 40)), kept_png(team_a, bob, (40, 60))
    tasks.make_due_thumbnails.call()
    first.refresh_from_db()
    assert first.has_thumb
    Upload.objects.filter(pk=first.pk).update(thumb_status=ThumbStatus.PENDING, thumb_attempts=0)
    out = io.StringIO()
    call_command("backfill_thumbnails", stdout=out)
    assert "Uploads now: 2 with thumbnails" in out.getvalue()
    assert all(u.has_thumb for u in Upload.objects.filter(pk__in=[first.pk, second.pk]))
