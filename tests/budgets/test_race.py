"""No race: 20 simultaneous submissions against a budget that covers 5 start exactly 5 FLORA
runs. Real threads, each its own HTTP client, against a live server (its own threads and
database connections), on SQLite here and on PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

import threading
from decimal import Decimal

import httpx
import pytest
from django.test import Client

from budgets.models import Balance, EntryKind, LedgerEntry, to_units
from runs.models import Run
from tests.budgets.conftest import set_budget
from tests.runs.submit_helpers import TAROT, read_form

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_reachable_callback"),
]

SUBMISSIONS = 20


def _forms(live_server, cookies: dict[str, str], count: int) -> list[dict[str, str]]:
    """`count` rendered run forms (each its own intent), as `count` open browser tabs."""
    forms = []
    with httpx.Client(base_url=live_server.url, cookies=cookies, timeout=30) as client:
        for n in range(count):
            page = client.get(f"/techniques/{TAROT}/?workspace=ws_demo")
            assert page.status_code == 200
            data = read_form(page.text)
            data["in_question"] = f"Question {n}"
            forms.append(data)
        cookies.update(dict(client.cookies))
    return forms


def _submit_all(live_server, cookies: dict[str, str], forms: list[dict[str, str]]) -> list[int]:
    barrier = threading.Barrier(len(forms))
    statuses: list[int] = []
    lock = threading.Lock()

    def post(data: dict[str, str]) -> None:
        with httpx.Client(base_url=live_server.url, cookies=cookies, timeout=60) as client:
            barrier.wait(timeout=30)
            response = client.post(f"/techniques/{TAROT}/run", data=data)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=(data,)) for data in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def test_twenty_simultaneous_submissions_start_exactly_the_five_the_budget_covers(
    live_server, team_a, bob, upstream, settings
):
    # One team's page calls are capped per process (teams.upstream's bulkhead): lifted here,
    # so that only the budget decides.
    settings.FLORA_PAGE_CALLS_PER_TEAM = 100
    set_budget(team_a, "0.30")  # Tarot Pull costs $0.06: five runs
    client = Client()
    client.force_login(bob)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    forms = _forms(live_server, cookies, SUBMISSIONS)

    statuses = _submit_all(live_server, cookies, forms)

    assert sorted(statuses) == [302] * 5 + [402] * 15
    assert upstream.creates == 5
    assert Run.objects.count() == 5
    assert LedgerEntry.objects.filter(kind=EntryKind.RESERVE).count() == 5
    team_row = Balance.objects.get(team=team_a, member__isnull=True)
    assert team_row.reserved == to_units(Decimal("0.30"))
    assert Balance.objects.get(team=team_a, member=bob).reserved == team_row.reserved


def test_a_member_cap_holds_under_the_same_race(live_server, team_a, bob, upstream, settings):
    settings.FLORA_PAGE_CALLS_PER_TEAM = 100
    set_budget(team_a, "10.00")
    set_budget(team_a, "0.12", member=bob)  # two runs for bob, whatever the team has left
    client = Client()
    client.force_login(bob)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    forms = _forms(live_server, cookies, 10)

    statuses = _submit_all(live_server, cookies, forms)

    assert sorted(statuses) == [302] * 2 + [402] * 8
    assert upstream.creates == 2 and Run.objects.count() == 2
