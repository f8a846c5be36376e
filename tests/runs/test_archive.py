"""Keeping outputs (runs.keeping): copies from the sandbox, failures, retries and claims."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
import respx
from django.core.files.storage import default_storage
from django.utils import timezone

from runs import keeping
from runs.models import OutputKeepStatus, Run, RunOutput
from tests.runs.results_helpers import CDN, CRITIQUE, PNG, TAROT, UGC, make_run, sandbox_downloads
from tests.runs.results_helpers import keep_and_reload as _keep
from tests.runs.results_helpers import pending_output as _pending_output

pytestmark = pytest.mark.django_db


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch):
    with sandbox_downloads(monkeypatch) as client:
        yield client


# --- Copies from the sandbox ------------------------------------------------------------------


def test_it_copies_every_media_output_with_size_type_and_checksum(
    team_a, bob, sandbox_http, clock, downloads
):
    run = make_run(team_a, bob, *CRITIQUE, clock)
    outputs = {o.type: o for o in run.outputs.all()}
    assert set(outputs) == {"text", "imageUrl", "documentUrl"}
    assert all(o.keep_status == OutputKeepStatus.KEPT for o in outputs.values())

    for output, content_type in (
        (outputs["imageUrl"], "image/png"),
        (outputs["documentUrl"], "application/pdf"),
    ):
        original = downloads.get(output.source_url).content
        with default_storage.open(output.file.name, "rb") as kept:
            assert kept.read() == original
        assert output.size == len(original)
        assert output.sha256 == hashlib.sha256(original).hexdigest()
        assert output.content_type == content_type
        assert output.file.name.startswith("outputs/")
        assert output.file.name.endswith((".png", ".pdf"))
        assert output.attempts == 1 and output.kept_at and not output.last_error
    # Text is kept in the database at once, with no file.
    assert outputs["text"].text and not outputs["text"].file


def test_it_keeps_video_and_audio(team_a, bob, sandbox_http, clock, downloads):
    run = make_run(team_a, bob, *UGC, clock)
    kept = {o.type: o.content_type for o in run.outputs.all() if o.is_kept}
    assert kept == {"videoUrl": "video/mp4", "audioUrl": "audio/wav"}


def test_keeping_twice_changes_nothing(team_a, bob, sandbox_http, clock, downloads):
    run = make_run(team_a, bob, *TAROT, clock)
    image = run.outputs.get(type="imageUrl")
    assert keeping.keep_run_outputs(run.pk) == {}
    assert keeping.keep_output(image.pk) == "skipped"
    image.refresh_from_db()
    assert image.attempts == 1


def test_kept_copies_outlive_flora(team_a, bob, bob_client, sandbox_http, clock, downloads):
    """FLORA answering 404 for its URL later, or being down, changes nothing for viewers."""
    run = make_run(team_a, bob, *TAROT, clock)
    image = run.outputs.get(type="imageUrl")
    kept_bytes = downloads.get(image.source_url).content
    with respx.mock(assert_all_called=False) as mock:
        gone = mock.get(image.source_url).respond(404)
        assert bob_client.get(f"/runs/{run.code}/").status_code == 200
        response = bob_client.get(f"/runs/{run.code}/outputs/{image.position}")
        assert b"".join(response.streaming_content) == kept_bytes
    assert not gone.called  # the page never goes back to FLORA
    with respx.mock(assert_all_called=False) as mock:
        mock.route().mock(side_effect=httpx.ConnectError("FLORA is down"))
        page = bob_client.get(f"/runs/{run.code}/")
        assert page.status_code == 200 and "Not kept yet" not in page.content.decode()
        response = bob_client.get(f"/runs/{run.code}/outputs/{image.position}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == kept_bytes


# --- Failures, retries and claims -----------------------------------------------------------


def test_flora_down_is_retried_with_backoff(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    before = timezone.now()
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").mock(side_effect=httpx.ConnectError("refused"))
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.PENDING
    assert output.attempts == 1
    assert output.last_error == "Could not connect to FLORA's file server."
    assert output.next_attempt_at >= before + timedelta(minutes=1)


def test_timeouts_and_server_errors_are_retried(team_a, bob, public_dns):
    first = _pending_output(team_a, bob, f"{CDN}/slow.png")
    second = _pending_output(team_a, bob, f"{CDN}/broken.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/slow.png").mock(side_effect=httpx.ReadTimeout("slow"))
        mock.get(f"{CDN}/broken.png").respond(503)
        first, second = _keep(first), _keep(second)
    assert first.keep_status == second.keep_status == OutputKeepStatus.PENDING
    assert "in time" in first.last_error
    assert "503" in second.last_error


def test_an_expired_signature_is_not_retried(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.png?X-Amz-Signature=deadbeef")
    with respx.mock() as mock:
        mock.get(url__startswith=f"{CDN}/still.png").respond(403)
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "403" in output.last_error
    assert "deadbeef" not in output.last_error


def test_it_gives_up_after_the_last_attempt(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(500)
        for attempt in range(1, keeping.MAX_ATTEMPTS + 1):
            RunOutput.objects.filter(pk=output.pk).update(next_attempt_at=None)
            output = _keep(output)
            assert output.attempts == attempt
    assert output.keep_status == OutputKeepStatus.FAILED
    assert output.next_attempt_at is None
    assert "500" in output.last_error


def test_backoff_doubles_up_to_a_cap():
    assert [keeping.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert keeping.backoff(30) == keeping.BACKOFF_MAX


def test_an_output_is_claimed_once(team_a, bob, public_dns):
    """A second worker finds the output claimed (leased) and leaves it alone."""
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    now = timezone.now()
    assert keeping._claim(output.pk, now)
    assert not keeping._claim(output.pk, now)
    assert keeping.keep_output(output.pk) == "skipped"
    # A worker that died mid-copy is replaced once its lease ran out.
    assert keeping._claim(output.pk, now + keeping.CLAIM_LEASE + timedelta(seconds=1))


def test_retry_due_outputs_takes_only_due_ones(team_a, bob, public_dns):
    due = _pending_output(team_a, bob, f"{CDN}/due.png")
    later = _pending_output(team_a, bob, f"{CDN}/later.png")
    failed = _pending_output(team_a, bob, f"{CDN}/failed.png")
    RunOutput.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    RunOutput.objects.filter(pk=failed.pk).update(keep_status=OutputKeepStatus.FAILED)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{CDN}/due.png").respond(200, content=PNG, headers={"Content-Type": "image/png"})
        other = mock.route()
        assert keeping.retry_due_outputs() == 1
    assert not other.called
    due.refresh_from_db()
    assert due.keep_status == OutputKeepStatus.KEPT


def test_the_periodic_task_and_admin_reset_retry_failed_outputs(team_a, bob, public_dns):
    from runs.tasks import retry_keeping_outputs

    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    RunOutput.objects.filter(pk=output.pk).update(
        keep_status=OutputKeepStatus.FAILED,
        attempts=6,
        last_error="FLORA's file server answered 500.",
    )
    assert keeping.reset_failed_outputs(Run.objects.filter(pk=output.run_id)) == 1
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png"}
        )
        retry_keeping_outputs.call()
    output.refresh_from_db()
    assert output.keep_status == OutputKeepStatus.KEPT
    assert output.attempts == 1 and output.last_error == ""


def test_an_output_without_url_fails_clearly(team_a, bob):
    output = _keep(_pending_output(team_a, bob, ""))
    assert output.keep_status == OutputKeepStatus.FAILED
    assert output.last_error == "FLORA gave no URL for this output."


def test_a_storage_failure_is_retried(team_a, bob, public_dns, monkeypatch):
    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(default_storage, "save", broken_save)
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.PENDING
    assert output.last_error == "The copy could not be written to storage."


def test_completing_a_run_schedules_keeping(
    team_a, bob, sandbox_http, clock, django_capture_on_commit_callbacks
):
    """apply_remote enqueues keep_outputs on commit; the task keeps the media."""
    from django_tasks import default_task_backend

    from tests.runs.results_helpers import finish_run, start_run

    default_task_backend.clear()
    run, client = start_run(team_a, bob, *TAROT)
    with django_capture_on_commit_callbacks(execute=True):
        run = finish_run(run, client, clock, keep=False)
    enqueued = [r.task.name for r in default_task_backend.results]
    assert "keep_outputs" in enqueued
    assert run.outputs.get(type="imageUrl").keep_status == OutputKeepStatus.PENDING


def test_the_admin_reset_leaves_a_text_refused_for_its_size_alone(team_a, bob):
    # Another attempt cannot shrink it, and a text output has no URL to fetch again.
    output = _pending_output(team_a, bob, "", media_type="text")
    RunOutput.objects.filter(pk=output.pk).update(
        keep_status=OutputKeepStatus.FAILED, last_error="The text is larger than the limit."
    )
    assert keeping.reset_failed_outputs(Run.objects.filter(pk=output.run_id)) == 0
    output.refresh_from_db()
    assert (output.keep_status, output.last_error) == (
        OutputKeepStatus.FAILED,
        "The text is larger than the limit.",
    )
