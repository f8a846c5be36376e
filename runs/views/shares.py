"""Share links: created and revoked by members on the run page, viewed by anyone with the
token on a public page that shows the result and nothing else.

The token appears in the answer to the POST that created it, and afterwards only in the
run page's list, to the team's members, while the link is active (runs.shares explains
why it is kept encrypted). Never in a redirect URL, the session or a log; every answer that
shows it is marked no-store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from florasite.lib import when
from runs import shares
from runs.access import get_run_for_member
from runs.display import input_items, output_filename, share_items
from runs.forms import ShareForm
from runs.models import OutputKeepStatus, RunStatus, ShareLink, TokenLink
from runs.serving import serve_output
from runs.views.public import share_view
from runs.views.run_page import detail_context, no_store_if_tokens, shares_context
from teams.access import require_membership
from teams.models import Membership
from teams.permissions import can_revoke_share, can_share

# --- Member views -----------------------------------------------------------------------------


@require_POST
def create_share(request: HttpRequest, code: str) -> HttpResponse:
    run = get_run_for_member(request, code)
    membership = require_membership(request)
    if not can_share(membership, run.created_by_id):
        raise PermissionDenied("Only the member who started this run, or a manager, can share it.")

    form = ShareForm(request.POST)
    if form.is_valid() and run.status != RunStatus.COMPLETED:
        form.add_error(None, "Only a completed run can be shared.")
    if not form.is_valid():
        ctx = shares_context(run, membership, form=form)
        if request.htmx:
            return no_store_if_tokens(render(request, "runs/_shares.html", ctx), ctx)
        ctx = {**detail_context(run, membership), **ctx}
        return no_store_if_tokens(render(request, "runs/detail.html", ctx, status=400), ctx)

    created = shares.create_share(
        run,
        created_by=request.user,
        hide_inputs=form.cleaned_data["hide_inputs"],
        expires=form.cleaned_data["expires"],
    )
    ctx = {
        **shares_context(run, membership),
        "created": {"link": created.link, "url": shares.public_url(created.token)},
    }
    template = "runs/_shares.html" if request.htmx else "runs/share_created.html"
    response = render(request, template, ctx)
    # It shows the token: keep it out of every cache.
    response["Cache-Control"] = "no-store"
    return response


def revoke_link(
    request: HttpRequest,
    link: TokenLink,
    membership: Membership,
    *,
    fragment: Callable[[dict[str, Any]], dict[str, Any]],
    template: str,
    back_url: str,
) -> HttpResponse:
    """Revoke a run's or a board's link: the creator or a manager. htmx gets the list of
    links again (`template` with `fragment(extra)` as its context), a plain form a redirect."""
    if not can_revoke_share(membership, link.created_by_id):
        raise PermissionDenied(
            "Only the member who created this link, or a manager, can revoke it."
        )
    revoked = shares.revoke(link, request.user)
    notice = (
        "Link revoked: it stopped working immediately."
        if revoked
        else "That link was already revoked."
    )
    if request.htmx:
        ctx = fragment({"notice": notice})
        return no_store_if_tokens(render(request, template, ctx), ctx)
    messages.success(request, notice)
    return redirect(back_url)


@require_POST
def revoke_share(request: HttpRequest, code: str, share_code: str) -> HttpResponse:
    run = get_run_for_member(request, code)
    membership = require_membership(request)
    link = get_object_or_404(ShareLink.objects.filter(run=run), code=share_code)
    return revoke_link(
        request,
        link,
        membership,
        fragment=lambda extra: {**shares_context(run, membership), **extra},
        template="runs/_shares.html",
        back_url=reverse("runs:detail", args=[run.code]) + "#run-shares",
    )


# --- Public views -----------------------------------------------------------------------------


@share_view(shares.find_active_share, "page")
def public_share(request: HttpRequest, link: ShareLink, token: str) -> HttpResponse:
    run = link.run
    if request.method == "GET":
        shares.record_view(link)
    items = share_items(run, token)
    first_image = next((i for i in items if i.kind == "image" and i.is_kept), None)
    ctx = {
        "technique_name": run.technique_name,
        "made_on": run.completed_at or run.created_at,
        "items": items,
        "inputs": [] if link.hide_inputs else input_items(run, public=True),
        "inputs_hidden": link.hide_inputs,
        "page_url": shares.public_url(token),
        "og_description": f"A result made with {run.technique_name} on "
        f"{when.day_text(run.completed_at or run.created_at)}.",
        "og_image": settings.PUBLIC_BASE_URL + first_image.url if first_image else "",
        "og_image_alt": f"{first_image.title}, made with {run.technique_name}"
        if first_image
        else "",
    }
    return render(request, "runs/share_public.html", ctx)


@share_view(shares.find_active_share, "file", files=True)
def public_output(request: HttpRequest, link: ShareLink, token: str, position: int) -> HttpResponse:
    output = link.run.outputs.filter(position=position, keep_status=OutputKeepStatus.KEPT).first()
    if output is None:
        raise Http404("This output is not available.")
    return serve_output(
        request,
        output,
        output_filename(link.run, output, public=True),
        # Revalidated on every use, so a revoked link stops serving cached copies too.
        cache_control="private, no-cache",
    )
