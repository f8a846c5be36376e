"""The history's tallies (runs.tallies): kept exact by the database's triggers whatever
writes the runs, folded by compaction, rebuilt from the runs table; and what the history's
counts, filters and options read from them."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.http import QueryDict
from django.utils import timezone

from runs import history, refresh, sync, tallies
from runs.models import Run, RunOrigin, RunStatus, RunTally
from runs.tasks import compact_run_tallies
from teams.models import Membership
from tests.runs.live_helpers import dashboard_run, let_interval_pass, plain_run, start_flora_run

pytestmark = pytest.mark.django_db


def _real(team, **filters) -> dict[str, tuple[int, Decimal]]:
    """A GROUP BY status over the runs themselves, the truth the tallies must equal."""
    counts: Counter[str] = Counter()
    spend: dict[str, Decimal] = {}
    for status, cost in Run.objects.filter(team=team, **filters).values_list(
        "status", "charged_cost"
    ):
        counts[status] += 1
        spend[status] = spend.get(status, Decimal("0")) + (cost or Decimal("0"))
    return {s: (n, spend[s].quantize(Decimal("0.0001"))) for s, n in counts.items()}


def _tallied(team, where: dict[str, str]) -> dict[str, tuple[int, Decimal]]:
    found = tallies.by_status(team.pk, where)
    assert found is not None
    return {s: (n, tallies.to_dollars(u)) for s, (n, u) in found.items()}


def _assert_exact(*teams) -> None:
    assert tallies.check() == []
    for team in teams:
        users = set(Run.objects.filter(team=team).values_list("created_by_id", flat=True))
        assert _tallied(team, {}) == _real(team)
        for technique in set(Run.objects.filter(team=team).values_list("technique_id", flat=True)):
            assert _tallied(team, {"t": technique}) == _real(team, technique_id=technique)
            for user in users - {None}:
                assert _tallied(team, {"t": technique, "m": str(user)}) == _real(
                    team, technique_id=technique, created_by_id=user
                )
        assert _tallied(team, {"o": RunOrigin.EXTERNAL}) == _real(team, origin=RunOrigin.EXTERNAL)
        assert _tallied(team, {"w": "ws_brand", "p": "prj_x"}) == _real(
            team, workspace_id="ws_brand", project_id="prj_x"
        )


def test_every_way_of_writing_runs_keeps_the_tallies_exact(
    team_a, team_b, alice, bob, dave, flora, clock
):
    # Submission and FLORA's answers (runs.state.apply_remote), then completion and the
    # charged cost settling through a refresh.
    live = dashboard_run(team_a, bob, question="Will it count?")
    clock.advance_past(live.flora_run_id)
    let_interval_pass(live)
    refresh.refresh_if_due(Run.objects.get(pk=live.pk))
    assert Run.objects.get(pk=live.pk).status == RunStatus.COMPLETED
    # Imports from FLORA (runs started elsewhere).
    outside = start_flora_run(team_a, question="From elsewhere")
    clock.advance_past(outside.run_id)
    assert sync.sync_team(team_a.pk).ok
    assert Run.objects.filter(team=team_a, origin=RunOrigin.EXTERNAL).exists()
    # save(), create(), bulk_create().
    one = plain_run(team_a, alice, charged_cost=Decimal("0.1234"), project_id="prj_x")
    one.status = RunStatus.FAILED
    one.charged_cost = Decimal("0")
    one.save()
    Run.objects.bulk_create(
        [
            Run(
                team=team_a,
                created_by=bob if i % 2 else None,
                origin=RunOrigin.DASHBOARD if i % 2 else RunOrigin.EXTERNAL,
                technique_id=f"tech_{i % 3}",
                technique_name=f"Technique {i % 3}",
                status=RunStatus.RUNNING,
                workspace_id="ws_brand",
                project_id="prj_x",
                charged_cost=Decimal("0.0600") if i % 4 else None,
            )
            for i in range(12)
        ]
        + [Run(team=team_b, created_by=dave, technique_id="tech_0", technique_name="T")]
    )
    _assert_exact(team_a, team_b)
    compact_run_tallies.call()
    # QuerySet.update() of every counted column, after a compaction.
    Run.objects.filter(team=team_a, technique_id="tech_0").update(status=RunStatus.COMPLETED)
    Run.objects.filter(team=team_a, technique_id="tech_1").update(
        charged_cost=Decimal("9999.9999"), project_id="prj_y", workspace_id="ws_demo"
    )
    Run.objects.filter(team=team_a, technique_id="tech_2").update(
        technique_id="tech_renamed", created_by=alice, origin=RunOrigin.DASHBOARD
    )
    # A change nothing counts (progress) writes no tally.
    before = RunTally.objects.count()
    Run.objects.filter(team=team_a).update(progress=0.5)
    assert RunTally.objects.count() == before
    # Deletes: one, a queryset, a user's runs orphaned (SET_NULL), a raw statement.
    one.delete()
    Run.objects.filter(team=team_a, status=RunStatus.COMPLETED, technique_id="tech_0").delete()
    get_user_model().objects.filter(pk=alice.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE runs_run SET status = %s WHERE team_id = %s AND status = %s",
            [RunStatus.FAILED_TO_START, team_a.pk, RunStatus.RUNNING],
        )
    _assert_exact(team_a, team_b)
    # A team deleted: its runs' tallies sum to zero, and compaction leaves none.
    team_b_pk = team_b.pk
    team_b.delete()
    compact_run_tallies.call()
    assert not RunTally.objects.filter(team_id=team_b_pk).exists()
    _assert_exact(team_a)
    # The rebuild from the runs table gives the same figures.
    figures = _tallied(team_a, {})
    tallies.rebuild()
    assert _tallied(team_a, {}) == figures
    _assert_exact(team_a)


def test_compaction_folds_each_key_into_one_row_and_drops_the_empty_ones(team_a, bob):
    runs = [plain_run(team_a, bob, charged_cost=Decimal("0.06")) for _ in range(5)]
    for run in runs[:3]:
        run.status = RunStatus.FAILED
        run.save()
    runs[4].delete()
    assert RunTally.objects.filter(dims="").count() == 5 + 3 * 2 + 1
    figures = _tallied(team_a, {})

    tallies.compact()

    assert (
        _tallied(team_a, {})
        == figures
        == {
            RunStatus.FAILED: (3, Decimal("0.1800")),
            RunStatus.COMPLETED: (1, Decimal("0.0600")),
        }
    )
    rows = RunTally.objects.filter(team=team_a, dims="")
    assert sorted(rows.values_list("status", "n", "delta")) == [
        (RunStatus.COMPLETED, 1, False),
        (RunStatus.FAILED, 3, False),
    ]
    assert tallies.compact() == 0  # nothing new since


def test_the_command_checks_and_rebuilds_the_tallies(team_a, bob, capsys):
    plain_run(team_a, bob, charged_cost=Decimal("0.06"))
    call_command("rebuild_run_tallies", "--check")
    RunTally.objects.filter(team=team_a, dims="t").delete()  # as after a restore without them
    with pytest.raises(CommandError, match="differ from the runs table"):
        call_command("rebuild_run_tallies", "--check", "--team", team_a.slug)
    call_command("rebuild_run_tallies", "--team", team_a.slug)
    call_command("rebuild_run_tallies", "--check")
    assert "match the runs table" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No team"):
        call_command("rebuild_run_tallies", "--team", "nope")


def test_the_rebuild_puts_back_triggers_a_dead_bulk_load_left_out(team_a, bob, capsys):
    tallies.drop_triggers()
    plain_run(team_a, bob)  # not counted
    with pytest.raises(CommandError, match="triggers are missing"):
        call_command("rebuild_run_tallies", "--check")
    call_command("rebuild_run_tallies")
    assert "were missing: created" in capsys.readouterr().out
    assert tallies.triggers_present()
    plain_run(team_a, bob)
    _assert_exact(team_a)


def test_a_bulk_load_without_triggers_is_counted_by_the_rebuild(team_a, bob):
    with tallies.bulk_load():
        Run.objects.bulk_create(
            [Run(team=team_a, technique_id="tech_bulk", technique_name="Bulk") for _ in range(7)]
        )
        assert not RunTally.objects.filter(team=team_a).exists()
    assert _tallied(team_a, {"t": "tech_bulk"}) == {RunStatus.SUBMITTING: (7, Decimal("0.0000"))}
    plain_run(team_a, bob)  # the triggers are back
    _assert_exact(team_a)


# -- what the history reads -----------------------------------------------------------------


def _form(team, **query):
    data = QueryDict(mutable=True)
    data.update(query)
    return history.filter_form(data, team)


def _summary(team, **query):
    chips, total, spend = history.summary(team, _form(team, **query), with_spend=True)
    return {c["value"]: c["count"] for c in chips}, total, spend


@pytest.fixture
def mixed(team_a, team_b, alice, bob, dave):
    day = timezone.now() - timedelta(days=3)
    for i in range(24):
        plain_run(
            team_a,
            [alice, bob, None][i % 3],
            technique_id=f"tech_{i % 4}",
            technique_name=f"Technique {i % 4}",
            status=[RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.RUNNING][i % 3],
            workspace_id=["ws_demo", "ws_brand"][i % 2],
            project_id=["", "prj_a", "prj_b"][i % 3],
            charged_cost=Decimal("0.0600"),
            created_at=day - timedelta(hours=i * 5),
        )
    plain_run(team_b, dave, technique_id="tech_0", charged_cost=Decimal("5"))


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ({}, {}),
        ({"technique": "tech_1"}, {"technique_id": "tech_1"}),
        ({"member": "bob"}, {"created_by__username": "bob"}),
        ({"member": "outside"}, {"origin": RunOrigin.EXTERNAL}),
        ({"workspace": "ws_brand"}, {"workspace_id": "ws_brand"}),
        ({"project": "prj_a"}, {"project_id": "prj_a"}),
        (
            {"technique": "tech_2", "member": "alice"},
            {"technique_id": "tech_2", "created_by__username": "alice"},
        ),
        (
            {"workspace": "ws_demo", "project": "prj_b"},
            {"workspace_id": "ws_demo", "project_id": "prj_b"},
        ),
        # Three filters: counted over the runs, still exact.
        (
            {"technique": "tech_0", "member": "outside", "workspace": "ws_demo"},
            {"technique_id": "tech_0", "origin": RunOrigin.EXTERNAL, "workspace_id": "ws_demo"},
        ),
    ],
)
def test_every_filter_counts_exactly(team_a, mixed, query, filters, django_assert_max_num_queries):
    real = _real(team_a, **filters)
    chips, total, spend = _summary(team_a, **query)
    assert total == sum(n for n, _ in real.values())
    assert spend == sum((s for _, s in real.values()), Decimal("0"))
    assert chips[RunStatus.COMPLETED] == real.get(RunStatus.COMPLETED, (0, 0))[0]
    assert chips[RunStatus.FAILED] == real.get(RunStatus.FAILED, (0, 0))[0]
    # The status filter changes the spend, not the chips.
    chips_failed, _, spend_failed = _summary(team_a, status="failed", **query)
    assert chips_failed == chips
    assert spend_failed == real.get(RunStatus.FAILED, (0, Decimal("0")))[1]
    form = _form(team_a, **query)
    assert set(history.filtered(team_a, form)) == set(Run.objects.filter(team=team_a, **filters))


def test_single_and_paired_filters_are_one_tally_query(team_a, mixed, django_assert_num_queries):
    form = _form(team_a, technique="tech_1", workspace="ws_brand")
    with django_assert_num_queries(1):
        history.summary(team_a, form, with_spend=True)
    form = _form(team_a, member="bob", project="prj_a")
    history.filtered(team_a, form).exists()  # the member resolved once per form
    with django_assert_num_queries(1):
        history.summary(team_a, form, with_spend=True)


def test_the_member_filter_is_by_id_and_keeps_a_former_members_runs(team_a, mixed, bob):
    form = _form(team_a, member="bob")
    sql = str(history.filtered(team_a, form).query)
    assert "auth_user" not in sql and "created_by_id" in sql
    expected = Run.objects.filter(team=team_a, created_by=bob).count()
    Membership.objects.filter(team=team_a, user=bob).delete()  # bob left the team
    assert history.filtered(team_a, _form(team_a, member="bob")).count() == expected
    assert _summary(team_a, member="bob")[1] == expected
    assert history.filtered(team_a, _form(team_a, member="nobody")).count() == 0
    assert _summary(team_a, member="nobody")[1] == 0


def test_date_ranges_are_the_viewers_days_and_exact(team_a, bob, bob_client):
    # 23:30 UTC on 1 March is 00:30 on 2 March in Paris.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    plain_run(team_a, bob, created_at=late, charged_cost=Decimal("0.06"))
    plain_run(team_a, bob, created_at=late - timedelta(hours=2), status=RunStatus.FAILED)
    query = {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    with timezone.override("Europe/Paris"):
        chips, total, _ = _summary(team_a, **query)
        assert total == 1 and chips[RunStatus.COMPLETED] == 1
        chips, total, _ = _summary(team_a, date_from="2026-03-01", date_to="2026-03-01")
        assert total == 1 and chips[RunStatus.FAILED] == 1
    with timezone.override("UTC"):
        assert _summary(team_a, **query)[1] == 0
        assert _summary(team_a, date_from="2026-03-01", date_to="2026-03-01")[1] == 2


def test_a_date_range_count_reads_an_index_not_the_runs(team_a, mixed):
    from tests.gallery.helpers import query_plan

    if connection.vendor != "sqlite":
        # PostgreSQL plans by statistics: at a test's 25 rows any index is as good (the
        # bench measures the plan it takes at 1,000,000 runs).
        pytest.skip("the plan at this size says nothing on PostgreSQL")

    form = _form(team_a, date_from="2026-01-01", date_to="2026-01-07")
    grouped = (
        history.filtered(team_a, form, with_status=False)
        .filter(status__in=RunStatus.values)
        .order_by()
        .values("status")
    )
    sql, params = grouped.query.sql_with_params()
    plan = query_plan(sql, params)
    assert "COVERING INDEX run_team_status_cost" in plan, plan


def test_options_come_from_the_tallies_and_a_new_technique_is_offered_at_once(
    team_a, team_b, mixed, bob, dave
):
    form = _form(team_a)
    techniques = form.fields["technique"].widget.choices
    assert [v for v, _ in techniques] == ["", "tech_0", "tech_1", "tech_2", "tech_3"]
    assert [v for v, _ in form.fields["project"].widget.choices] == ["", "prj_a", "prj_b"]

    first = plain_run(team_a, bob, technique_id="tech_new", technique_name="Aardvark")
    choices = history.technique_choices(team_a)
    assert choices[0] == ("tech_new", "Aardvark")  # sorted by name; the gallery's call
    assert ("tech_new", "Aardvark") in _form(team_a).fields["technique"].widget.choices
    plain_run(team_a, bob, technique_id="tech_new", technique_name="Renamed later")
    assert ("tech_new", "Aardvark") in history.technique_choices(team_a)  # the first name

    Run.objects.filter(technique_id="tech_new").delete()
    assert "tech_new" not in dict(history.technique_choices(team_a))
    assert first.pk
    assert "tech_0" in dict(history.technique_choices(team_b))
    assert len(history.technique_choices(team_b)) == 1


def test_the_history_page_shows_the_tallied_counts(team_a, mixed, alice_client):
    html = alice_client.get("/runs/?technique=tech_1&workspace=ws_brand").content.decode()
    real = _real(team_a, technique_id="tech_1", workspace_id="ws_brand")
    counts = dict(
        re.findall(r'>(All|In progress|Completed|Failed) <span class="chip-count">(\d+)<', html)
    )
    assert int(counts["All"]) == sum(n for n, _ in real.values()) > 0
    assert int(counts["Completed"]) == real.get(RunStatus.COMPLETED, (0, 0))[0]


# -- concurrency (PostgreSQL: SQLite runs one writer at a time) --------------------------------


@pytest.mark.django_db(transaction=True)
def test_writers_of_the_same_tallies_never_wait_on_each_other(team_a, bob):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers: there is no lock to wait on")
    a = plain_run(team_a, bob, status=RunStatus.RUNNING)
    b = plain_run(team_a, bob, status=RunStatus.RUNNING)
    c = plain_run(team_a, bob, status=RunStatus.RUNNING)
    holding = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                # Same team, status, technique, member: the same tally keys as below.
                Run.objects.filter(pk=a.pk).update(status=RunStatus.COMPLETED)
                Run.objects.filter(pk=c.pk).update(status=RunStatus.COMPLETED)
                holding.set()
                release.wait(10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            Run.objects.filter(pk=b.pk).update(status=RunStatus.COMPLETED)
            tallies.compact()  # compaction does not wait on the open writer either
    finally:
        release.set()
        thread.join(10)
    assert not errors
    assert tallies.check() == []
    assert _tallied(team_a, {})[RunStatus.COMPLETED][0] == 3
