"""The history's status counts refreshed with its rows: a row's poll carries them, out of
band, once its run has ended (runs.views.status.run_status_row, runs/list.html#counts)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from runs.models import Run, RunStatus
from tests.runs.live_helpers import plain_run

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
# Fields of a run in flight whose next check with FLORA is not due: its poll reads the row.
NOT_DUE = {"refresh_claimed_until": timezone.now() + timedelta(hours=1)}


# teams.access_cache reads its token from the cache: a query unless the cache is Redis.
TOKEN_QUERY = int("DatabaseCache" in settings.CACHES["default"]["BACKEND"])


def _counts(html: str) -> dict[str, int]:
    return {
        label: int(n)
        for label, n in re.findall(
            r'>(All|In progress|Completed|Failed) <span class="chip-count">(\d+)<', html
        )
    }


def _row_url(run: Run, query: str = "") -> str:
    return f"/runs/{run.code}/status/row" + (f"?{query}" if query else "")


def _end(run: Run, status: str = RunStatus.COMPLETED) -> None:
    Run.objects.filter(pk=run.pk).update(status=status, completed_at=timezone.now())


@pytest.fixture
def live(team_a, bob) -> Run:
    plain_run(team_a, bob)  # completed
    plain_run(team_a, bob, technique_id="tech_other", technique_name="Other")  # completed
    return plain_run(team_a, bob, status=RunStatus.RUNNING, flora_run_id="run_x", **NOT_DUE)


def test_the_list_gives_the_counts_an_id_and_rows_the_filters(bob_client, live):
    html = bob_client.get("/runs/?technique=tech_tarot-pull&before=abc").content.decode()
    assert '<nav id="run-counts" class="status-chips"' in html
    assert "hx-swap-oob" not in html
    # The live row polls with the filters (not the page's cursor), for the counts it brings back.
    assert f'hx-get="/runs/{live.code}/status/row?technique=tech_tarot-pull"' in html


def test_a_poll_in_flight_carries_no_counts_and_no_count_query(
    bob_client, live, django_assert_num_queries
):
    bob_client.get("/runs/")  # bob's memberships are kept (teams.access_cache) from here on
    # session, user, the access token (a query with the database cache), the run
    with django_assert_num_queries(3 + TOKEN_QUERY):
        response = bob_client.get(_row_url(live, "technique=tech_tarot-pull"), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "run-counts" not in html
    # The next poll keeps the filters.
    assert f'hx-get="/runs/{live.code}/status/row?technique=tech_tarot-pull"' in html


def test_the_poll_that_sees_the_end_carries_the_counts_in_one_query(
    bob_client, live, django_assert_num_queries
):
    assert _counts(bob_client.get("/runs/").content.decode())["In progress"] == 1
    _end(live)
    with django_assert_num_queries(4 + TOKEN_QUERY):  # as in flight, and one GROUP BY
        response = bob_client.get(_row_url(live), headers=HX)
    assert response.status_code == 286
    html = response.content.decode()

    assert html.index("</tr>") < html.index('<template>\n<nav id="run-counts"')
    assert (
        '<nav id="run-counts" class="status-chips" aria-label="Runs by status" hx-swap-oob="true">'
        in html
    )
    assert _counts(html) == {"All": 3, "In progress": 0, "Completed": 3, "Failed": 0}
    assert 'href="/runs/?status=completed"' in html
    assert 'class="chip is-current" href="/runs/"' in html  # not "": the page's own URL


def test_the_counts_keep_the_historys_filters(bob_client, live):
    _end(live, RunStatus.FAILED)
    html = bob_client.get(_row_url(live, "technique=tech_tarot-pull&status=failed"), headers=HX)
    html = html.content.decode()
    assert _counts(html) == {"All": 2, "In progress": 0, "Completed": 1, "Failed": 1}
    assert 'aria-current="true">Failed' in html
    assert "technique=tech_tarot-pull" in html  # the chips' links keep the filter


def test_spend_is_in_the_counts_for_managers_only(alice_client, bob_client, live):
    _end(live)
    manager = alice_client.get(_row_url(live), headers=HX).content.decode()
    member = bob_client.get(_row_url(live), headers=HX).content.decode()
    assert "Spend" in manager
    assert "Spend" not in member
