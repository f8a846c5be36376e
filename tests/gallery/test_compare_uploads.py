"""Compare with uploads (issue 16): `o=u<id>` names an upload beside outputs' `o=<id>`."""

from __future__ import annotations

import pytest

from tests.gallery.helpers import make_outputs, make_uploads
from tests.gallery.test_compare import compare

pytestmark = pytest.mark.django_db


def test_an_upload_and_an_output_side_by_side(team_a, bob, bob_client):
    (output,) = make_outputs(team_a, bob, 1)
    (upload,) = make_uploads(team_a, bob, 1, name="reference")
    response = compare(bob_client, f"u{upload.pk}", output.pk)
    assert response.status_code == 200
    first, second = response.context["columns"]
    assert first.tile.upload == upload and second.tile.output == output
    assert first.file_url == f"/uploads/{upload.public_id}/file"
    assert response.context["slider"] is True  # two images
    body = response.content.decode()
    assert "reference-0.png" in body and "Uploaded from a computer: no inputs." in body
    assert f"/gallery/uploads/{upload.public_id}/favourite" in body


def test_two_uploads_a_repeat_and_a_video(team_a, bob, bob_client):
    (image,) = make_uploads(team_a, bob, 1)
    (video,) = make_uploads(team_a, bob, 1, kind="video", name="clip")
    response = compare(bob_client, f"u{image.pk}", f"u{video.pk}", f"u{image.pk}")
    assert response.status_code == 200
    assert [c.tile.kind for c in response.context["columns"]] == ["image", "video"]
    assert response.context["slider"] is False
    assert compare(bob_client, f"u{image.pk}", f"u{image.pk}").status_code == 400


def test_another_teams_upload_or_a_bad_id_is_refused(team_a, team_b, bob, dave, bob_client):
    (mine,) = make_uploads(team_a, bob, 1)
    (theirs,) = make_uploads(team_b, dave, 1, name="secret")
    response = compare(bob_client, f"u{mine.pk}", f"u{theirs.pk}")
    assert response.status_code == 404 and "secret" not in response.content.decode()
    assert compare(bob_client, f"u{mine.pk}", "ux").status_code == 400
    assert compare(bob_client, f"u{mine.pk}", "u-3").status_code == 400


def test_gallery_upload_tiles_tick_into_the_compare_form(team_a, bob, bob_client):
    (upload,) = make_uploads(team_a, bob, 1)
    body = bob_client.get("/gallery/").content.decode()
    assert f'name="o" value="u{upload.pk}" form="compare-form"' in body
