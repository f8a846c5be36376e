"""Earlier files as inputs: the run form's picker, and "Use in another technique".

The picker (an htmx fragment of the run form) lists the team's recent uploads and kept
outputs of one media kind. "Use in another technique" lists the team's techniques with an
input of the output's type; each opens the technique's form with the output chosen
(techniques.media, `?use=output:<code>:<n>&input=<id>`); it is sent to FLORA when the run
starts (runs.inputs).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from runs.access import get_run_for_member
from runs.display import output_filename
from runs.models import OutputKeepStatus, RunOutput
from teams.access import require_membership
from teams.services import NoConnection, get_connection
from techniques import services
from techniques.media import kind_of
from techniques.problems import CatalogUnavailable
from uploads.models import Upload

PICKER_SIZE = 12
_TYPES = {"image": "imageUrl", "video": "videoUrl"}


def _kept_media(team_id: int, media_type: str) -> list[RunOutput]:
    return list(
        RunOutput.objects.select_related("run")
        .filter(run__team_id=team_id, type=media_type, keep_status=OutputKeepStatus.KEPT)
        .exclude(sha256="")
        .exclude(file="")
        .order_by("-kept_at", "-pk")[:PICKER_SIZE]
    )


@require_safe
def input_picker(request: HttpRequest) -> HttpResponse:
    """The team's recent files of one kind, each a button that chooses it (run-form.js)."""
    membership = require_membership(request)
    kind = request.GET.get("kind", "")
    if kind not in _TYPES:
        raise Http404("Files are offered for image and video inputs only.")
    team = membership.team
    items = [
        {
            "ref": upload.ref,
            "name": upload.original_name,
            "preview_url": reverse("uploads:file", args=[upload.public_id]),
            "when": upload.created_at,
            "origin": "Uploaded",
        }
        for upload in Upload.objects.filter(team=team, kind=kind)[:PICKER_SIZE]
    ]
    items += [
        {
            "ref": f"output:{output.run.code}:{output.position}",
            "name": output_filename(output.run, output),
            "preview_url": reverse("runs:output", args=[output.run.code, output.position]),
            "when": output.kept_at,
            "origin": f"Output of {output.run.technique_name}",
        }
        for output in _kept_media(team.pk, _TYPES[kind])
    ]
    ctx = {"items": items, "kind": kind}
    return render(request, "runs/_input_picker.html", ctx)


def _compatible(team, workspace_id: str, media_type: str) -> tuple[list[dict], str]:
    """Techniques with an input of this type, from the team's whole (cached) catalog."""
    catalog = services.full_catalog(team, workspace_id=workspace_id)
    found: list[dict] = []
    for technique in sorted(catalog.techniques, key=lambda t: (t.name.casefold(), t.technique_id)):
        inputs = [io for io in technique.inputs if io.type == media_type]
        if inputs and services.is_valid_technique_id(technique.technique_id):
            found.append({"technique": technique, "inputs": inputs})
    if not catalog.cut_off:
        return found, ""
    size = len(catalog.techniques)
    if catalog.cut_off == "pages":
        return found, f"Only the first {size} techniques of FLORA's catalog are looked at."
    why = f" ({catalog.cut_off_message})" if catalog.cut_off_message else ""
    return found, (
        f"FLORA did not send its whole catalog{why}; only the first {size} techniques are "
        "looked at. Reload in a minute to try again."
    )


@require_safe
def use_output(request: HttpRequest, code: str, position: int) -> HttpResponse:
    run = get_run_for_member(request, code)
    membership = require_membership(request)
    output = get_object_or_404(
        RunOutput, run=run, position=position, keep_status=OutputKeepStatus.KEPT
    )
    kind = kind_of(output.type)
    if not kind or not output.sha256:
        raise Http404("Only kept images and videos can be used as inputs.")
    ref = f"output:{run.code}:{output.position}"
    ctx: dict[str, object] = {
        "nav": "runs",
        "run": run,
        "output": output,
        "kind": kind,
        "filename": output_filename(run, output),
        "preview_url": reverse("runs:output", args=[run.code, output.position]),
        "rows": [],
        "note": "",
        "problem": "",
    }
    try:
        connection = get_connection(membership.team)
    except NoConnection as exc:
        ctx["problem"] = str(exc)
        return render(request, "runs/use_output.html", ctx)
    workspace_id = (
        run.workspace_id
        if run.workspace_id in connection.workspace_ids
        else connection.default_workspace_id or connection.workspace_ids[0]
    )
    try:
        found, ctx["note"] = _compatible(membership.team, workspace_id, output.type)
    except CatalogUnavailable as exc:
        ctx["problem"] = exc.problem.message
        return render(request, "runs/use_output.html", ctx, status=503)
    ctx["rows"] = [
        {
            "technique": row["technique"],
            "links": [
                {
                    "io": io,
                    "url": reverse("techniques:detail", args=[row["technique"].technique_id])
                    + "?"
                    + urlencode({"workspace": workspace_id, "use": ref, "input": io.id})
                    + "#run-form",
                }
                for io in row["inputs"]
            ],
        }
        for row in found
    ]
    return render(request, "runs/use_output.html", ctx)
