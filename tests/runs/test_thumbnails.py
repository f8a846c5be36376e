"""Thumbnails of kept outputs (runs.thumbnails): made once, guarded, turned, served."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from runs import tasks, thumbnails
from runs.display import thumb_tile
from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus, ThumbStatus

pytestmark = pytest.mark.django_db


def image_bytes(size=(800, 400), fmt="PNG", colour=(200, 30, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt, **save)
    return buffer.getvalue()


def kept_output(team, user, data: bytes, content_type="image/png", type_="imageUrl"):
    run = Run.objects.create(
        team=team,
        created_by=user,
        technique_id="tech_cctv-cam",
        technique_name="CCTV Cam",
        status=RunStatus.COMPLETED,
        completed_at=timezone.now(),
    )
    name = default_storage.save(f"outputs/test/{run.code}-1.bin", ContentFile(data))
    return RunOutput.objects.create(
        run=run,
        output_id="frame",
        type=type_,
        file=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        keep_status=OutputKeepStatus.KEPT,
        kept_at=timezone.now(),
    )


def opened(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as handle:
        return Image.open(io.BytesIO(handle.read()))


def test_it_makes_both_sizes_once(team_a, bob):
    output = kept_output(team_a, bob, image_bytes((1600, 800)))
    assert thumbnails.make_thumbnail(output.pk) == ThumbStatus.MADE
    output.refresh_from_db()
    assert (output.width, output.height) == (1600, 800)
    assert opened(output.thumb_small).size == (320, 160)
    assert opened(output.thumb_large).size == (640, 320)
    assert opened(output.thumb_small).format == "WEBP"
    # A second call (a duplicate task, the periodic job) does nothing at all.
    assert thumbnails.make_thumbnail(output.pk) == "skipped"
    again = RunOutput.objects.get(pk=output.pk)
    assert again.thumb_attempts == 1 and again.thumb_small == output.thumb_small


def test_a_small_image_is_not_enlarged(team_a, bob):
    output = kept_output(team_a, bob, image_bytes((100, 50)))
    thumbnails.make_thumbnail(output.pk)
    output.refresh_from_db()
    assert opened(output.thumb_large).size == (100, 50)
    assert thumbnails.thumb_box(100, 50, "large") == (100, 50)


def test_a_decompression_bomb_is_refused_unread(team_a, bob, monkeypatch):
    from florasite.lib import thumbs  # where the guard lives (shared with uploads)

    monkeypatch.setattr(thumbs, "MAX_PIXELS", 1000)
    output = kept_output(team_a, bob, image_bytes((100, 100)))
    assert thumbnails.make_thumbnail(output.pk) == ThumbStatus.FAILED
    output.refresh_from_db()
    assert "more than a thumbnail is made of" in output.thumb_error
    assert output.thumb_small == ""


def test_pillows_own_bomb_guard_is_a_clean_refusal(team_a, bob, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)  # 100 x 100 is twice over: an error
    output = kept_output(team_a, bob, image_bytes((100, 100)))
    assert thumbnails.make_thumbnail(output.pk) == ThumbStatus.FAILED
    output.refresh_from_db()
    assert output.thumb_error == "The image is too large to make a thumbnail of."


def test_exif_orientation_is_applied(team_a, bob):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to show": a portrait photo stored landscape
    output = kept_output(team_a, bob, image_bytes((800, 400), "JPEG", exif=exif), "image/jpeg")
    thumbnails.make_thumbnail(output.pk)
    output.refresh_from_db()
    assert (output.width, output.height) == (400, 800)
    assert opened(output.thumb_small).size == (160, 320)


def test_an_animated_gif_gives_its_first_frame(team_a, bob):
    frames = [Image.new("RGB", (64, 64), colour) for colour in ((0, 0, 255), (255, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    output = kept_output(team_a, bob, buffer.getvalue(), "image/gif")
    assert thumbnails.make_thumbnail(output.pk) == ThumbStatus.MADE
    output.refresh_from_db()
    small = opened(output.thumb_small).convert("RGB")
    red, green, blue = small.getpixel((32, 32))
    assert blue > 200 and red < 50  # the blue first frame, not the yellow second


def test_a_broken_file_fails_once_for_good(team_a, bob):
    output = kept_output(team_a, bob, b"\x89PNG\r\n\x1a\n" + b"\x00" * 200)
    assert thumbnails.make_thumbnail(output.pk) == ThumbStatus.FAILED
    # Not due any more: the periodic job does not try it again and again.
    assert thumbnails.make_due_thumbnails() == 0
    output.refresh_from_db()
    assert output.thumb_attempts == 1 and output.thumb_error


def test_a_storage_error_is_retried_a_few_times_then_given_up(team_a, bob, monkeypatch):
    output = kept_output(team_a, bob, image_bytes())

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(default_storage, "save", broken)
    for _ in range(10):  # ten ticks of the periodic job
        thumbnails.make_due_thumbnails()
    output.refresh_from_db()
    assert output.thumb_attempts == thumbnails.MAX_ATTEMPTS
    assert output.thumb_status == ThumbStatus.FAILED


def test_text_video_and_audio_get_no_thumbnail(team_a, bob):
    video = kept_output(team_a, bob, b"\x00\x00\x00\x18ftypmp42", "video/mp4", "videoUrl")
    assert thumbnails.make_thumbnail(video.pk) == ThumbStatus.NONE
    video.refresh_from_db()
    tile = thumb_tile(video.run, video)
    assert tile.url == "" and tile.kind == "video" and "No poster frame" in tile.note


def test_the_backfill_command_makes_missing_thumbnails(team_a, bob, capsys):
    outputs = [kept_output(team_a, bob, image_bytes(colour=(i, 0, 0))) for i in range(3)]
    call_command("backfill_thumbnails", batch=2)
    assert "3 with thumbnails" in capsys.readouterr().out
    assert all(RunOutput.objects.get(pk=o.pk).has_thumb for o in outputs)


def test_a_kept_copy_queues_its_thumbnails(team_a, bob, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "thumbs_soon", lambda pk: queued.append(pk))
    monkeypatch.setattr(tasks.keeping, "keep_run_outputs", lambda pk: {"kept": 1})
    tasks.keep_outputs.call(41)
    monkeypatch.setattr(tasks.keeping, "keep_run_outputs", lambda pk: {"failed": 1})
    tasks.keep_outputs.call(42)
    assert queued == [41]


def test_thumbnails_are_served_to_members_with_long_caching(team_a, bob, bob_client, dave_client):
    output = kept_output(team_a, bob, image_bytes())
    thumbnails.make_thumbnail(output.pk)
    output.refresh_from_db()
    tile = thumb_tile(output.run, output)
    assert tile.url.endswith(f"?v={output.sha256[:12]}")
    assert (tile.width, tile.height) == (320, 160)
    response = bob_client.get(tile.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert "immutable" in response["Cache-Control"]
    assert b"".join(response.streaming_content)[:4] == b"RIFF"
    again = bob_client.get(tile.url, headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304
    assert dave_client.get(tile.url).status_code == 404
    path = f"/runs/{output.run.code}/outputs/0/thumb/huge"
    assert bob_client.get(path).status_code == 404


def test_the_history_shows_the_small_thumbnail_once_made(team_a, bob, bob_client):
    output = kept_output(team_a, bob, image_bytes())
    Run.objects.filter(pk=output.run_id).update(
        outputs_raw=[{"output_id": "frame", "type": "imageUrl", "url": "https://x.test/a.png"}]
    )
    full = f"/runs/{output.run.code}/outputs/0"
    assert f'src="{full}"' in bob_client.get("/runs/").content.decode()
    thumbnails.make_thumbnail(output.pk)
    body = bob_client.get("/runs/").content.decode()
    assert f'src="{full}/thumb/small?v={output.sha256[:12]}"' in body


def test_a_sandbox_run_kept_by_the_task_gets_its_thumbnail_queued_and_made(
    team_a, bob, sandbox_http, clock, monkeypatch
):
    """The whole path: a real sandbox PNG kept by the keep_outputs task, then thumbnailed."""
    from django_tasks import default_task_backend

    from tests.runs.results_helpers import TAROT, finish_run, sandbox_downloads, start_run

    with sandbox_downloads(monkeypatch):
        run, client = start_run(team_a, bob, *TAROT)
        run = finish_run(run, client, clock, keep=False)
        default_task_backend.clear()
        tasks.keep_outputs.call(run.pk)
    queued = [r for r in default_task_backend.results if r.task.name == "make_thumbnails"]
    assert [r.args for r in queued] == [[run.pk]]
    tasks.make_thumbnails.call(run.pk)
    image = run.outputs.get(type="imageUrl")
    assert image.has_thumb and image.width and image.height
    text = run.outputs.get(type="text")
    assert text.thumb_status == ThumbStatus.NONE
