"""The spend page, its CSV, and the budget settings: managers of the current team only."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from budgets.forms import MemberBudgetForm, TeamBudgetForm
from budgets.models import DEFAULT_THRESHOLDS, Budget
from budgets.months import month_key, shift, valid_month
from budgets.services import managers_of
from budgets.spend import CHART_HEIGHT, CHART_WIDTH, ROW_BAR_WIDTH, csv_rows, spend_page
from teams.access import require_membership, require_role
from teams.models import Membership, Role, Team


def _month(request: HttpRequest, team: Team) -> str:
    current = month_key(team)
    asked = request.GET.get("month", "")
    if not asked:
        return current
    if not valid_month(asked):
        raise Http404("A month is written YYYY-MM.")
    return asked


@require_safe
def spend(request: HttpRequest) -> HttpResponse:
    membership = require_role(request, Role.MANAGER)
    team = membership.team
    month = _month(request, team)
    current = month_key(team)
    return render(
        request,
        "budgets/spend.html",
        {
            "nav": "spend",
            "page": spend_page(team, month),
            "month": month,
            "previous_month": shift(month, -1),
            "next_month": shift(month, 1) if month < current else None,
            "is_current": month == current,
            "chart_width": CHART_WIDTH,
            "chart_height": CHART_HEIGHT,
            "row_bar_width": ROW_BAR_WIDTH,
            "zone": team.zone.key,
        },
    )


@require_safe
def spend_csv(request: HttpRequest) -> StreamingHttpResponse:
    membership = require_role(request, Role.MANAGER)
    team = membership.team
    month = _month(request, team)
    response = StreamingHttpResponse(csv_rows(team, month), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="spend-{team.slug}-{month}.csv"'
    return response


def _members(team: Team) -> list[dict[str, object]]:
    budgets = {b.member_id: b for b in Budget.objects.filter(team=team, member__isnull=False)}
    rows = []
    for membership in Membership.objects.filter(team=team).select_related("user"):
        user = membership.user
        rows.append(
            {
                "user": user,
                "name": user.get_full_name() or user.get_username(),
                "role": membership.get_role_display(),
                "budget": budgets.get(user.pk),
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
def budget_settings(request: HttpRequest) -> HttpResponse:
    membership = require_role(request, Role.MANAGER)
    team = membership.team
    budget = Budget.objects.filter(team=team, member__isnull=True).first()
    initial = {
        "monthly_amount": budget.monthly_amount if budget else None,
        "alert_thresholds": ", ".join(
            str(t) for t in (budget.alert_thresholds if budget else DEFAULT_THRESHOLDS)
        ),
        "time_zone": team.time_zone,
    }
    form = TeamBudgetForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            team.time_zone = data["time_zone"]
            team.save(update_fields=["time_zone"])
            if data["monthly_amount"] is None:
                Budget.objects.filter(team=team, member__isnull=True).delete()
            else:
                Budget.objects.update_or_create(
                    team=team,
                    member=None,
                    defaults={
                        "monthly_amount": data["monthly_amount"],
                        "alert_thresholds": data["alert_thresholds"],
                        "updated_by": request.user,
                    },
                )
        messages.success(request, "Budget saved. It applies to this month and the next ones.")
        return redirect("budgets:settings")
    return render(
        request,
        "budgets/settings.html",
        {
            "nav": "spend",
            "form": form,
            "members": _members(team),
            "member_form": MemberBudgetForm(),
            "managers": managers_of(team),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def member_budget(request: HttpRequest) -> HttpResponse:
    # Someone not of the team is 404 before any role check: the URL confirms nothing.
    team = require_membership(request).team
    member_id = request.POST.get("member", "")
    member = Membership.objects.filter(
        team=team, user_id=member_id if member_id.isdigit() else 0
    ).first()
    if member is None:
        raise Http404("Not a member of this team.")
    require_role(request, Role.MANAGER)
    form = MemberBudgetForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for field in form.errors.values() for e in field)
        messages.error(request, f"Budget of {member.user.get_username()} not saved: {errors}")
        return redirect("budgets:settings")
    Budget.objects.update_or_create(
        team=team,
        member=member.user,
        defaults={
            "monthly_amount": form.cleaned_data["monthly_amount"],
            "updated_by": request.user,
        },
    )
    messages.success(request, f"Budget of {member.user.get_username()} saved.")
    return redirect("budgets:settings")


@require_POST
def member_budget_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = require_membership(request).team
    budget = Budget.objects.filter(team=team, member__isnull=False, pk=pk).first()
    if budget is None:
        raise Http404("No such budget.")
    require_role(request, Role.MANAGER)
    name = budget.member.get_username()
    budget.delete()
    messages.success(request, f"{name} has no budget of their own now (the team's still applies).")
    return redirect("budgets:settings")
