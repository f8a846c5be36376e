"""A deleted team's files leave storage (florasite.discards): kept outputs, uploads, their
thumbnails and exports; a thumbnail another team shares stays; a rolled-back delete, none."""

from __future__ import annotations

import hashlib
import io
import logging
from datetime import date

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.db import transaction
from django.urls import reverse
from PIL import Image

from budgets.models import LedgerEntry
from exports.models import Export, ExportStatus
from florasite import discards, periodic
from florasite.models import DiscardedFile
from runs import thumbnails
from runs.models import RunOutput
from teams.models import FloraConnection, Team
from tests.runs.test_thumbnails import kept_output
from uploads import thumbnails as upload_thumbnails
from uploads.models import Upload, UploadKind

pytestmark = pytest.mark.django_db


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload(team: Team, data: bytes) -> Upload:
    name = default_storage.save("uploads/test/photo.png", ContentFile(data))
    row = Upload.objects.create(
        team=team,
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content_type="image/png",
        kind=UploadKind.IMAGE,
        original_name="photo.png",
    )
    assert upload_thumbnails.make_upload_thumbnail(row.pk) == "made"
    row.refresh_from_db()
    return row


def export(team: Team) -> Export:
    name = default_storage.save("exports/test.csv", ContentFile(b"code,status\r\n"))
    return Export.objects.create(team=team, status=ExportStatus.READY, file=name, rows=0)


def names_of(team: Team) -> list[str]:
    """Every storage name the team's rows hold."""
    names = []
    for output in RunOutput.objects.filter(run__team=team):
        names += [output.file.name, output.thumb_small, output.thumb_large]
    for row in Upload.objects.filter(team=team):
        names += [row.file.name, row.thumb_small, row.thumb_large]
    names += [row.file.name for row in Export.objects.filter(team=team)]
    assert all(names), names
    return names


@pytest.fixture
def files_of_a(team_a, bob) -> list[str]:
    output = kept_output(team_a, bob, png((200, 30, 30)))
    assert thumbnails.make_thumbnail(output.pk) == "made"
    upload(team_a, png((30, 200, 30)))
    export(team_a)
    names = names_of(team_a)
    assert len(names) == 7 and all(default_storage.exists(name) for name in names)
    return names


def test_a_deleted_teams_files_are_deleted_by_the_worker(team_a, team_b, dave, files_of_a):
    of_b = kept_output(team_b, dave, png((1, 2, 3)))
    team_a.delete()
    # Nothing is deleted in the request: the names wait for the worker, in the same commit.
    assert sorted(DiscardedFile.objects.values_list("name", flat=True)) == sorted(files_of_a)
    assert all(default_storage.exists(name) for name in files_of_a)

    assert discards.delete_discarded() == {"deleted": 7, "in_use": 0, "failed": 0}
    assert not any(default_storage.exists(name) for name in files_of_a)
    assert not DiscardedFile.objects.exists()
    assert default_storage.exists(of_b.file.name)  # another team's files are untouched
    assert discards.delete_discarded() == {"deleted": 0, "in_use": 0, "failed": 0}


def test_a_thumbnail_another_team_shows_stays(team_a, team_b, bob, dave, files_of_a):
    # Team b uploaded the very image team a kept as an output: one set of thumbnails.
    shared = RunOutput.objects.get(run__team=team_a)
    with default_storage.open(shared.file.name, "rb") as handle:
        of_b = upload(team_b, handle.read())
    assert (of_b.thumb_small, of_b.thumb_large) == (shared.thumb_small, shared.thumb_large)

    team_a.delete()
    assert discards.delete_discarded() == {"deleted": 5, "in_use": 2, "failed": 0}
    assert default_storage.exists(of_b.thumb_small) and default_storage.exists(of_b.thumb_large)
    assert default_storage.exists(of_b.file.name)
    assert not default_storage.exists(shared.file.name)
    assert not DiscardedFile.objects.exists()


