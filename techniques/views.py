"""The technique catalog (search, workspace, type filters, "Load more") and technique pages.

One view serves each page and its htmx fragments: the search box swaps `#results`, the
"Load more" button appends `#page` (the next cards, and a new button out of band).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from flora import Technique
from teams.access import require_membership
from teams.services import NoConnection, get_connection
from techniques import services
from techniques.pages import (
    connection_warning,
    not_connected_page,
    technique_gone_page,
    technique_page,
    unavailable_page,
)
from techniques.prefill import again_inputs
from techniques.problems import CatalogUnavailable, TechniqueGone
from techniques.services import MEDIA_FILTERS

FILTER_WORDS = {
    "text": ("takes text", "makes text"),
    "image": ("takes an image", "makes an image"),
    "video": ("takes a video", "makes a video"),
    "audio": ("takes audio", "makes audio"),
    "document": ("takes a document", "makes a document"),
}


def _clean_query(raw: str) -> str:
    return " ".join(raw.split())[: services.MAX_QUERY_LENGTH]


def _clean_filter(raw: str) -> str:
    return raw if raw in MEDIA_FILTERS else ""


def _loaded(raw: str) -> int:
    return int(raw) if raw.isdigit() and len(raw) < 6 else 0


def _matches(technique: Technique, takes: str, makes: str) -> bool:
    if takes and MEDIA_FILTERS[takes] not in {io.type for io in technique.inputs}:
        return False
    return not makes or MEDIA_FILTERS[makes] in {io.type for io in technique.outputs}


def _card(technique: Technique, workspace_id: str) -> dict[str, object]:
    def kinds(items: list) -> list[str]:
        return list(dict.fromkeys(io.type for io in items))

    # FLORA's ids are any string: one no URL can carry gets a card without a link, not a 500.
    url = ""
    if services.is_valid_technique_id(technique.technique_id):
        path = reverse("techniques:detail", args=[technique.technique_id])
        url = f"{path}?{urlencode({'workspace': workspace_id})}"
    return {
        "technique": technique,
        "url": url,
        "takes": kinds(technique.inputs),
        "makes": kinds(technique.outputs),
    }


@require_safe
@vary_on_headers("HX-Request")
def technique_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    if membership is None:
        return render(request, "techniques/no_team.html", {"nav": "techniques"})
    try:
        connection = get_connection(membership.team)
    except NoConnection as exc:
        return not_connected_page(request, str(exc), membership)
    workspace_id = services.resolve_workspace(connection, request.GET.get("workspace"))
    query = _clean_query(request.GET.get("q", ""))
    cursor = request.GET.get("cursor", "").strip()
    if len(cursor) > services.MAX_CURSOR_LENGTH:
        raise Http404("This page link is not valid.")
    takes = _clean_filter(request.GET.get("takes", ""))
    makes = _clean_filter(request.GET.get("makes", ""))
    loaded_before = _loaded(request.GET.get("loaded", "")) if cursor else 0
    fragment = request.htmx and not request.htmx.history_restore_request  # type: ignore[attr-defined]

    base = {"workspace": workspace_id, "q": query, "takes": takes, "makes": makes}
    params = {name: value for name, value in base.items() if value}
    without_query = {name: value for name, value in params.items() if name != "q"}
    ctx: dict[str, object] = {
        "nav": "techniques",
        "query": query,
        "takes": takes,
        "makes": makes,
        "filter_words": FILTER_WORDS,
        "workspace_id": workspace_id,
        "workspaces": services.workspace_choices(connection, workspace_id),
        "cursor": cursor,
        "first_page_url": f"{reverse('techniques:list')}?{urlencode(params)}",
        "clear_query_url": f"{reverse('techniques:list')}?{urlencode(without_query)}",
        "now_ymd": timezone.localtime().strftime("%Y%m%d"),
        "connection_warning": connection_warning(connection),
        "filtering": bool(takes or makes),
    }
    try:
        page = services.catalog_page(
            membership.team, workspace_id=workspace_id, query=query, cursor=cursor
        )
    except CatalogUnavailable as exc:
        ctx["problem"] = exc.problem
        # htmx swaps only 2xx answers: the notice goes where the swap would have gone.
        if fragment and cursor:
            # "Load more" failed: keep the cards, offer the same page again.
            ctx.update(
                cards=[], page_size=0, loaded=loaded_before, next_url=request.get_full_path()
            )
            return render(request, "techniques/list.html#page", ctx)
        if fragment:
            return render(request, "techniques/list.html#results", ctx)
        return unavailable_page(
            request, exc.problem, retry_url=request.get_full_path(), workspace_id=workspace_id
        )

    loaded = loaded_before + len(page.techniques)
    more_params = {**params, "cursor": page.next_cursor or "", "loaded": str(loaded)}
    ctx.update(
        cards=[_card(t, workspace_id) for t in page.techniques if _matches(t, takes, makes)],
        page_size=len(page.techniques),
        loaded=loaded,
        first_shown=loaded_before + 1,
        total=page.total_estimate,
        next_url=(
            f"{reverse('techniques:list')}?{urlencode(more_params)}" if page.next_cursor else ""
        ),
        stale_problem=page.problem,
        fetched_at=page.fetched_at,
    )
    if fragment:
        partial = "page" if cursor else "results"
        return render(request, f"techniques/list.html#{partial}", ctx)
    return render(request, "techniques/list.html", ctx)


@require_safe
def technique_detail(request: HttpRequest, technique_id: str) -> HttpResponse:
    membership = require_membership(request)
    try:
        connection = get_connection(membership.team)
    except NoConnection as exc:
        return not_connected_page(request, str(exc), membership)
    workspace_id = services.resolve_workspace(connection, request.GET.get("workspace"))
    if not services.is_valid_technique_id(technique_id):
        return technique_gone_page(request, technique_id, workspace_id)
    try:
        result = services.get_technique(membership.team, technique_id)
    except TechniqueGone as exc:
        return technique_gone_page(request, technique_id, workspace_id, exc.request_id)
    except CatalogUnavailable as exc:
        return unavailable_page(
            request, exc.problem, retry_url=request.get_full_path(), workspace_id=workspace_id
        )
    return technique_page(
        request,
        membership=membership,
        connection=connection,
        workspace_id=workspace_id,
        result=result,
        initial_inputs=again_inputs(
            membership.team, result.technique.technique_id, request.GET.get("again", "")
        ),
        initial_refs=_use_refs(result.technique, request.GET),
    )


def _use_refs(technique: Technique, params: QueryDict) -> dict[str, str]:
    """?use=<ref>&input=<id> ("Use in another technique"): that file chosen for that input.
    The form checks that the reference is the team's (techniques.media.choice_for)."""
    use, input_id = params.get("use", ""), params.get("input", "")
    if not use or len(use) > 80 or input_id not in {io.id for io in technique.inputs}:
        return {}
    return {input_id: use}
