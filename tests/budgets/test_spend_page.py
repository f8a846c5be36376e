"""The spend page, its CSV and the budget settings: managers only, figures from the ledger."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest

import flora
from budgets.models import Budget
from budgets.months import month_key
from budgets.templatetags.budgets import month_name
from runs.state import apply_remote
from tests.budgets.conftest import set_budget
from tests.budgets.helpers import reserved_run

pytestmark = pytest.mark.django_db


def _complete(run, charged: float) -> None:
    apply_remote(
        run,
        flora.Run.model_validate(
            {
                "run_id": f"run_{run.code}",
                "status": "completed",
                "progress": 100,
                "created_at": 1_790_000_000,
                "charged_cost": charged,
            }
        ),
    )


@pytest.fixture
def spend(team_a, alice, bob):
    set_budget(team_a, "1.00")
    _complete(reserved_run(team_a, bob), 0.06)
    _complete(reserved_run(team_a, alice, price="0.40"), 0.40)
    reserved_run(team_a, bob, price="0.20")  # in flight: reserved
    return month_key(team_a)


def test_the_manager_sees_the_month_against_budget(alice_client, spend):
    response = alice_client.get("/spend/")
    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert f"Spend in {month_name(spend)}" in page
    assert "$0.46</strong> charged" in page and "$0.20</strong> reserved" in page
    assert "budget <strong>$1.00</strong>" in page and "<strong>$0.34</strong> left" in page
    assert "66% used" in page
    # The bar: charged over the reserved part, out of the whole width.
    assert '<rect class="fill" x="0" y="0" width="331.2"' in page  # 0.46 of 720
    assert '<rect class="reserved" x="0" y="0" width="475.2"' in page  # 0.66 of 720
    assert "Spend per day" in page and 'class="bar-chart"' in page
    assert "Per member" in page and ">alice<" in page and ">bob<" in page
    assert "Per technique" in page and "Tarot Pull" in page
    assert "Last 12 months" in page
    # The CSP allows no inline style and no inline script.
    assert not re.search(r"\sstyle=", page) and "<script>" not in page


def test_the_tables_rank_members_by_spend(alice_client, spend):
    page = unescape(alice_client.get("/spend/").content.decode())
    members = page.split("Per member", 1)[1].split("Per technique", 1)[0]
    assert members.index(">alice<") < members.index(">bob<")
    assert "$0.40" in members and "$0.06" in members and "$0.20" in members


def test_members_and_viewers_may_not_see_it(bob_client, carol_client, spend):
    for client in (bob_client, carol_client):
        assert client.get("/spend/").status_code == 403
        assert client.get("/spend/export.csv").status_code == 403
        assert client.get("/spend/budget").status_code == 403


def test_another_month_and_a_bad_month(alice_client, spend):
    page = alice_client.get("/spend/?month=2020-01").content.decode()
    assert "Spend in January 2020" in page and "Nothing charged in this period." in page
    assert alice_client.get("/spend/?month=2020-13").status_code == 404
    assert alice_client.get("/spend/?month=junk").status_code == 404


def test_the_csv_lists_every_entry_of_the_month(alice_client, spend):
    response = alice_client.get(f"/spend/export.csv?month={spend}")
    assert response["Content-Type"] == "text/csv"
    assert f'filename="spend-acme-{spend}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["kind"] for r in rows] == ["reserve", "settle", "reserve", "settle", "reserve"]
    assert sum(float(r["spent_change_usd"]) for r in rows) == pytest.approx(0.46)
    assert sum(float(r["reserved_change_usd"]) for r in rows) == pytest.approx(0.20)


def test_a_manager_sets_the_team_budget_thresholds_and_zone(alice_client, team_a):
    response = alice_client.post(
        "/spend/budget",
        {"monthly_amount": "250", "alert_thresholds": "50, 90%, 100", "time_zone": "Europe/Paris"},
    )
    assert response.status_code == 302
    budget = Budget.objects.get(team=team_a, member=None)
    assert str(budget.monthly_amount) == "250.0000" and budget.alert_thresholds == [50, 90, 100]
    team_a.refresh_from_db()
    assert team_a.time_zone == "Europe/Paris"
    # Emptied: no team budget any more.
    alice_client.post("/spend/budget", {"monthly_amount": "", "alert_thresholds": "80"})
    assert not Budget.objects.filter(team=team_a).exists()


def test_bad_settings_are_refused_with_reasons(alice_client, team_a):
    response = alice_client.post(
        "/spend/budget",
        {"monthly_amount": "-1", "alert_thresholds": "80, 150", "time_zone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    page = unescape(response.content.decode())
    assert "greater than or equal to 0" in page
    assert "'150' is not a percentage from 1 to 100" in page
    assert "'Mars/Olympus' is not a time zone name" in page
    assert not Budget.objects.exists()


def test_a_manager_sets_and_removes_a_members_budget(alice_client, team_a, bob, dave):
    response = alice_client.post("/spend/budget/members", {"member": bob.pk, "monthly_amount": "5"})
    assert response.status_code == 302
    budget = Budget.objects.get(team=team_a, member=bob)
    page = unescape(alice_client.get("/spend/budget").content.decode())
    assert 'value="5.0000"' in page
    # Dave is no member of team A: no budget for him here.
    assert (
        alice_client.post(
            "/spend/budget/members", {"member": dave.pk, "monthly_amount": "5"}
        ).status_code
        == 404
    )
    alice_client.post(f"/spend/budget/members/{budget.pk}/delete")
    assert not Budget.objects.filter(member=bob).exists()


def test_the_nav_shows_spend_to_managers_only(alice_client, bob_client, team_a):
    assert 'href="/spend/"' in alice_client.get("/runs/").content.decode()
    assert 'href="/spend/"' not in bob_client.get("/runs/").content.decode()


def test_months_are_named_in_words():
    assert month_name("2026-12") == "December 2026"
    assert month_name("2026-13") == "2026-13" and month_name("") == ""