def test_a_delete_that_rolls_back_discards_nothing(team_a, files_of_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        Team.objects.get(pk=team_a.pk).delete()
        raise RuntimeError("the admin's request failed after the delete")
    assert Team.objects.filter(pk=team_a.pk).exists()
    assert not DiscardedFile.objects.exists()
    assert discards.delete_discarded()["deleted"] == 0
    assert all(default_storage.exists(name) for name in files_of_a)


def test_a_storage_failure_is_retried_then_left_for_an_operator(
    team_a, files_of_a, monkeypatch, caplog
):
    team_a.delete()
    storage = storages["default"]  # what default_storage wraps
    real_delete = storage.delete
    failing = files_of_a[0]

    def delete(name: str) -> None:
        if name == failing:
            raise OSError("bucket unreachable")
        real_delete(name)

    monkeypatch.setattr(storage, "delete", delete)
    caplog.set_level(logging.WARNING, logger="florasite.discards")
    # The first pass stops at the failure's batch; the others go on the next.
    assert discards.delete_discarded() == {"deleted": 6, "in_use": 0, "failed": 1}
    row = DiscardedFile.objects.get()
    assert (row.name, row.attempts, row.last_error) == (failing, 1, "bucket unreachable")
    assert "bucket unreachable" in caplog.text

    for _ in range(discards.MAX_ATTEMPTS - 1):
        discards.delete_discarded()
    row.refresh_from_db()
    assert row.attempts == discards.MAX_ATTEMPTS
    assert [r.levelname for r in caplog.records][-1] == "ERROR"
    # Left for an operator: no more attempts, the row and the file stay.
    assert discards.delete_discarded() == {"deleted": 0, "in_use": 0, "failed": 0}
    assert default_storage.exists(failing)

    monkeypatch.setattr(storage, "delete", real_delete)
    DiscardedFile.objects.update(attempts=0)  # what an operator does once the bucket is back
    assert discards.delete_discarded()["deleted"] == 1
    assert not default_storage.exists(failing)


def test_many_names_are_written_and_deleted_in_batches(db, django_assert_max_num_queries):
    names = [
        default_storage.save(f"outputs/test/many-{i}.bin", ContentFile(b"x")) for i in range(450)
    ]
    with django_assert_max_num_queries(1):
        assert discards.discard(["", *names[:10], "", "x" * 501]) == 10
    assert discards.discard(names[10:]) == 440
    # Batches of at most BATCH names (400), each: read, two in-use checks, one delete.
    with django_assert_max_num_queries(3 * 4 + 1):
        assert discards.delete_discarded()["deleted"] == 450
    assert not any(default_storage.exists(name) for name in names)


def test_the_worker_runs_it_every_minute():
    job = periodic._JOBS["florasite.discards"]
    assert job.every.total_seconds() == 60
    assert job.task.name == "delete_discarded_files"


def test_a_team_deleted_in_the_admin_has_its_files_discarded(admin_client, team_a, files_of_a):
    # A team that ran has a ledger (read-only in the admin) and a connection (never deleted
    # on its own): neither stops the team's delete.
    LedgerEntry.objects.create(
        team=team_a, kind="reserve", amount=100, month="2026-12", day=date(2026, 12, 3)
    )
    assert FloraConnection.objects.filter(team=team_a).exists()
    url = f"/admin/teams/team/{team_a.pk}/delete/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302 and not Team.objects.filter(pk=team_a.pk).exists()
    assert DiscardedFile.objects.count() == len(files_of_a)
    assert discards.delete_discarded()["deleted"] == len(files_of_a)


def test_teams_deleted_by_the_admins_bulk_action_have_their_files_discarded(
    admin_client, team_b, dave
):
    output = kept_output(team_b, dave, png((9, 9, 9)))
    data = {"action": "delete_selected", "_selected_action": [team_b.pk]}
    assert "Are you sure" in admin_client.post("/admin/teams/team/", data).content.decode()
    response = admin_client.post("/admin/teams/team/", {**data, "post": "yes"})
    assert response.status_code == 302 and not Team.objects.filter(pk=team_b.pk).exists()
    assert list(DiscardedFile.objects.values_list("name", flat=True)) == [output.file.name]


def test_the_admin_lists_what_storage_refused_and_can_try_again(admin_client, db):
    discards.discard(["outputs/test/gone.bin"])
    DiscardedFile.objects.update(attempts=discards.MAX_ATTEMPTS, last_error="bucket unreachable")
    page = admin_client.get("/admin/florasite/discardedfile/").content.decode()
    assert "outputs/test/gone.bin" in page and "bucket unreachable" in page
    row = DiscardedFile.objects.get()
    response = admin_client.post(
        "/admin/florasite/discardedfile/",
        {"action": "try_again", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "1 file will be deleted" in response.content.decode()
    row.refresh_from_db()
    assert (row.attempts, row.last_error) == (0, "")
    assert admin_client.post(f"/admin/florasite/discardedfile/{row.pk}/delete/").status_code == 403
    assert discards.delete_discarded()["deleted"] == 1


def test_a_run_an_upload_and_an_export_deleted_in_the_admin_discard_their_files(
    admin_client, team_a, files_of_a
):
    output = RunOutput.objects.get(run__team=team_a)
    row = Upload.objects.get(team=team_a)
    made = Export.objects.get(team=team_a)
    pages = [
        (
            f"/admin/runs/run/{output.run_id}/delete/",
            [output.file.name, output.thumb_small, output.thumb_large],
        ),
        (
            f"/admin/uploads/upload/{row.pk}/delete/",
            [row.file.name, row.thumb_small, row.thumb_large],
        ),
        (f"/admin/exports/export/{made.pk}/delete/", [made.file.name]),
    ]
    for url, names in pages:
        response = admin_client.post(url, {"post": "yes"})
        assert response.status_code == 302, url
        assert sorted(DiscardedFile.objects.values_list("name", flat=True)) == sorted(names)
        assert discards.delete_discarded()["deleted"] == len(names)
        assert not any(default_storage.exists(name) for name in names)
    assert not RunOutput.objects.exists() and not Upload.objects.exists()


def test_the_bulk_delete_of_runs_discards_every_outputs_files(admin_client, team_a, bob):
    outputs = [kept_output(team_a, bob, png((i, 0, 0))) for i in range(3)]
    data = {"action": "delete_selected", "_selected_action": [o.run_id for o in outputs]}
    response = admin_client.post("/admin/runs/run/", {**data, "post": "yes"})
    assert response.status_code == 302
    assert sorted(DiscardedFile.objects.values_list("name", flat=True)) == sorted(
        o.file.name for o in outputs
    )


def test_a_thumbnail_gone_from_storage_is_made_again(team_a, bob, bob_client, caplog):
    """What the rare race leaves (a shared thumbnail deleted just as another row took it),
    and any thumbnail lost otherwise: the next request finds it missing, the row is set
    pending, the periodic job makes it again."""
    output = kept_output(team_a, bob, png((200, 30, 30)))
    assert thumbnails.make_thumbnail(output.pk) == "made"
    row = upload(team_a, png((30, 200, 30)))
    output.refresh_from_db()
    urls = [
        (reverse("runs:output_thumb", args=[output.run.code, 0, "small"]), output),
        (reverse("uploads:thumb", args=[row.public_id, "small"]), row),
    ]
    for url, owner in urls:
        default_storage.delete(owner.thumb_small)
        caplog.clear()
        response = bob_client.get(url)
        assert response.status_code == 404
        assert "missing from storage; made again" in caplog.text
        owner.refresh_from_db()
        assert (owner.thumb_status, owner.thumb_small, owner.thumb_attempts) == ("pending", "", 0)
    assert thumbnails.make_due_thumbnails() == 1
    assert upload_thumbnails.make_due_upload_thumbnails() == 1
    for url, owner in urls:
        owner.refresh_from_db()
        assert owner.thumb_status == "made" and default_storage.exists(owner.thumb_small)
        assert bob_client.get(url).status_code == 200
