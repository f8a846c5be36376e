"""The run history's keyset pages, and what a page costs in queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from runs.models import Run, RunStatus
from tests.runs.live_helpers import IMAGE, plain_run
from tests.runs.live_helpers import row_codes as _codes

pytestmark = pytest.mark.django_db


# -- pagination ----------------------------------------------------------------------------


@pytest.fixture
def many_runs(team_a, bob):
    """120 runs, the first 30 sharing one created_at (ties are broken by id)."""
    base = timezone.now() - timedelta(days=1)
    rows = []
    for i in range(120):
        created = base if i < 30 else base + timedelta(seconds=i)
        rows.append(
            Run(
                team=team_a,
                created_by=bob,
                technique_id="tech_tarot-pull",
                technique_name="Tarot Pull",
                status=RunStatus.COMPLETED,
                created_at=created,
                outputs_raw=[{"output_id": "card", "type": "imageUrl", "url": IMAGE}],
            )
        )
    Run.objects.bulk_create(rows)
    return list(Run.objects.filter(team=team_a).order_by("-created_at", "-id"))


def test_pages_walk_the_whole_history_once(bob_client, many_runs):
    seen: list[str] = []
    url = "/runs/"
    pages = 0
    while url:
        response = bob_client.get(url)
        seen += _codes(response)
        pages += 1
        match = re.search(r'href="\?([^"]*before=[^"]*)" rel="next"', response.content.decode())
        url = "/runs/?" + match.group(1).replace("&amp;", "&") if match else ""
    assert pages == 3
    assert seen == [run.code for run in many_runs]


def test_newer_goes_back_a_page(bob_client, many_runs):
    second = bob_client.get(f"/runs/?before={many_runs[49].code}")
    assert _codes(second) == [run.code for run in many_runs[50:100]]
    newer = bob_client.get(f"/runs/?after={many_runs[50].code}")
    assert _codes(newer) == [run.code for run in many_runs[:50]]
    # Nothing newer than the newest: the first page.
    assert _codes(bob_client.get(f"/runs/?after={many_runs[0].code}")) == [
        r.code for r in many_runs[:50]
    ]


def test_a_cursor_from_another_team_is_ignored(dave_client, many_runs, team_b, dave):
    mine = plain_run(team_b, dave)
    response = dave_client.get(f"/runs/?before={many_runs[10].code}")
    assert _codes(response) == [mine.code]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_a_page_costs_the_same_few_queries_whatever_the_history(
    bob_client, team_a, bob, django_assert_max_num_queries
):
    plain_run(team_a, bob)
    bob_client.get("/runs/")  # the filter choices are computed once, then cached briefly
    small = _queries(bob_client, "/runs/?member=bob&status=completed")

    many = [
        Run(team=team_a, created_by=bob, technique_id=f"tech_{i % 7}", technique_name=f"T{i % 7}")
        for i in range(300)
    ]
    Run.objects.bulk_create(many)
    bob_client.get("/runs/")  # new runs renew the cached filter choices, once
    cursor = Run.objects.filter(team=team_a).order_by("-created_at", "-id")[120].code
    large = _queries(bob_client, "/runs/?member=bob&status=submitting")
    paged = _queries(bob_client, f"/runs/?before={cursor}&technique=tech_3")

    assert small == large
    assert paged <= large + 1  # the cursor's own lookup
    with django_assert_max_num_queries(12):
        bob_client.get(f"/runs/?before={cursor}")


def test_a_technique_run_for_the_first_time_is_offered_in_the_filter_at_once(
    bob_client, team_a, bob
):
    plain_run(team_a, bob)
    assert "Segment Mapper" not in bob_client.get("/runs/").content.decode()  # choices cached
    plain_run(team_a, bob, technique_id="tech_color-mapping", technique_name="Segment Mapper")
    html = bob_client.get("/runs/").content.decode()
    assert '<option value="tech_color-mapping">Segment Mapper</option>' in html
