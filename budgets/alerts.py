"""Emails to a team's managers when a budget's threshold is crossed, once per month.

Called after the commit of every reservation and ending (budgets.services). The SentAlert
row (unique per scope, month and threshold) is written before the email is sent: of two
processes crossing the same threshold at once, one wins the insert and sends. An email
that fails is logged and its row removed, so the next reservation or ending tries again.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse

from budgets.models import Budget, SentAlert, to_dollars
from teams.models import Membership, Role, Team

logger = logging.getLogger(__name__)

_NEXT_FULL = "New runs that do not fit are refused until the budget is raised or the month ends."
_NEXT_PARTIAL = "Runs are still allowed up to the budget."


def _due(team: Team, member_id: int | None, month: str) -> list[tuple[int | None, int, object]]:
    """(scope, threshold, figures) of every alert crossed and not sent yet."""
    from budgets.services import scope_figures

    scopes = [None] if member_id is None else [None, member_id]
    budgets = {
        b.member_id: b
        for b in Budget.objects.filter(team=team).filter(
            Q(member__isnull=True) | Q(member_id=member_id)
        )
    }
    sent = set(
        SentAlert.objects.filter(team=team, month=month).values_list("member_id", "threshold")
    )
    due = []
    for scope in scopes:
        budget = budgets.get(scope)
        if budget is None or not budget.monthly_amount:
            continue
        figures = scope_figures(team, scope, month)
        percent = figures.percent or 0
        for threshold in sorted(set(budget.alert_thresholds or [])):
            if percent >= threshold and (scope, threshold) not in sent:
                due.append((scope, threshold, figures))
    return due


def any_due(team_id: int, member_id: int | None, month: str) -> bool:
    """A cheap look after each commit: is there an email for the worker to send?"""
    team = Team.objects.filter(pk=team_id).first()
    return team is not None and bool(_due(team, member_id, month))


def check_thresholds(team_id: int, member_id: int | None, month: str) -> list[int]:
    """Send the alerts due for the team's budget and the member's; returns the thresholds
    sent (team's and member's together)."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return []
    sent: list[int] = []
    for scope, threshold, figures in _due(team, member_id, month):
        if _claim(team, scope, month, threshold) and _send(team, scope, month, threshold, figures):
            sent.append(threshold)
    return sent


def _claim(team: Team, member_id: int | None, month: str, threshold: int) -> bool:
    try:
        with transaction.atomic():
            SentAlert.objects.create(
                team=team, member_id=member_id, month=month, threshold=threshold
            )
    except IntegrityError:
        return False
    return True


def _send(team: Team, member_id: int | None, month: str, threshold: int, figures) -> bool:
    managers = Membership.objects.filter(team=team, role=Role.MANAGER).select_related("user")
    emails = sorted({m.user.email for m in managers if m.user.email})
    if not emails:
        logger.warning(
            "Budget alert for team %s (%s, %d%%): no manager has an email address",
            team.slug,
            month,
            threshold,
        )
        return False
    whose = "The team's budget"
    if member_id is not None:
        user = get_user_model().objects.filter(pk=member_id).first()
        name = (user.get_full_name() or user.get_username()) if user else "a former member"
        whose = f"{name}'s budget"
    link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('budgets:spend')}?month={month}"
    body = (
        f"{whose} in {team.name} reached {figures.percent}% for {month}: "
        f"${to_dollars(figures.committed):.2f} of ${to_dollars(figures.limit):.2f} "
        f"(${to_dollars(figures.spent):.2f} charged, ${to_dollars(figures.reserved):.2f} "
        f"reserved for runs in progress).\n\n"
        f"{_NEXT_FULL if threshold >= 100 else _NEXT_PARTIAL}\n\n"
        f"Spend page: {link}\n"
    )
    subject = f"[florasite] {whose} in {team.name}: {threshold}% reached ({month})"
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)
    except Exception:
        logger.exception(
            "Budget alert for team %s (%s, %d%%) not sent", team.slug, month, threshold
        )
        SentAlert.objects.filter(
            team=team, member_id=member_id, month=month, threshold=threshold
        ).delete()
        return False
    logger.info("Budget alert for team %s: %d%% of %s sent", team.slug, threshold, month)
    return True
