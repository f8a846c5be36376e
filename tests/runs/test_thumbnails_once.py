"""Two workers never make one output's thumbnails twice (found by tests/topology).

The attempt's claim used to be a counter only: while one worker rendered attempt 1, another
worker's periodic pass (make_due_thumbnails) saw the row still pending and claimed attempt 2,
and both stored the thumbnails, the second under a suffixed name: a file no row names.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from florasite.lib import thumbs
from runs import thumbnails
from runs.models import RunOutput, ThumbStatus
from tests.runs.test_thumbnails import image_bytes, kept_output

pytestmark = pytest.mark.django_db


def test_an_attempt_under_way_is_left_alone_until_its_lease_runs_out(team_a, bob, monkeypatch):
    # Its own colour: thumbnails are shared by checksum, and storage by the whole session.
    output = kept_output(team_a, bob, image_bytes(colour=(10, 200, 90)))
    # Worker A claims the attempt, and is still rendering...
    assert thumbnails._claim(output)
    renders: list[str] = []
    make_and_store = thumbnails.make_and_store

    def counting(name: str, key: str):
        renders.append(name)
        return make_and_store(name, key)

    monkeypatch.setattr(thumbnails, "make_and_store", counting)

    # ...so worker B's task and its periodic pass start no second attempt.
    assert thumbnails.make_thumbnail(output.pk) == "skipped"
    assert thumbnails.make_due_thumbnails() == 0
    assert renders == []
    assert RunOutput.objects.get(pk=output.pk).thumb_attempts == 1

    # A died: once the lease has run out, the next pass makes them, once, and lets go.
    RunOutput.objects.filter(pk=output.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert thumbnails.make_due_thumbnails() == 1
    row = RunOutput.objects.get(pk=output.pk)
    assert row.thumb_status == ThumbStatus.MADE and row.thumb_attempts == 2
    assert row.next_attempt_at is None
    assert len(renders) == 1


def test_a_thumbnail_stored_meanwhile_is_kept_once(team_a, bob, monkeypatch):
    """Another worker stores the same thumbnail between the check and the save: one file."""
    data = image_bytes(colour=(90, 10, 200))
    source = default_storage.save("outputs/test/race.png", ContentFile(data))
    key = "ab" + "0" * 62
    target = f"thumbs/ab/{key}-640.webp"
    default_storage.save(target, ContentFile(b"the other worker's copy"))
    exists = default_storage.exists
    checked: list[str] = []

    def checked_too_early(name: str) -> bool:
        # make_and_store's own check of each target ran before the other worker's save
        # landed; the storage's later checks (its free-name search) see what is there.
        if name.startswith("thumbs/") and name not in checked:
            checked.append(name)
            return False
        return exists(name)

    monkeypatch.setattr(default_storage, "exists", checked_too_early)
    saved: list[str] = []
    save = default_storage.save

    def recording(name, content, **kwargs):
        saved.append(save(name, content, **kwargs))
        return saved[-1]

    monkeypatch.setattr(default_storage, "save", recording)

    stored, _ = thumbs.make_and_store(source, key)

    assert stored["large"] == target
    suffixed = [name for name in saved if "-640" in name and name != target]
    assert suffixed, "the save got another name (the race happened)"
    assert not any(exists(name) for name in suffixed), "the second copy was removed"
    assert exists(target)
