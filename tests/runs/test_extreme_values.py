"""Extreme numbers from FLORA (costs, progress, timestamps, prices): whatever an answer holds,
the row is written, reads back, and every page that shows it answers.

FLORA's answers are faked with respx (the sandbox never sends such values). They are
encoded with Python's json, which writes NaN and Infinity as literals: Python's json, and so
httpx's response.json(), reads them back as floats.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from runs.models import Run, RunStatus
from sandbox import catalog
from tests.runs.live_helpers import NAN, TAROT
from tests.runs.live_helpers import answer_run as _answer_run
from tests.runs.live_helpers import pages_work as _pages_work
from tests.runs.live_helpers import (
    refresh_via_the_status_fragment as _refresh_via_the_status_fragment,
)
from tests.runs.live_helpers import running_run as _running_run
from tests.runs.submit_helpers import read_form

pytestmark = pytest.mark.django_db


HUGE_INT = 10**400  # JSON allows any number of digits; no float holds this
INF = float("inf")


# --- Costs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cost",
    [1e10, 1_000_000, 1e300, HUGE_INT, -5, NAN, INF, -INF],
    ids=["beyond-column", "just-beyond", "1e300", "huge-int", "negative", "nan", "inf", "-inf"],
)
def test_a_cost_no_column_holds_is_recorded_as_unknown(bob_client, bob, team_a, fake_flora, cost):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", charged_cost=cost)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.COMPLETED
    assert row.charged_cost is None
    assert row.outputs.get().text == "Patience."


def test_the_largest_cost_a_column_holds_is_kept(bob_client, bob, team_a, fake_flora):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", charged_cost=999_999.9999)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.charged_cost == Decimal("999999.9999")


def test_a_failed_run_with_an_absurd_cost_costs_nothing(bob_client, bob, team_a, fake_flora):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", status="failed", charged_cost=NAN, outputs=None)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.FAILED and row.charged_cost == Decimal("0")


# --- Progress ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("progress", "expected"),
    [(NAN, 40), (INF, 100), (-INF, 40), (-5, 40), (1e300, 100), (HUGE_INT, 100), (250, 100)],
    ids=["nan", "inf", "-inf", "negative", "1e300", "huge-int", "over-100"],
)
def test_progress_is_clamped(bob_client, bob, team_a, fake_flora, progress, expected):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", status="running", progress=progress, outputs=None)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.RUNNING
    assert math.isfinite(row.progress) and 0 <= row.progress <= 100
    assert row.progress_percent == expected


def test_a_row_holding_infinite_progress_still_shows(bob_client, bob, team_a):
    # Written before progress was clamped (PostgreSQL's float column holds Infinity).
    run = _running_run(team_a, bob)
    held = timezone.now() + timedelta(hours=1)  # nobody asks FLORA meanwhile
    Run.objects.filter(pk=run.pk).update(progress=INF, refresh_claimed_until=held)
    assert _pages_work(bob_client, run).progress_percent == 0


# --- Timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [1e300, NAN, INF, -1, -1e300, HUGE_INT, 253_402_300_800, 1e16],
    ids=["1e300", "nan", "inf", "negative", "-1e300", "huge-int", "year-10000", "ms-beyond"],
)
def test_timestamps_that_are_no_moment_are_unknown(bob_client, bob, team_a, fake_flora, stamp):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", created_at=stamp, started_at=stamp, completed_at=stamp)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.COMPLETED
    assert row.flora_created_at is None and row.started_at is None
    # FLORA did not say when it ended: the moment we learnt it did.
    assert abs((timezone.now() - row.completed_at).total_seconds()) < 60


# --- A technique's price -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "run_cost", [1e12, 1e300, NAN, INF], ids=["beyond-column", "1e300", "nan", "inf"]
)
def test_a_price_no_column_holds_is_quoted_as_unknown(bob_client, upstream, run_cost):
    technique = {**catalog.find(TAROT).to_api(), "run_cost": run_cost}
    upstream.respond(technique, path=rf"/techniques/{TAROT}$")

    page = bob_client.get(f"/techniques/{TAROT}/?workspace=ws_demo")
    assert page.status_code == 200
    html = page.content.decode()
    if not math.isfinite(run_cost):
        # No price is shown, and the button promises none ("Run for free" would be a lie).
        assert "Price unknown" in html and "data-run-button>Run</button>" in html
    data = read_form(html)
    data["in_question"] = "Will we ship?"
    response = bob_client.post(f"/techniques/{TAROT}/run", data)

    assert response.status_code == 302
    run = Run.objects.get()
    assert run.price_quoted is None
    assert _pages_work(bob_client, run).status == RunStatus.PENDING
