"""Text outputs: FLORA sends the text itself as the output's url. It is kept once (in
RunOutput.text), within the output size limit, and a long one is previewed on the pages,
with the whole text a download away."""

from __future__ import annotations

import json
import time

import pytest
from django.utils import timezone

from runs import shares
from runs.display import TEXT_PREVIEW_CHARS
from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus

pytestmark = pytest.mark.django_db

TAROT = "tech_tarot-pull"
NOW = int(time.time())
HX = {"HX-Request": "true"}
# About a megabyte of text, with a marker far past the preview.
LONG_TEXT = ("All work and no play. " * 45_000) + "THE END"


def _completed_with(client, fake_flora, team, user, outputs: list[dict]) -> Run:
    """A running run that FLORA says completed with these outputs (via the status fragment)."""
    run = Run.objects.create(
        team=team,
        created_by=user,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        flora_run_id="run_x",
        status=RunStatus.RUNNING,
        submitted_at=timezone.now(),
    )
    body = {
        "run_id": "run_x",
        "status": "completed",
        "progress": 100,
        "created_at": NOW - 10,
        "completed_at": NOW,
        "charged_cost": 0.06,
        "outputs": outputs,
    }
    fake_flora.get(f"/techniques/{TAROT}/runs/run_x").respond(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    response = client.get(f"/runs/{run.code}/status", headers=HX)
    assert response.status_code == 286
    return Run.objects.get(pk=run.pk)


def test_a_long_text_is_stored_once_and_previewed(bob_client, bob, team_a, fake_flora):
    run = _completed_with(
        bob_client,
        fake_flora,
        team_a,
        bob,
        [{"output_id": "essay", "type": "text", "url": LONG_TEXT}],
    )

    output = run.outputs.get()
    assert output.text == LONG_TEXT and output.keep_status == OutputKeepStatus.KEPT
    assert output.size == len(LONG_TEXT.encode())
    # Once: the run's copy of FLORA's answer names the output but holds no text.
    assert run.outputs_raw == [{"output_id": "essay", "type": "text"}]

    response = bob_client.get(f"/runs/{run.code}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert len(response.content) < 100_000  # the page stays small
    assert f"Showing the first {TEXT_PREVIEW_CHARS:,} of {len(LONG_TEXT):,} characters." in html
    assert LONG_TEXT[:TEXT_PREVIEW_CHARS] in html and "THE END" not in html
    download = f"/runs/{run.code}/outputs/{output.position}?download=1"
    assert f'<a href="{download}" download="tarot-pull-{run.code}-1.txt">Download the whole' in html
    # Copying would copy only the part shown: the whole is the download.
    assert "data-copy-target" not in html


def test_the_download_is_the_whole_text(bob_client, dave_client, bob, team_a, fake_flora):
    run = _completed_with(
        bob_client,
        fake_flora,
        team_a,
        bob,
        [{"output_id": "essay", "type": "text", "url": LONG_TEXT}],
    )
    url = f"/runs/{run.code}/outputs/0?download=1"

    response = bob_client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="tarot-pull-{run.code}-1.txt"'
    assert b"".join(response.streaming_content).decode() == LONG_TEXT
    assert dave_client.get(url).status_code == 404  # another team's run


def test_the_share_page_previews_a_long_text_too(client, bob_client, bob, team_a, fake_flora):
    run = _completed_with(
        bob_client,
        fake_flora,
        team_a,
        bob,
        [{"output_id": "essay", "type": "text", "url": LONG_TEXT}],
    )
    token = shares.create_share(run, created_by=bob, hide_inputs=False, expires="7d").token

    response = client.get(f"/s/{token}")

    html = response.content.decode()
    assert response.status_code == 200 and len(response.content) < 100_000
    assert f"Showing the first {TEXT_PREVIEW_CHARS:,} of {len(LONG_TEXT):,} characters." in html
    assert f'href="/s/{token}/outputs/0?download=1"' in html
    whole = client.get(f"/s/{token}/outputs/0?download=1")
    assert b"".join(whole.streaming_content).decode() == LONG_TEXT


def test_a_short_text_is_shown_whole_with_a_copy_button(bob_client, bob, team_a, fake_flora):
    run = _completed_with(
        bob_client,
        fake_flora,
        team_a,
        bob,
        [{"output_id": "reading", "type": "text", "url": "Patience."}],
    )

    html = bob_client.get(f"/runs/{run.code}/").content.decode()

    assert '<pre class="output-text" id="output-1-text">Patience.</pre>' in html
    assert 'data-copy-target="output-1-text"' in html
    assert "Showing the first" not in html


def test_a_text_over_the_size_limit_is_not_kept(bob_client, bob, team_a, fake_flora, settings):
    settings.FLORASITE_OUTPUT_MAX_BYTES = 1000
    outputs = [
        {"output_id": "essay", "type": "text", "url": "x" * 2000},
        {"output_id": "note", "type": "text", "url": "Short."},
    ]

    run = _completed_with(bob_client, fake_flora, team_a, bob, outputs)

    essay, note = run.outputs.order_by("position")
    assert essay.keep_status == OutputKeepStatus.FAILED and essay.text == ""
    assert essay.last_error == (
        "The text (2.0\xa0KB) is larger than the 1000\xa0bytes limit "
        "(FLORASITE_OUTPUT_MAX_BYTES); it was not kept."
    )
    assert note.keep_status == OutputKeepStatus.KEPT and note.text == "Short."
    assert all("url" not in raw for raw in run.outputs_raw)
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "Could not be kept." in html and "(FLORASITE_OUTPUT_MAX_BYTES); it was not kept." in html
    assert "x" * 1000 not in html
    # Nothing to fetch again: no "retry" advice for a text.
    assert "Retry keeping outputs" not in html
    assert bob_client.get(f"/runs/{run.code}/outputs/0?download=1").status_code == 404


def test_media_outputs_keep_their_url(bob_client, bob, team_a, fake_flora):
    image = "https://cdn.example.com/card.png"
    run = _completed_with(
        bob_client,
        fake_flora,
        team_a,
        bob,
        [{"output_id": "card", "type": "imageUrl", "url": image}],
    )

    assert run.outputs_raw == [{"output_id": "card", "type": "imageUrl", "url": image}]
    output = RunOutput.objects.get(run=run)
    assert output.source_url == image and output.keep_status == OutputKeepStatus.PENDING
