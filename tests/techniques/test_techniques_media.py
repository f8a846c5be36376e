"""techniques.media and the run form: a file or an upload stands in for a link, as
sha256:<hex> in the plan, so the intent covers the content."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

from flora import Technique
from techniques.forms import RunForm, new_intent_token
from tests.uploads import images
from uploads.services import keep_upload
from uploads.validation import prepare

pytestmark = pytest.mark.django_db

TECHNIQUE = Technique.model_validate(
    {
        "technique_id": "tech_frames",
        "name": "Frames",
        "run_cost": 0.1,
        "outputs": [],
        "inputs": [
            {"id": "photo", "name": "Photo", "type": "imageUrl"},
            {"id": "looks", "name": "Looks", "type": "imageUrl", "allow_multiple": True,
             "optional": True},
            {"id": "clip", "name": "Clip", "type": "videoUrl", "optional": True},
        ],
    }
)  # fmt: skip


def form(team, *, files=None, token=None, **values):
    data = {"intent": token or new_intent_token(team, TECHNIQUE.technique_id), **values}
    return RunForm(
        data,
        technique=TECHNIQUE,
        team=team,
        workspace_id="ws_demo",
        files=MultiValueDict(files or {}),
    )


def png_file(name="p.png"):
    return SimpleUploadedFile(name, images.png(), "image/png")


def test_a_file_stands_in_for_a_required_link(team_a):
    bound = form(team_a, files={"file_photo": [png_file()]})
    assert bound.is_valid(), bound.errors
    sha = prepare(images.png(), name="p.png", kind="image").sha256
    assert bound.plan == [[{"id": "photo", "type": "imageUrl", "value": f"sha256:{sha}"}]]


def test_neither_a_file_nor_a_link_is_required_in_words(team_a):
    bound = form(team_a)
    assert not bound.is_valid()
    assert bound.errors["in_photo"] == ["Photo is required."]


def test_a_file_and_an_upload_of_the_same_bytes_are_the_same_intent(team_a, alice):
    token = new_intent_token(team_a, TECHNIQUE.technique_id)
    with_file = form(team_a, token=token, files={"file_photo": [png_file()]})
    upload = keep_upload(team_a, alice, prepare(images.png(), name="x.png", kind="image"))
    with_ref = form(team_a, token=token, ref_photo=upload.ref)
    assert with_file.is_valid() and with_ref.is_valid()
    assert with_file.intent_key == with_ref.intent_key
    other = form(team_a, token=token, files={"file_photo": [
        SimpleUploadedFile("q.png", images.png(size=(10, 10)), "image/png")]})  # fmt: skip
    assert other.is_valid() and other.intent_key != with_file.intent_key


def test_a_chosen_file_adds_one_run_to_an_allow_multiple_input(team_a):
    bound = form(
        team_a,
        in_photo="https://example.com/a.png",
        in_looks="https://example.com/1.png\nhttps://example.com/2.png",
        files={"file_looks": [png_file()]},
    )
    assert bound.is_valid(), bound.errors
    assert bound.run_count == 3
    assert bound.plan[-1][-1]["value"].startswith("sha256:")


def test_an_image_in_a_video_input_is_refused_there(team_a):
    bound = form(team_a, in_photo="https://example.com/a.png", files={"file_clip": [png_file()]})
    assert not bound.is_valid()
    assert bound.errors["in_clip"] == [
        "This file is an image, not a video: use it in an image input."
    ]


def test_an_upload_of_the_other_kind_is_not_chosen(team_a, alice):
    upload = keep_upload(team_a, alice, prepare(images.MP4, name="v.mp4", kind="video"))
    bound = form(team_a, ref_photo=upload.ref)
    assert not bound.is_valid()
    assert "is not one of your team's images any more" in bound.errors["in_photo"][0]


def test_a_malformed_reference_is_refused(team_a):
    bound = form(team_a, ref_photo="upload:../../etc/passwd")
    assert not bound.is_valid()
    assert "choose it again" in bound.errors["in_photo"][0]


def test_initial_refs_of_another_team_are_dropped(team_a, team_b, alice):
    theirs = keep_upload(team_b, None, prepare(images.png(), name="x.png", kind="image"))
    unbound = RunForm(
        technique=TECHNIQUE, team=team_a, workspace_id="ws_demo", initial_refs={"photo": theirs.ref}
    )
    assert unbound.choices == {} and "ref_photo" not in unbound.initial
    mine = keep_upload(team_a, alice, prepare(images.png(), name="x.png", kind="image"))
    unbound = RunForm(
        technique=TECHNIQUE, team=team_a, workspace_id="ws_demo", initial_refs={"photo": mine.ref}
    )
    assert unbound.choices["photo"].upload == mine
    assert unbound.initial["ref_photo"] == mine.ref
