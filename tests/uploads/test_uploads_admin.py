"""The staff console lists uploads and assets, read-only."""

from __future__ import annotations

import pytest

from tests.uploads import images
from uploads.services import keep_upload
from uploads.validation import prepare

pytestmark = pytest.mark.django_db


def test_uploads_and_assets_are_listed_read_only(admin_client, team_a):
    upload = keep_upload(team_a, None, prepare(images.png(), name="shown.png", kind="image"))
    page = admin_client.get("/admin/uploads/upload/")
    assert page.status_code == 200 and b"shown.png" in page.content
    assert admin_client.get(f"/admin/uploads/upload/{upload.pk}/change/").status_code == 200
    assert admin_client.get("/admin/uploads/upload/add/").status_code == 403
    assert admin_client.get("/admin/uploads/floraasset/").status_code == 200
