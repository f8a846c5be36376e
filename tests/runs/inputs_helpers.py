"""Helpers of the files-as-inputs tests: a completed run with a kept image output."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.utils import timezone

from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus
from tests.uploads import images

# One image input ("scene"), a video output.
ZOOM = "tech_earth-zoom-out"
# Two image inputs ("image", "reference"), an image output.
COLOR = "tech_color-transfer"


def kept_image_run(team, user, *, data: bytes | None = None, code_suffix: str = "") -> Run:
    data = data or images.png()
    run = Run.objects.create(
        team=team,
        created_by=user,
        technique_id="tech_color-transfer",
        technique_name="Color Transfer",
        status=RunStatus.COMPLETED,
        workspace_id="ws_demo",
        flora_run_id=f"run_chain_source{code_suffix}",
        completed_at=timezone.now(),
    )
    output = RunOutput(
        run=run,
        output_id="graded",
        type="imageUrl",
        source_url="https://files.example/graded.png",
        content_type="image/png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        keep_status=OutputKeepStatus.KEPT,
        kept_at=timezone.now(),
    )
    output.file.save("graded.png", ContentFile(data), save=False)
    output.save()
    return run
