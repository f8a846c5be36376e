"""The worker's side: failures leave no file and say why, a killed worker's export is
resumed (then failed after MAX_ATTEMPTS), a slow worker whose claim was taken stops, and
files expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.utils import timezone
from django_tasks import default_task_backend

from exports import services, tasks
from exports.models import Export, ExportStatus
from florasite import periodic
from runs import csv_export
from tests.exports.helpers import built, export_made, stored_names
from tests.runs.live_helpers import plain_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(team_a, bob):
    return [plain_run(team_a, bob) for _ in range(5)]


@pytest.fixture(autouse=True)
def _empty_storage():
    for name in stored_names() if default_storage.exists("exports") else []:
        default_storage.delete(f"exports/{name}")


def test_a_storage_failure_fails_the_export_in_words_and_stores_nothing(
    bob_client, runs, monkeypatch
):
    export = export_made(bob_client)

    def refuse(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(default_storage, "save", refuse)
    assert services.build(export.pk) == "failed"
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert export.error.startswith("The file could not be stored (OSError). Try again")
    assert "disk full" not in export.error
    assert not export.file
    assert not default_storage.exists("exports") or stored_names() == []
    # The page says so, with a way to try again.
    body = bob_client.get("/exports/").content.decode()
    assert "The file could not be stored" in body
    assert f'action="/exports/{export.code}/retry"' in body


def test_a_failure_half_way_leaves_no_half_file(bob_client, runs, monkeypatch):
    monkeypatch.setattr(csv_export, "CHUNK_ROWS", 2)
    export = export_made(bob_client)
    chunks = []

    def dies_on_second_chunk(rows):
        chunks.append(rows)
        if len(chunks) == 2:
            raise OperationalError("database is locked")

    monkeypatch.setattr(services, "_Renewer", lambda *a, **k: dies_on_second_chunk)
    assert services.build(export.pk) == "failed"
    export.refresh_from_db()
    assert export.error.startswith("Reading the runs failed (OperationalError)")
    assert not default_storage.exists("exports") or stored_names() == []


def test_a_failed_export_can_be_retried(
    bob_client, runs, monkeypatch, django_capture_on_commit_callbacks
):
    export = export_made(bob_client)
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.FAILED, error="The file could not be stored", attempts=3
    )
    default_task_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.post(f"/exports/{export.code}/retry", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Queued" in response.content.decode()
    assert [r.args for r in default_task_backend.results] == [[export.pk]]
    export = built(Export.objects.get(pk=export.pk))
    assert export.status == ExportStatus.READY
    assert export.error == ""
    assert export.rows == 5


def test_retrying_while_the_same_filters_are_active_answers_that_one(bob_client, runs):
    failed = export_made(bob_client, intent="first")
    Export.objects.filter(pk=failed.pk).update(status=ExportStatus.FAILED)
    active = export_made(bob_client, intent="second")
    assert active.pk != failed.pk
    assert services.retry(Export.objects.get(pk=failed.pk)).pk == active.pk
    assert Export.objects.get(pk=failed.pk).status == ExportStatus.FAILED


def test_a_killed_workers_export_is_resumed(bob_client, runs):
    export = export_made(bob_client)
    # A worker claimed it and was killed: nothing renews the claim.
    assert services._claim(export.pk, timezone.now()) is not None
    assert services.due_for_resume() == []  # its claim is still running
    later = timezone.now() + services.LEASE + timedelta(seconds=1)
    assert services.due_for_resume(later) == [export.pk]
    export.refresh_from_db()
    assert export.status == ExportStatus.QUEUED
    assert services.due_for_resume(later) == []  # queued once, not at every tick
    assert built(export).status == ExportStatus.READY
    assert export.attempts == 2


def test_the_periodic_job_queues_the_resumed_export(bob_client, runs):
    export = export_made(bob_client)
    Export.objects.filter(pk=export.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    default_task_backend.clear()
    tasks.resume_exports.call()
    assert [(r.task.name, r.args) for r in default_task_backend.results] == [
        ("build_export", [export.pk])
    ]
    assert {"exports.resume", "exports.expire"} <= set(periodic._JOBS)


def test_killed_too_often_it_fails_for_a_person_to_retry(bob_client, runs):
    export = export_made(bob_client)
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING,
        attempts=services.MAX_ATTEMPTS,
        claimed_until=timezone.now() - timedelta(seconds=1),
    )
    assert services.build(export.pk) == "not claimed"
    assert services.due_for_resume() == []
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert "stopped 3 times" in export.error


def test_a_slow_worker_whose_claim_was_taken_over_stores_nothing(bob_client, runs, monkeypatch):
    export = export_made(bob_client)
    monkeypatch.setattr(services, "RENEW_EVERY_SECONDS", 0.0)
    real_write = csv_export.write_history_csv

    def taken_over_meanwhile(*args, **kwargs):
        written = real_write(*args, **kwargs)
        Export.objects.filter(pk=export.pk).update(claim_token="another worker's")
        return written

    monkeypatch.setattr(services, "write_history_csv", taken_over_meanwhile)
    assert services.build(export.pk) == "claim lost"
    assert not default_storage.exists("exports") or stored_names() == []
    assert Export.objects.get(pk=export.pk).status == ExportStatus.RUNNING


def test_a_second_task_for_the_same_export_does_nothing(bob_client, runs):
    export = built(export_made(bob_client))
    assert services.build(export.pk) == "not claimed"
    assert stored_names() == [export.file.name.split("/")[-1]]


def test_files_expire_after_the_set_days(bob_client, runs, settings):
    settings.FLORASITE_EXPORT_KEEP_DAYS = 7
    export = built(export_made(bob_client))
    assert export.expires_at - export.finished_at == timedelta(days=7)
    assert services.expire() == {"expired": 0, "removed": 0}
    assert default_storage.exists(export.file.name)

    in_eight_days = timezone.now() + timedelta(days=8)
    assert services.expire(in_eight_days) == {"expired": 1, "removed": 0}
    name = export.file.name
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED
    assert not export.file
    assert not default_storage.exists(name)
    response = bob_client.get(f"/exports/{export.code}/download")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    # Long after, the row goes too.
    assert services.expire(timezone.now() + timedelta(days=91))["removed"] == 1
    assert not Export.objects.exists()


def test_a_ready_file_past_its_time_is_not_served_before_the_job_runs(bob_client, runs):
    export = built(export_made(bob_client))
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bob_client.get(f"/exports/{export.code}/download").status_code == 410


def test_a_file_gone_from_storage_answers_expired_not_an_error(bob_client, runs):
    export = built(export_made(bob_client))
    default_storage.delete(export.file.name)
    response = bob_client.get(f"/exports/{export.code}/download")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
