"""The worker's file is today's export, cell for cell (tests/exports/old_export.py is the
code runs:export streamed before issue 19), filters applied, for awkward cells too."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from runs import csv_export
from runs.models import Run, RunOrigin, RunStatus
from tests.exports.helpers import built, export_made, rows_of, stored_text
from tests.exports.old_export import old_csv_rows, old_queryset
from tests.runs.live_helpers import plain_run

pytestmark = pytest.mark.django_db

BASE = "http://testserver"


@pytest.fixture
def awkward(team_a, team_b, alice, bob, dave):
    now = timezone.now().replace(microsecond=123456)
    same = now - timedelta(hours=3)
    runs = [
        plain_run(
            team_a,
            bob,
            technique_name='=HYPERLINK("http://evil")',
            error_message="+1",
            created_at=same,
            completed_at=same + timedelta(seconds=61.25),
            charged_cost=Decimal("0.06"),
        ),
        # Ties on created_at: the keyset must neither skip nor repeat them.
        plain_run(
            team_a,
            alice,
            technique_name='Quotes "and", commas\nand lines',
            created_at=same,
            status=RunStatus.FAILED,
            completed_at=same,
            error_code="@code",
            error_message="-minus\r\nand\ttabs",
            project_id="prj_x",
        ),
        plain_run(
            team_a,
            None,
            origin=RunOrigin.EXTERNAL,
            created_at=same,
            flora_run_id="run_ext",
            technique_name="Ünïcødé ✨ 東京",
            charged_cost=None,
        ),
        plain_run(
            team_a,
            bob,
            status=RunStatus.RUNNING,
            progress=0.42,
            created_at=now - timedelta(minutes=5),
        ),
        plain_run(
            team_a,
            bob,
            status=RunStatus.PENDING,
            progress=250,
            created_at=now - timedelta(minutes=4),
        ),
        plain_run(
            team_a,
            bob,
            status=RunStatus.FAILED_TO_START,
            charged_cost=Decimal("-0.5"),
            created_at=now - timedelta(days=2),
            submitted_at=now - timedelta(days=2),
            completed_at=now - timedelta(days=2) + timedelta(seconds=3),
            workspace_id="ws_brand",
        ),
        plain_run(
            team_a,
            alice,
            technique_id="tech_cctv-cam",
            technique_name="CCTV Cam",
            created_at=now - timedelta(days=40),
            completed_at=now - timedelta(days=40),
            flora_created_at=now - timedelta(days=40, seconds=9),
            charged_cost=Decimal("1.23456"),
        ),
        # Times on the whole second: isoformat() writes no fraction, SQLite keeps none.
        plain_run(
            team_a,
            bob,
            created_at=now.replace(microsecond=0) - timedelta(days=1),
            completed_at=now.replace(microsecond=0) - timedelta(days=1) + timedelta(seconds=2),
        ),
        plain_run(team_b, dave, technique_name="Other team's"),
    ]
    # A code outside the alphabet new_run_code uses (an old row): its URL is quoted.
    Run.objects.filter(pk=runs[6].pk).update(code="old+code%1")
    return runs


def _old(team, query: str) -> str:
    return "".join(old_csv_rows(old_queryset(team, query), BASE))


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status=completed",
        "status=in_progress",
        "member=bob",
        "member=outside",
        "technique=tech_cctv-cam",
        "workspace=ws_brand",
        "project=prj_x",
        f"date_from={(timezone.now() - timedelta(days=3)).date().isoformat()}",
        "status=nonsense&member=bob",  # an invalid field is not applied, as on the page
    ],
)
def test_the_file_is_todays_export_cell_for_cell(bob_client, team_a, awkward, monkeypatch, query):
    monkeypatch.setattr(csv_export, "CHUNK_ROWS", 2)  # several chunks, a tie across two
    export = built(export_made(bob_client, query))
    text = stored_text(export)
    assert text == _old(team_a, query)
    assert export.rows == len(rows_of(text))
    assert export.size == len(text.encode("utf-8"))


def test_awkward_cells_are_as_before(bob_client, team_a, awkward):
    rows = rows_of(stored_text(built(export_made(bob_client))))
    by_name = {row["technique"]: row for row in rows}
    assert by_name['\'=HYPERLINK("http://evil")']["error_message"] == "'+1"
    assert by_name['\'=HYPERLINK("http://evil")']["duration_seconds"] == "61.2"
    assert by_name['Quotes "and", commas\nand lines']["error_code"] == "'@code"
    assert by_name["Ünïcødé ✨ 東京"]["started_by"] == ""
    assert by_name["Ünïcødé ✨ 東京"]["cost_usd"] == ""
    assert by_name["CCTV Cam"]["url"] == "http://testserver/runs/old+code%251/"
    assert by_name["CCTV Cam"]["cost_usd"] == "1.2346"
    assert {row["progress_percent"] for row in rows} >= {"42", "0", "100"}  # 0.42, 0, 250
    assert all(row["started_at"].endswith("+00:00") for row in rows)  # UTC
    assert "Other team's" not in by_name


def test_filters_are_applied(bob_client, team_a, awkward):
    rows = rows_of(stored_text(built(export_made(bob_client, "status=failed&member=alice"))))
    assert [row["technique"] for row in rows] == ['Quotes "and", commas\nand lines']


def test_filters_are_stored_canonical_and_described(bob_client, team_a, awkward):
    export = export_made(bob_client, "member=bob&status=completed&technique=&before=abc")
    assert export.query == "member=bob&status=completed"
    assert export.description == "Completed · started by bob"
    assert export_made(bob_client, "", intent="i2").description == "All runs"
    named = export_made(bob_client, "technique=tech_cctv-cam&workspace=ws_brand", intent="i3")
    assert named.description == "CCTV Cam · workspace Brand Team"  # as the page names them
    outside = export_made(bob_client, "member=outside&date_from=2026-01-02", intent="i4")
    assert outside.description == "started outside the dashboard · from 2026-01-02"


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-03 01:02:03",
        "2026-12-03 01:02:03.000001",
        "2026-12-03 01:02:03.123456",
        "2026-12-03T01:02:03.5",
        "2026-12-03 01:02:03+02:00",
        None,
    ],
)
def test_sqlite_times_are_read_as_djangos_converters_read_them(text):
    """The export reads SQLite's time text itself (runs.csv_export._sqlite_time): the same
    datetime as Django's SQLite converters (parse_datetime, then UTC when naive)."""
    expected = None if text is None else parse_datetime(text)
    if expected is not None and timezone.is_naive(expected):
        expected = timezone.make_aware(expected, UTC)
    got = csv_export._sqlite_time(text)
    assert got == expected
    if text is not None:
        assert csv_export._sqlite_iso(text) == expected.isoformat()
        later = (expected + timedelta(seconds=61.25)).isoformat(" ")
        assert csv_export._sqlite_seconds(text, later) == 61.25
