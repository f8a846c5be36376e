"""The current team's batch, or 404; starting and changing batches needs a member."""

from __future__ import annotations

from django.http import HttpRequest

from batches.models import Batch
from teams.access import get_for_team_or_404


def get_batch(request: HttpRequest, code: str) -> Batch:
    return get_for_team_or_404(request, Batch.objects.select_related("created_by"), code=code)
