"""Fixtures of the boards tests: kept outputs of team A (and one of team B), boards of them.

Outputs are written straight through the ORM with their files in the test storage: the
boards app reads RunOutput rows, so how they were kept does not matter here.
"""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from boards.models import Board
from boards.services import add_output
from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_output(
    team,
    user,
    *,
    kind: str = "image",
    text: str = "",
    technique: str = "Poster Maker",
    inputs: list | None = None,
    keep: str = OutputKeepStatus.KEPT,
    position: int = 0,
) -> RunOutput:
    run = Run.objects.create(
        team=team,
        created_by=user,
        technique_id="tech_poster-maker",
        technique_name=technique,
        status=RunStatus.COMPLETED,
        completed_at=timezone.now(),
        inputs=inputs
        if inputs is not None
        else [{"id": "prompt", "type": "text", "value": "A lemon at dawn"}],
    )
    output = RunOutput(run=run, position=position, output_id=f"{kind}_out", keep_status=keep)
    if kind == "text":
        output.type, output.text = "text", text or "A short poem."
        output.content_type = "text/plain; charset=utf-8"
        output.size = len(output.text.encode())
    else:
        output.type, output.content_type = "imageUrl", "image/png"
        output.source_url = "https://cdn.flora.example/files/secret-run-id/out.png"
        if keep == OutputKeepStatus.KEPT:
            output.file.save("boards-test.png", ContentFile(PNG), save=False)
            output.size, output.sha256 = len(PNG), hashlib.sha256(PNG).hexdigest()
            output.kept_at = timezone.now()
    output.save()
    return output


@pytest.fixture
def image_output(team_a, bob) -> RunOutput:
    return make_output(team_a, bob)


@pytest.fixture
def text_output(team_a, bob) -> RunOutput:
    return make_output(team_a, bob, kind="text", technique="Tarot Pull", text="Patience now.")


@pytest.fixture
def other_team_output(team_b, dave) -> RunOutput:
    return make_output(team_b, dave, technique="Bravo Secret")


@pytest.fixture
def board(team_a, bob, image_output, text_output) -> Board:
    """Team A's board "Spring picks" with the image, then the text."""
    board = Board.objects.create(team=team_a, name="Spring picks", created_by=bob)
    add_output(board, image_output, bob)
    add_output(board, text_output, bob)
    return board
