"""Starting a batch: lines of text, a CSV, several files, or every output of a board.

GET shows the form. A POST without `confirmed` shows the preview: how many runs, the price
of each and the total, the CSV's mapping and first rows; nothing is written but the files
sent (kept as uploads, so the confirmation names them instead of sending them again). The
confirming POST writes the batch and its rows (batches.services.create_batch) and redirects
to the batch page; the worker starts the runs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from batches import plans, services
from batches.display import label_of
from batches.models import BatchSource, BatchStatus
from batches.tasks import start_soon
from boards.models import Board
from budgets.services import BudgetRefused, check_total
from flora import Technique
from runs.columns import to_decimal
from runs.models import OutputKeepStatus
from teams.access import require_membership, require_role
from teams.models import Role
from teams.services import NoConnection, get_connection
from techniques import services as catalog
from techniques.forms import intent_from_token, intent_key_for, new_intent_token
from techniques.media import choice_for, kind_of
from techniques.problems import CatalogUnavailable, TechniqueGone
from uploads.services import keep_upload
from uploads.validation import MAX_VIDEO_BYTES, Refused, prepare

MAX_CSV_BYTES = 1024 * 1024
MAX_FILES = 200
SOURCES = {BatchSource.LINES, BatchSource.CSV, BatchSource.FILES, BatchSource.BOARD}


def _technique(request: HttpRequest, technique_id: str) -> Technique:
    membership = require_membership(request)
    if not catalog.is_valid_technique_id(technique_id):
        raise Http404("No such technique.")
    try:
        return catalog.get_technique(membership.team, technique_id).technique
    except TechniqueGone as exc:
        raise Http404("No such technique.") from exc
    except CatalogUnavailable as exc:
        raise plans.PlanError([exc.problem.message]) from exc


def _media_refs(request: HttpRequest, technique: Technique, input_id: str) -> list[str]:
    """Files sent with the preview, each validated and kept (uploads), as refs."""
    membership = require_membership(request)
    target = next((io for io in technique.inputs if io.id == input_id), None)
    if target is None or not kind_of(target.type):
        raise plans.PlanError(["Choose which image or video input the files go to."])
    kind = kind_of(target.type)
    files = request.FILES.getlist("files")
    if len(files) > MAX_FILES:
        raise plans.PlanError([f"At most {MAX_FILES} files in one batch; you chose {len(files)}."])
    refs, errors = [], []
    for handle in files:
        if handle.size is not None and handle.size > MAX_VIDEO_BYTES:
            errors.append(f"{handle.name}: too large (at most {MAX_VIDEO_BYTES // 2**20} MB).")
            continue
        try:
            prepared = prepare(handle.read(), name=handle.name or "", kind=kind)
        except Refused as exc:
            errors.append(f"{handle.name}: {exc}")
            continue
        refs.append(keep_upload(membership.team, request.user, prepared).ref)
    if errors:
        raise plans.PlanError([*errors, "Nothing was started; the other files are kept."])
    # Files kept by an earlier preview come back as refs, checked to be the team's.
    for ref in request.POST.get("refs", "").split():
        if choice_for(membership.team, ref, kind) is None:
            raise plans.PlanError([f"The file {ref} is not one of the team's {kind}s."])
        refs.append(ref)
    return refs


def _board_refs(request: HttpRequest, technique: Technique, input_id: str) -> list[str]:
    membership = require_membership(request)
    target = next((io for io in technique.inputs if io.id == input_id), None)
    kind = kind_of(target.type) if target else ""
    board = Board.objects.filter(team=membership.team, code=request.POST.get("board")).first()
    if board is None:
        raise plans.PlanError(["Choose one of the team's boards."])
    items = board.items.select_related("output__run").order_by("position", "id")
    return [
        f"output:{item.output.run.code}:{item.output.position}"
        for item in items
        if item.output.keep_status == OutputKeepStatus.KEPT and kind_of(item.output.type) == kind
    ]


def _plan(request: HttpRequest, technique: Technique, source: str) -> tuple[list, Any]:
    data = request.POST
    if source == BatchSource.LINES:
        return plans.plan_from_lines(technique, data.get("input", ""), data.get("lines", "")), None
    if source == BatchSource.CSV:
        text = data.get("csv_text", "")
        if upload := request.FILES.get("csv"):
            if upload.size and upload.size > MAX_CSV_BYTES:
                raise plans.PlanError(["The CSV is larger than 1 MB: split it."])
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise plans.PlanError(["The CSV is not UTF-8 text."]) from None
        csv_plan = plans.plan_from_csv(technique, text)
        return csv_plan.plan, (csv_plan, text)
    input_id = data.get("input", "")
    if source == BatchSource.FILES:
        refs = _media_refs(request, technique, input_id)
    else:
        refs = _board_refs(request, technique, input_id)
    return plans.plan_of_refs(technique, input_id, refs), refs


def _context(request: HttpRequest, technique: Technique, **extra: Any) -> dict[str, Any]:
    membership = require_membership(request)
    return {
        "nav": "batches",
        "technique": technique,
        "text_inputs": [io for io in technique.inputs if io.type == "text"],
        "media_inputs": [io for io in technique.inputs if kind_of(io.type)],
        "boards": Board.objects.filter(team=membership.team).order_by("name"),
        "token": new_intent_token(membership.team, technique.technique_id),
        "approval_over": settings.FLORASITE_BATCH_APPROVAL_OVER,
        "is_manager": membership.has_role(Role.MANAGER),
        **extra,
    }


@require_http_methods(["GET", "HEAD", "POST"])
def new_batch(request: HttpRequest, technique_id: str) -> HttpResponse:
    membership = require_role(request, Role.MEMBER)
    try:
        connection = get_connection(membership.team)
    except NoConnection as exc:
        messages.error(request, str(exc))
        return redirect("batches:list")
    try:
        technique = _technique(request, technique_id)
    except plans.PlanError as exc:
        return render(request, "batches/unavailable.html", {"errors": exc.messages}, status=503)
    if request.method != "POST":
        return render(request, "batches/new.html", _context(request, technique, source="lines"))
    source = request.POST.get("source", "")
    workspace_id = catalog.resolve_workspace(connection, request.POST.get("workspace"))
    page = {"source": source, "post": request.POST, "workspace_id": workspace_id}
    if source not in SOURCES:
        return render(
            request,
            "batches/new.html",
            _context(request, technique, errors=["Choose how the batch is made."], **page),
            status=400,
        )
    try:
        plan, detail = _plan(request, technique, source)
    except plans.PlanError as exc:
        ctx = _context(request, technique, errors=exc.messages, **page)
        return render(request, "batches/new.html", ctx, status=400)
    token = request.POST.get("token", "")
    token_key = intent_from_token(membership.team, technique.technique_id, token)
    if token_key is None:
        ctx = _context(
            request,
            technique,
            errors=["This form was out of date: check it and press the button again."],
            **page,
        )
        return render(request, "batches/new.html", ctx, status=400)
    size = len(plan)
    try:
        if request.POST.get("confirmed") == str(size):
            # create_batch checks the budgets again, after finding a batch already made.
            return _made(request, technique, membership, workspace_id, token_key, plan, source)
        # Price first: a batch that does not fit the budgets left is refused whole.
        check_total(membership.team, request.user, [to_decimal(technique.run_cost)] * size)
    except BudgetRefused as exc:
        ctx = _context(request, technique, errors=[exc.message], **page)
        return render(request, "batches/new.html", ctx, status=402)
    price = None if technique.run_cost is None else technique.run_cost * size
    ctx = _context(
        request,
        technique,
        first_runs=[label_of(inputs) for inputs in plan[:5]],
        size=size,
        price_total=price,
        detail=detail,
        needs_approval=services.needs_approval(size, membership),
        refs=detail if source in (BatchSource.FILES, BatchSource.BOARD) else [],
        **page,
    )
    ctx["token"] = token  # the same intent when it is confirmed
    return render(request, "batches/preview.html", ctx)


def _made(request, technique, membership, workspace_id, token_key, plan, source) -> HttpResponse:
    """The confirmed batch: its rows written (services.create_batch), its page."""
    size = len(plan)
    batch, made = services.create_batch(
        membership=membership,
        user=request.user,
        technique=technique,
        workspace_id=workspace_id,
        intent_key=intent_key_for(token_key, technique.technique_id, workspace_id, plan),
        plan=plan,
        source=source,
    )
    if not made:
        messages.info(request, "This batch was already made: here it is.")
    elif batch.status == BatchStatus.AWAITING_APPROVAL:
        messages.warning(
            request,
            f"{size} runs is more than {settings.FLORASITE_BATCH_APPROVAL_OVER}: "
            "a manager must approve this batch before it starts.",
        )
    else:
        start_soon()
        messages.success(request, f"Batch of {size} runs made: they start in the background.")
    return redirect("batches:detail", code=batch.code)


def batch_of_form(
    request: HttpRequest,
    technique: Technique,
    workspace_id: str,
    intent_key: str,
    plan: list[list[dict[str, str]]],
) -> HttpResponse:
    """The run form's several runs (allow_multiple) as a batch (runs.multi): the form has
    already confirmed the count and price and sent its files; the worker starts the runs."""
    membership = require_role(request, Role.MEMBER)
    batch, made = services.create_batch(
        membership=membership,
        user=request.user,
        technique=technique,
        workspace_id=workspace_id,
        intent_key=intent_key,
        plan=plan,
        source=BatchSource.FORM,
    )
    if not made:
        messages.info(request, "This form was already submitted: here is its batch.")
    elif batch.status == BatchStatus.ACTIVE:
        start_soon()
        messages.success(
            request,
            f"Started a batch of {batch.size} runs of {batch.technique_name}, one per value.",
        )
    return redirect("batches:detail", code=batch.code)
