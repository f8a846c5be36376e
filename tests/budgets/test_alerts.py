"""Threshold emails to the managers: once per threshold per month, whatever happens after."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail

from budgets.alerts import check_thresholds
from budgets.models import SentAlert
from budgets.services import BudgetRefused, reserve_many
from tests.budgets.conftest import set_budget

pytestmark = pytest.mark.django_db

NOV = datetime(2026, 11, 10, 12, tzinfo=UTC)
DEC = datetime(2026, 12, 10, 12, tzinfo=UTC)


@pytest.fixture
def managers(alice, team_a):
    alice.email = "alice@example.com"
    alice.save()


def _reserve(team, user, amount, when=NOV):
    reserve_many(team, user, [Decimal(amount)], when=when)


@pytest.fixture
def worker(monkeypatch):
    """The worker, at once: the alert task runs when it is enqueued (after the commit)."""
    from types import SimpleNamespace

    from budgets import tasks

    real = tasks.send_alerts
    inline = SimpleNamespace(enqueue=lambda *args: real.func(*args))
    monkeypatch.setattr(tasks, "send_alerts", inline)


def test_crossing_80_then_100_sends_one_email_each(
    team_a, bob, carol, managers, worker, django_capture_on_commit_callbacks
):
    set_budget(team_a, "1.00")
    with django_capture_on_commit_callbacks(execute=True):
        _reserve(team_a, bob, "0.50")
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        _reserve(team_a, bob, "0.35")  # 85 %
    [first] = mail.outbox
    assert first.to == ["alice@example.com"]
    assert first.subject == "[florasite] The team's budget in Acme: 80% reached (2026-11)"
    assert "reached 85% for 2026-11: $0.85 of $1.00" in first.body
    assert "/spend/?month=2026-11" in first.body

    with django_capture_on_commit_callbacks(execute=True):
        _reserve(team_a, bob, "0.05")  # 90 %: 80 % was already sent
    assert len(mail.outbox) == 1

    with django_capture_on_commit_callbacks(execute=True):
        _reserve(team_a, bob, "0.10")  # 100 %
    assert [m.subject for m in mail.outbox][1].endswith("100% reached (2026-11)")
    assert "refused until the budget is raised" in mail.outbox[1].body
    assert len(mail.outbox) == 2


def test_alerts_are_not_sent_twice_even_when_checked_again(team_a, bob, managers):
    set_budget(team_a, "1.00")
    _reserve(team_a, bob, "1.00")
    assert sorted(check_thresholds(team_a.pk, bob.pk, "2026-11")) == [80, 100]
    assert check_thresholds(team_a.pk, bob.pk, "2026-11") == []
    assert len(mail.outbox) == 2
    assert SentAlert.objects.count() == 2


def test_a_new_month_alerts_again(team_a, bob, managers):
    set_budget(team_a, "1.00", thresholds=[100])
    _reserve(team_a, bob, "1.00", when=NOV)
    _reserve(team_a, bob, "1.00", when=DEC)
    check_thresholds(team_a.pk, None, "2026-11")
    check_thresholds(team_a.pk, None, "2026-12")
    assert [m.subject[-9:] for m in mail.outbox] == ["(2026-11)", "(2026-12)"]


def test_a_members_own_budget_alerts_the_managers(team_a, bob, managers):
    bob.first_name = "Bob"
    bob.save()
    set_budget(team_a, "0.10", member=bob, thresholds=[100])
    _reserve(team_a, bob, "0.10")
    with pytest.raises(BudgetRefused):
        _reserve(team_a, bob, "0.01")
    assert check_thresholds(team_a.pk, bob.pk, "2026-11") == [100]
    assert mail.outbox[0].subject == "[florasite] Bob's budget in Acme: 100% reached (2026-11)"


def test_a_failed_email_is_tried_again_later(team_a, bob, managers, monkeypatch):
    set_budget(team_a, "1.00", thresholds=[100])
    _reserve(team_a, bob, "1.00")

    def down(*args, **kwargs):
        raise OSError("SMTP server down")

    monkeypatch.setattr("budgets.alerts.send_mail", down)
    assert check_thresholds(team_a.pk, None, "2026-11") == []
    assert not SentAlert.objects.exists()
    monkeypatch.undo()
    assert check_thresholds(team_a.pk, None, "2026-11") == [100]


def test_two_checks_at_once_send_one_email(team_a, bob, managers):
    set_budget(team_a, "1.00", thresholds=[100])
    _reserve(team_a, bob, "1.00")
    SentAlert.objects.create(team=team_a, month="2026-11", threshold=100)  # the other won
    assert check_thresholds(team_a.pk, None, "2026-11") == []
    assert mail.outbox == []


def test_the_worker_is_asked_only_when_an_alert_is_due(
    team_a, bob, managers, django_capture_on_commit_callbacks
):
    from django_tasks import default_task_backend

    default_task_backend.clear()
    set_budget(team_a, "1.00", thresholds=[100])
    with django_capture_on_commit_callbacks(execute=True):
        _reserve(team_a, bob, "0.50")
    assert default_task_backend.results == []
    with django_capture_on_commit_callbacks(execute=True):
        _reserve(team_a, bob, "0.50")
    [task] = default_task_backend.results
    assert task.task.name == "send_alerts" and task.args == [team_a.pk, bob.pk, "2026-11"]
    assert mail.outbox == []  # the worker sends it, not the request
