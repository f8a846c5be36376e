"""Kept outputs made in bulk for the gallery tests and the bench (no FLORA needed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus, ThumbStatus, search_text_of


def make_outputs(
    team,
    user,
    n: int,
    *,
    start: datetime | None = None,
    technique: tuple[str, str] = ("tech_cctv-cam", "CCTV Cam"),
    type_: str = "imageUrl",
    prompt: str = "a lemon on a table",
    batch: int = 2000,
) -> list[RunOutput]:
    """n completed runs of one kept output each, one second apart, the newest last."""
    start = start or timezone.now() - timedelta(seconds=n + 10)
    made: list[RunOutput] = []
    for first in range(0, n, batch):
        count = min(batch, n - first)
        runs = Run.objects.bulk_create(
            [
                Run(
                    team=team,
                    created_by=user,
                    technique_id=technique[0],
                    technique_name=technique[1],
                    status=RunStatus.COMPLETED,
                    inputs=[{"id": "prompt", "type": "text", "value": f"{prompt} {first + i}"}],
                    search_text=search_text_of(
                        [{"type": "text", "value": f"{prompt} {first + i}"}]
                    ),
                    created_at=start + timedelta(seconds=first + i),
                )
                for i in range(count)
            ]
        )
        made += RunOutput.objects.bulk_create(
            [
                RunOutput(
                    run=run,
                    team=team,
                    created_at=run.created_at,
                    output_id="image",
                    type=type_,
                    text="a text output" if type_ == "text" else "",
                    content_type="text/plain" if type_ == "text" else "image/png",
                    keep_status=OutputKeepStatus.KEPT,
                    thumb_status=ThumbStatus.NONE if type_ == "text" else ThumbStatus.PENDING,
                    file="" if type_ == "text" else f"outputs/bulk/{run.code}.png",
                    sha256=f"{first + i:064x}",
                )
                for i, run in enumerate(runs)
            ]
        )
    return made


def make_uploads(
    team,
    user,
    n: int,
    *,
    start: datetime | None = None,
    kind: str = "image",
    name: str = "holiday",
    step: timedelta = timedelta(seconds=1),
):
    """n uploads (rows only, no files), `step` apart, the newest last."""
    from uploads.models import Upload

    start = start or timezone.now() - timedelta(seconds=n + 10)
    content_type = "image/png" if kind == "image" else "video/mp4"
    return Upload.objects.bulk_create(
        [
            Upload(
                team=team,
                uploaded_by=user,
                file=f"uploads/bulk/{team.pk}-{name}-{i}.bin",
                sha256=f"{team.pk:08x}{name.encode().hex()[:16]:0<16}{i:040x}",
                size=100,
                content_type=content_type,
                kind=kind,
                width=64,
                height=48,
                original_name=f"{name}-{i}.{'png' if kind == 'image' else 'mp4'}",
                created_at=start + step * i,
            )
            for i in range(n)
        ]
    )


def query_plan(sql: str, params) -> str:
    """The database's plan for a query, as one string (SQLite or PostgreSQL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A test's few hundred rows fit one page, where a scan is cheapest: tell the
            # planner a scan is dear, as it is at 100k rows, to see the index it would use.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " ".join(str(row) for row in cursor.fetchall())
