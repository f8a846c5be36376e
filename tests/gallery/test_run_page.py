"""The gallery's parts on the run page: a star on each kept output, and "Compare"."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gallery.models import Favourite
from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus

pytestmark = pytest.mark.django_db


def two_image_run(team, user) -> Run:
    run = Run.objects.create(
        team=team,
        created_by=user,
        technique_id="tech_cctv-cam",
        technique_name="CCTV Cam",
        status=RunStatus.COMPLETED,
        completed_at=timezone.now(),
    )
    for position in range(2):
        RunOutput.objects.create(
            run=run,
            position=position,
            output_id=f"frame_{position}",
            type="imageUrl",
            file=f"outputs/x/{run.code}-{position}.png",
            content_type="image/png",
            keep_status=OutputKeepStatus.KEPT,
        )
    return run


def test_the_run_page_stars_outputs_and_links_to_compare(team_a, bob, bob_client):
    run = two_image_run(team_a, bob)
    first, second = run.outputs.order_by("position")
    Favourite.objects.create(user=bob, team=team_a, output=second)
    body = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert f'action="/gallery/outputs/{first.pk}/favourite"' in body
    assert body.count('aria-pressed="true"') == 1
    assert f"/gallery/compare?o={first.pk}&amp;o={second.pk}" in body


def test_outputs_copied_with_the_run_carry_its_team_and_time(team_a, bob):
    run = two_image_run(team_a, bob)
    for output in run.outputs.all():
        assert output.team_id == team_a.pk and output.created_at == run.created_at
