"""Pages shared by the catalog views and the run submission view (which re-renders the
technique page with the submitted form when something needs fixing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from flora import TechniqueIO
from teams.models import ConnectionStatus, Role
from teams.permissions import can_start_runs
from techniques.fields import RUN_INPUT_TYPES, guidance_for
from techniques.forms import RunForm
from techniques.problems import Problem
from techniques.services import TechniqueResult, workspace_choices

if TYPE_CHECKING:
    from teams.models import FloraConnection, Membership

__all__ = [
    "catalog_url",
    "connection_warning",
    "io_rows",
    "not_connected_page",
    "technique_gone_page",
    "technique_page",
    "unavailable_page",
]


def catalog_url(workspace_id: str = "") -> str:
    url = reverse("techniques:list")
    return f"{url}?workspace={workspace_id}" if workspace_id else url


def connection_warning(connection: FloraConnection) -> str:
    if connection.status == ConnectionStatus.FAILING:
        return (
            "The last call to FLORA with the team's key failed"
            + (f" ({connection.last_error})" if connection.last_error else "")
            + ". Runs may fail until an admin fixes the connection."
        )
    return ""


def io_rows(items: list[TechniqueIO]) -> list[dict[str, object]]:
    return [
        {
            "io": io,
            "required": not io.optional,
            "guidance": guidance_for(io),
            "supported": io.type in RUN_INPUT_TYPES,
            "ratio": (io.specified_aspect_ratio or "").strip(),
            "duration": io.specified_duration if io.specified_duration else None,
        }
        for io in items
    ]


def technique_page(
    request: HttpRequest,
    *,
    membership: Membership,
    connection: FloraConnection,
    workspace_id: str,
    result: TechniqueResult,
    form: RunForm | None = None,
    initial_inputs: dict[str, list[str]] | None = None,
    initial_refs: dict[str, str] | None = None,
    refusal_message: str = "",
    refusal_request_id: str = "",
    confirming: bool = False,
    status: int = 200,
) -> HttpResponse:
    technique = result.technique
    if form is None:
        form = RunForm(
            technique=technique,
            team=membership.team,
            workspace_id=workspace_id,
            initial_inputs=initial_inputs,
            initial_refs=initial_refs,
        )
    can_run = can_start_runs(membership)
    choices = workspace_choices(connection, workspace_id)
    ctx = {
        "nav": "techniques",
        "technique": technique,
        "inputs": io_rows(technique.inputs),
        "outputs": io_rows(technique.outputs),
        "takes": list(dict.fromkeys(io.type for io in technique.inputs)),
        "makes": list(dict.fromkeys(io.type for io in technique.outputs)),
        "workspace_id": workspace_id,
        "workspace_name": next((c.name for c in choices if c.selected), workspace_id),
        "show_workspace": len(choices) > 1,
        "catalog_url": catalog_url(workspace_id),
        "form": form,
        "can_run": can_run,
        "cannot_run_reason": ""
        if can_run
        else (
            f"You are a {membership.get_role_display().lower()} in {membership.team.name}: "
            f"viewers can look at techniques but not start runs. Ask a manager of the team "
            f"for the {Role.MEMBER.label.lower()} role."
        ),
        "blocking_inputs": form.blocking_inputs,
        "refusal_message": refusal_message,
        "refusal_request_id": refusal_request_id,
        "confirming": confirming,
        "stale_problem": result.problem,
        "fetched_at": result.fetched_at,
        "connection_warning": connection_warning(connection),
    }
    return render(request, "techniques/detail.html", ctx, status=status)


def technique_gone_page(
    request: HttpRequest, technique_id: str, workspace_id: str, request_id: str = ""
) -> HttpResponse:
    ctx = {
        "nav": "techniques",
        "technique_id": technique_id,
        "catalog_url": catalog_url(workspace_id),
        "flora_request_id": request_id,
    }
    return render(request, "techniques/gone.html", ctx, status=404)


def unavailable_page(
    request: HttpRequest, problem: Problem, *, retry_url: str, workspace_id: str = ""
) -> HttpResponse:
    """FLORA failed and nothing is cached: a friendly page with FLORA's request id."""
    status = {"auth": 502, "forbidden": 502, "bad_request": 400, "secret": 503}.get(
        problem.kind, 503
    )
    ctx = {
        "nav": "techniques",
        "problem": problem,
        "retry_url": retry_url,
        "catalog_url": catalog_url(workspace_id),
        "is_staff": request.user.is_staff,
    }
    response = render(request, "techniques/unavailable.html", ctx, status=status)
    if problem.retry_after:
        response["Retry-After"] = str(problem.retry_after)
    return response


def not_connected_page(request: HttpRequest, message: str, membership: Membership) -> HttpResponse:
    team = membership.team
    ctx = {
        "nav": "techniques",
        "message": message,
        "team": team,
        "admin_url": reverse("admin:teams_team_change", args=[team.pk])
        if request.user.is_staff
        else "",
    }
    return render(request, "techniques/not_connected.html", ctx)
