"""Starting runs from a technique page, and "Run again" (issue "Run forms").

A POST either redirects to the run's page (post/redirect/get) or re-renders the technique
page with the form filled in and the reason: invalid inputs, a confirmation of the total
for several runs, or FLORA's refusal.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from runs.access import get_run_for_member
from runs.inputs import keep_chosen_files, record_links, send_chosen_files
from runs.models import Run, RunStatus
from runs.multi import batch_maker
from runs.submit import SubmissionBlocked, existing_runs, submit
from runs.tasks import reconcile_soon
from teams.access import require_membership, require_role
from teams.models import Role, SecretUnavailable
from teams.services import NoConnection, get_connection
from techniques import services
from techniques.forms import RunForm
from techniques.pages import (
    not_connected_page,
    technique_gone_page,
    technique_page,
    unavailable_page,
)
from techniques.problems import CatalogUnavailable, TechniqueGone, problem_from

# How each refusal answers the browser (the page itself says the rest).
_REFUSAL_STATUS = {400: 400, 401: 502, 402: 402, 403: 403, 429: 429}


def _to_runs(request: HttpRequest, runs: list[Run], *, already_submitted: bool) -> HttpResponse:
    first = runs[0]
    name = first.technique_name
    if already_submitted:
        if len(runs) > 1:
            messages.info(
                request,
                f"This form was already submitted: it started {len(runs)} runs of {name}. "
                "This is the first; all of them are listed under Runs.",
            )
        else:
            messages.info(request, "This form was already submitted: here is its run.")
    elif len(runs) > 1:
        started = [run for run in runs if run.status != RunStatus.FAILED_TO_START]
        if len(started) == len(runs):
            messages.success(
                request,
                f"Started {len(runs)} runs of {name}, one per value. This page shows the "
                "first; all of them are listed under Runs.",
            )
        else:
            refused = next(run for run in runs if run.status == RunStatus.FAILED_TO_START)
            messages.warning(
                request,
                f"Started {len(started)} of {len(runs)} runs of {name}. FLORA refused the "
                f"others: {refused.error_message}",
            )
    return redirect("runs:detail", code=first.code)


@require_POST
def start_run(request: HttpRequest, technique_id: str) -> HttpResponse:
    membership = require_membership(request)
    team = membership.team
    try:
        connection = get_connection(team)
    except NoConnection as exc:
        return not_connected_page(request, str(exc), membership)
    # A workspace outside the team's (a forged form) is 404 before anything else happens.
    workspace_id = services.resolve_workspace(connection, request.POST.get("workspace"))
    require_role(request, Role.MEMBER)
    if not services.is_valid_technique_id(technique_id):
        return technique_gone_page(request, technique_id, workspace_id)
    try:
        result = services.get_technique(team, technique_id)
    except TechniqueGone as exc:
        return technique_gone_page(request, technique_id, workspace_id, exc.request_id)
    except CatalogUnavailable as exc:
        return unavailable_page(
            request, exc.problem, retry_url=request.get_full_path(), workspace_id=workspace_id
        )
    technique = result.technique

    page = {
        "membership": membership,
        "connection": connection,
        "workspace_id": workspace_id,
        "result": result,
    }
    form = RunForm(
        request.POST,
        technique=technique,
        team=team,
        workspace_id=workspace_id,
        files=request.FILES,
    )
    if not form.is_valid():
        if form.has_error("intent"):
            form.renew_intent()
        # A good file beside a field to fix is kept, so the corrected form need not send it.
        keep_chosen_files(form, team=team, user=request.user)
        return technique_page(request, form=form, **page)
    # A double click, a resubmitted form or the back button with the same inputs: the
    # intent's runs exist. Back, edit, Run is a new intent (techniques.forms.intent_key_for).
    assert form.intent_key is not None
    if runs := existing_runs(team, form.intent_key):
        return _to_runs(request, runs, already_submitted=True)
    # Files sent with the form are kept now: any page shown from here names them, so
    # nobody has to choose them again.
    keep_chosen_files(form, team=team, user=request.user)
    if form.needs_confirmation:
        form.confirm_runs()
        return technique_page(request, form=form, confirming=True, **page)

    try:
        client = services.interactive_client(team)
    except (NoConnection, SecretUnavailable) as exc:
        problem = problem_from(connection, exc)
        return technique_page(
            request, form=form, refusal_message=problem.message, status=503, **page
        )
    # Chosen files become FLORA assets of this workspace (each at most once); one that
    # fails starts nothing, and says why beside its input.
    links = send_chosen_files(form, team=team)
    if links is None:
        return technique_page(request, form=form, status=502, **page)
    # Several runs are a batch (when the batches app is there): the worker starts them.
    if len(form.plan) > 1 and (make_batch := batch_maker()) is not None:
        try:
            return make_batch(request, technique, workspace_id, form.intent_key, form.plan)
        except SubmissionBlocked as exc:
            # The batch as a whole does not fit a budget: none of it is made.
            return technique_page(
                request, form=form, refusal_message=exc.message, status=402, **page
            )
    outcome = submit(
        client=client,
        connection=connection,
        team=team,
        user=request.user,
        technique=technique,
        workspace_id=workspace_id,
        intent_key=form.intent_key,
        plan=form.plan,
    )
    if outcome.blocked is not None:
        # A budget said no before anything was written or sent: the same form, filled in,
        # with what remains and who can raise it. The intent is kept: nothing of it exists.
        return technique_page(
            request, form=form, refusal_message=outcome.blocked, status=402, **page
        )
    reconcile_soon(outcome)
    if not outcome.already_submitted:
        record_links(outcome.runs, links)
    refusal = outcome.refusal
    if refusal is None:
        return _to_runs(request, outcome.runs, already_submitted=outcome.already_submitted)
    if refusal.status_code == 404:
        services.forget_technique(team, technique.technique_id)
        return technique_gone_page(request, technique_id, workspace_id, refusal.request_id)
    # Nothing started: the same form, filled in, with a NEW intent key so that the
    # corrected form is a new submission (the refused one stays in the history).
    form.renew_intent()
    others = form.add_flora_field_errors(refusal.fields)
    message = refusal.message
    if others:
        message = f"{message} {' '.join(others)}"
    elif refusal.fields:
        message = f"{message} See the messages beside the inputs."
    response = technique_page(
        request,
        form=form,
        refusal_message=message,
        refusal_request_id=refusal.request_id,
        status=_REFUSAL_STATUS.get(refusal.status_code, 502),
        **page,
    )
    if refusal.retry_after:
        response["Retry-After"] = str(refusal.retry_after)
    return response


@require_safe
def run_again(request: HttpRequest, code: str) -> HttpResponse:
    """The technique page, its form filled in with this run's inputs."""
    run = get_run_for_member(request, code)
    if not services.is_valid_technique_id(run.technique_id):
        # Only a run started outside the dashboard can carry such an id (FLORA's, verbatim).
        messages.error(
            request,
            f"This run cannot be run again from the dashboard: FLORA gave its technique an id "
            f"the dashboard cannot use. Start a new run of {run.technique_name} from FLORA.",
        )
        return redirect("runs:detail", code=run.code)
    params = {"again": run.code}
    try:
        connection = get_connection(run.team)
    except NoConnection:
        connection = None
    if connection is not None and run.workspace_id in connection.workspace_ids:
        params["workspace"] = run.workspace_id
    if not run.inputs:
        messages.info(
            request,
            "The dashboard does not know the inputs of this run (it was started outside the "
            "dashboard): fill them in below.",
        )
    url = reverse("techniques:detail", args=[run.technique_id])
    return HttpResponseRedirect(f"{url}?{urlencode(params)}#run-form")
