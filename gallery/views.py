"""The gallery (/gallery/: kept outputs and uploads), stars on both, and compare
(/gallery/compare?o=..&o=u..).

Any member of the team may look (viewers too) and star: a star is the member's own, and
changes nothing anyone else sees. Another team's output or upload is 404, as everywhere.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from gallery import compare as comparing
from gallery import listing
from gallery.models import Favourite
from runs.models import OutputKeepStatus, RunOutput
from teams.access import get_for_team_or_404, require_membership
from uploads.models import Upload


def _kept_output(request: HttpRequest, output_id: str) -> RunOutput:
    membership = require_membership(request)
    try:
        pk = int(output_id)
    except ValueError as exc:
        raise Http404("No such output.") from exc
    return get_object_or_404(
        RunOutput.objects.select_related("run"),
        pk=pk,
        team=membership.team,
        keep_status=OutputKeepStatus.KEPT,
    )


@require_safe
@vary_on_headers("HX-Request")
def index(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    team = membership.team
    form = listing.filter_form(request.GET, team)
    outputs = listing.filtered(team, form, request.user)
    after_raw = request.GET.get("after")
    after = listing.decode_cursor(after_raw)
    tiles, next_cursor = listing.page(
        outputs,
        after,
        request.user,
        team,
        uploads=listing.uploads_filtered(team, form),
        by_favourite=bool(form.cleaned_data.get("favourites")),
    )
    query = listing.filter_query(request.GET)
    ctx = {
        "nav": "gallery",
        "team": team,
        "form": form,
        "tiles": tiles,
        "next_cursor": next_cursor,
        "filter_query": query,
        "filtered": any(form.cleaned_data.get(name) for name in form.fields),
        "bad_cursor": bool(after_raw) and after is None,
        "is_paged": after is not None,
    }
    if request.htmx and after is not None:
        # The infinite scroll's next page: its tiles and a new sentinel, nothing else.
        return render(request, "gallery/index.html#page", ctx)
    return render(request, "gallery/index.html", ctx)


def _toggle(request: HttpRequest, item: RunOutput | Upload) -> HttpResponse:
    """Star or unstar (POST starred=1 or 0): the same POST twice leaves the same state."""
    membership = require_membership(request)
    field = "upload" if isinstance(item, Upload) else "output"
    want = request.POST.get("starred", "1") != "0"
    if want:
        try:
            with transaction.atomic():
                Favourite.objects.get_or_create(
                    user=request.user,
                    **{field: item},
                    defaults={"team": membership.team, "output_created_at": item.created_at},
                )
        except IntegrityError:
            pass  # a double click raced us to the same row: starred all the same
    else:
        Favourite.objects.filter(user=request.user, **{field: item}).delete()
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=False):
        target = ""
    if request.htmx:
        where = request.POST.get("where", "tile")
        ctx = {field: item, "favourite": want, "where": where, "next": target}
        return render(request, "gallery/_favourite.html", ctx)
    return redirect(target or "gallery:index")


@require_POST
def toggle_favourite(request: HttpRequest, output_id: str) -> HttpResponse:
    return _toggle(request, _kept_output(request, output_id))


@require_POST
def toggle_upload_favourite(request: HttpRequest, public_id: str) -> HttpResponse:
    return _toggle(request, get_for_team_or_404(request, Upload, public_id=public_id))


@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    result = comparing.choose(membership.team, request.GET.getlist("o"), request.user)
    ctx = {
        "nav": "gallery",
        "team": membership.team,
        "columns": result.columns,
        "problem": result.problem,
        "slider": result.slider,
    }
    return render(request, "gallery/compare.html", ctx, status=result.status)
