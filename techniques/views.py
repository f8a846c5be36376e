"""The technique catalog (search, workspace, type filters, sort, "Load more") and technique pages.

One view serves each page and its htmx fragments: the search box swaps `#results`, the
"Load more" button appends `#page` (the next cards, and a new button out of band). Every
one of them reads the whole catalog (techniques.services.full_catalog, cached) and cuts
its part out of the filtered, sorted list (techniques.listing).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from flora import Technique
from teams.access import require_membership
from teams.services import NoConnection, get_connection
from techniques import services
from techniques.listing import SORTS, CatalogQuery
from techniques.pages import (
    connection_warning,
    not_connected_page,
    technique_gone_page,
    technique_page,
    unavailable_page,
)
from techniques.prefill import again_inputs
from techniques.problems import CatalogUnavailable, TechniqueGone

FILTER_WORDS = {
    "text": ("takes text", "makes text"),
    "image": ("takes an image", "makes an image"),
    "video": ("takes a video", "makes a video"),
    "audio": ("takes audio", "makes audio"),
    "document": ("takes a document", "makes a document"),
}


def _filter_phrase(asked: CatalogQuery) -> str:
    words = [FILTER_WORDS[asked.takes][0]] if asked.takes else []
    words += [FILTER_WORDS[asked.makes][1]] if asked.makes else []
    return " and ".join(words)


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
    asked = CatalogQuery.from_params(request.GET)
    fragment = request.htmx and not request.htmx.history_restore_request  # type: ignore[attr-defined]
    more = bool(fragment and asked.start)  # "Load more": cards to append, not new results

    params = {"workspace": workspace_id, **asked.params()}
    without_query = {name: value for name, value in params.items() if name != "q"}
    list_url = reverse("techniques:list")
    ctx: dict[str, object] = {
        "nav": "techniques",
        "query": asked.query,
        "takes": asked.takes,
        "makes": asked.makes,
        "sort": asked.sort,
        "sorts": SORTS,
        "filter_words": FILTER_WORDS,
        "workspace_id": workspace_id,
        "workspaces": services.workspace_choices(connection, workspace_id),
        "first_page_url": f"{list_url}?{urlencode(params)}",
        "clear_query_url": f"{list_url}?{urlencode(without_query)}",
        "clear_filters_url": f"{list_url}?{urlencode({'workspace': workspace_id})}",
        "connection_warning": connection_warning(connection),
        "filtering": asked.filtering,
        "filter_phrase": _filter_phrase(asked),
    }
    try:
        catalog = services.full_catalog(membership.team, workspace_id=workspace_id)
    except CatalogUnavailable as exc:
        ctx["problem"] = exc.problem
        # htmx swaps only 2xx answers: the notice goes where the swap would have gone.
        if more:
            # "Load more" failed: keep the cards, offer the same page again.
            ctx.update(cards=[], shown_to=asked.start, next_url=request.get_full_path())
            return render(request, "techniques/list.html#page", ctx)
        if fragment:
            return render(request, "techniques/list.html#results", ctx)
        return unavailable_page(
            request, exc.problem, retry_url=request.get_full_path(), workspace_id=workspace_id
        )

    shown = asked.apply(catalog.techniques)
    start = asked.start
    if start >= len(shown) and not more:
        start = 0  # a page past the end (the catalog shrank, or a hand-made link): the first
    page = shown[start : start + services.PAGE_SIZE]
    shown_to = min(start, len(shown)) + len(page)
    ctx.update(
        cards=[_card(t, workspace_id) for t in page],
        start=start,
        first_shown=start + 1,
        shown_to=shown_to,
        total=len(shown),
        catalog_size=len(catalog.techniques),
        next_url=(
            f"{list_url}?{urlencode({**params, 'start': shown_to})}"
            if shown_to < len(shown)
            else ""
        ),
        cut_off=catalog.cut_off,
        cut_off_message=catalog.cut_off_message,
        walk_cap=services.WALK_PAGES * services.WALK_PAGE_LIMIT,
        page_deadline=settings.FLORA_PAGE_DEADLINE,
        stale_problem=catalog.problem,
        fetched_at=catalog.fetched_at,
    )
    if fragment:
        return render(request, f"techniques/list.html#{'page' if more else 'results'}", ctx)
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
