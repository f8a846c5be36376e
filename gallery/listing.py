"""The gallery as asked: filters from the query string, keyset pages, tiles.

Every kept output and every upload of the team, newest first, in one order: (created_at,
kind, id) descending, kind "u" (an upload) before "o" (an output) when the times tie. A
page reads at most 49 rows from each source, each one index range scan from the cursor
(output_gallery on runoutput(team, keep_status, created_at, id); upload_gallery on
upload(team, created_at, id)), merges them and keeps 48: page 2,000 costs what page 1
costs, whatever the team's size. The cursor is the last tile's (kind, created_at, id),
opaque in the URL (`?after=`, `o.<micros>.<id>` or `u.<micros>.<id>`); as the order is
total, it says where both sources resume (gallery.cursor). A value that does not decode
is the first page. New items that arrive between two pages sort before the cursor, so the
next page neither repeats nor skips a tile.

Filters are columns of that row or of its run, read while walking the index in order
(for uploads: gallery.upload_items, which says which filters leave uploads out):
- technique, member, search: on the run (joined by primary key), search over
  Run.search_text (the text inputs, lowercased, at most 500 characters) with LIKE;
- type and date: on the output row itself; favourites: a join on the member's stars, made
  by page() (keyset) in the one filter() call that also holds the cursor.
A filter that matches rarely walks further to fill a page (bounded by the team's outputs);
the unfiltered page, the one nearly everyone opens, never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.db.models.functions import Substr
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from gallery.cursor import Cursor, cursor_filters, encode_cursor
from gallery.cursor import decode_cursor as decode_cursor  # the view's, with encode_cursor
from gallery.models import Favourite
from gallery.upload_items import UploadTile, filtered_uploads, upload_tiles
from runs.display import ThumbTile, output_kind, thumb_tile
from runs.history import technique_choices
from runs.models import OutputKeepStatus, Run, RunOutput
from teams.models import Membership, Team
from uploads.models import Upload

PAGE_SIZE = 48
# A text output's tile shows its beginning (the database sends no more than this).
TEXT_TILE_CHARS = 240
FACETS_TTL = 60
TYPE_CHOICES = [
    ("", "Any type"),
    ("imageUrl", "Images"),
    ("videoUrl", "Videos"),
    ("audioUrl", "Audio"),
    ("text", "Text"),
    ("documentUrl", "Documents"),
]


class GalleryFilterForm(forms.Form):
    q = forms.CharField(label="Search inputs and file names", max_length=100, required=False)
    technique = forms.CharField(max_length=200, required=False, widget=forms.Select)
    type = forms.ChoiceField(choices=TYPE_CHOICES, required=False)
    member = forms.CharField(label="By", max_length=150, required=False, widget=forms.Select)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    favourites = forms.BooleanField(label="Favourites only", required=False)

    def __init__(
        self, data: QueryDict, *, techniques: list[tuple[str, str]], members: list[str]
    ) -> None:
        super().__init__(data)
        self.fields["technique"].widget.choices = _with_current(
            [("", "Any technique"), *techniques], data.get("technique")
        )
        self.fields["member"].widget.choices = _with_current(
            [("", "Anyone"), *[(m, m) for m in members]], data.get("member")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
            cleaned.pop("date_to", None)
        return cleaned


def _with_current(choices: list[tuple[str, str]], current: str | None) -> list[tuple[str, str]]:
    # A bookmarked value no longer offered (a member who left) still filters, and shows.
    if current and current not in {value for value, _ in choices}:
        return [*choices, (current, current)]
    return choices


def _techniques(team: Team) -> list[tuple[str, str]]:
    key = f"gallery:techniques:v1:{team.pk}"
    found = cache.get(key)
    if found is None:
        found = technique_choices(team)
        cache.set(key, found, FACETS_TTL)
    return found


def filter_form(query: QueryDict, team: Team) -> GalleryFilterForm:
    members = list(
        Membership.objects.filter(team=team)
        .order_by("user__username")
        .values_list("user__username", flat=True)
    )
    form = GalleryFilterForm(query, techniques=_techniques(team), members=members)
    form.is_valid()  # an invalid field is shown with its message and not applied
    return form


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered(team: Team, form: GalleryFilterForm, user: AbstractBaseUser) -> QuerySet[RunOutput]:
    # created_at is set on every row the product writes (RunOutput.save, runs.state); a row
    # bulk-written without it has no place in the order, and no cursor.
    outputs = RunOutput.objects.filter(
        team=team, keep_status=OutputKeepStatus.KEPT, created_at__isnull=False
    )
    data = form.cleaned_data
    if data.get("technique"):
        outputs = outputs.filter(run__technique_id=data["technique"])
    if data.get("type"):
        outputs = outputs.filter(type=data["type"])
    if data.get("member"):
        outputs = outputs.filter(run__created_by__username=data["member"])
    if data.get("date_from"):
        outputs = outputs.filter(created_at__gte=_day_start(data["date_from"]))
    if data.get("date_to"):
        outputs = outputs.filter(created_at__lt=_day_start(data["date_to"] + timedelta(days=1)))
    # favourites: page(by_favourite=True) joins the member's stars, with the cursor (keyset).
    if words := _words(data):
        outputs = outputs.filter(run__search_text__contains=words)
    return outputs


def _words(data: dict[str, Any]) -> str:
    return " ".join((data.get("q") or "").split()).casefold()


def uploads_filtered(team: Team, form: GalleryFilterForm) -> QuerySet[Upload] | None:
    """The team's uploads the filters keep; None when they keep none (a technique...)."""
    data = form.cleaned_data
    return filtered_uploads(team, data, _day_start, _words(data))


# -- pages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    output: RunOutput
    run: Run
    thumb: ThumbTile
    kind: str
    favourite: bool
    run_url: str

    is_upload = False

    @property
    def dom_id(self) -> str:
        return f"tile-{self.output.pk}"


def page(
    outputs: QuerySet[RunOutput],
    after: Cursor | None,
    user: AbstractBaseUser,
    team: Team,
    *,
    uploads: QuerySet[Upload] | None = None,
    by_favourite: bool = False,
) -> tuple[list[Tile | UploadTile], str]:
    """One page of tiles and the cursor of the next ("" on the last page). Three queries
    (outputs, uploads, the member's stars among them).

    by_favourite (the favourites filter): the same order, read from the member's stars
    (favourite_gallery, favourite_upload_gallery: their copy of the item's time, and its
    id), so a member with 20 stars in a team of 100,000 outputs reads 20 index entries.
    """
    rows: list[RunOutput | Upload] = list(
        keyset(outputs, after, user, team, kind="o", by_favourite=by_favourite)
        .select_related("run", "run__created_by")
        .defer("text", "run__inputs", "run__outputs_raw", "run__error_message")
        .annotate(text_start=Substr("text", 1, TEXT_TILE_CHARS))[: PAGE_SIZE + 1]
    )
    if uploads is not None:
        rows += list(
            keyset(uploads, after, user, team, kind="u", by_favourite=by_favourite).select_related(
                "uploaded_by"
            )[: PAGE_SIZE + 1]
        )
        rows.sort(key=_order_key, reverse=True)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    page_outputs = [r for r in rows if isinstance(r, RunOutput)]
    page_uploads = [r for r in rows if isinstance(r, Upload)]
    starred_outputs, starred_uploads = stars(user, page_outputs, page_uploads)
    made_outputs = iter(tiles(page_outputs, user, starred_outputs))
    made_uploads = iter(upload_tiles(page_uploads, starred_uploads))
    ordered = [next(made_uploads if isinstance(r, Upload) else made_outputs) for r in rows]
    return ordered, (encode_cursor(rows[-1]) if more else "")


def keyset(
    items: QuerySet[Any],
    after: Cursor | None,
    user: AbstractBaseUser,
    team: Team,
    *,
    kind: str,
    by_favourite: bool = False,
) -> QuerySet[Any]:
    """One source's rows (kind "o": outputs, "u": uploads) after the cursor, in gallery order.

    by_favourite: only the member's stars, walked on their index (favourite_gallery or
    favourite_upload_gallery) by the star's copy of the item's time. The star and the
    cursor are one filter() call: in separate calls each condition on the multi-valued
    `favourites` would join a star of its own, perhaps another member's of the same item.
    """
    item_id = "output_id" if kind == "o" else "upload_id"
    moment_field = "favourites__output_created_at" if by_favourite else "created_at"
    id_field = f"favourites__{item_id}" if by_favourite else "id"
    conditions = [Q(favourites__user=user, favourites__team=team)] if by_favourite else []
    if after is not None:
        conditions += cursor_filters(after, kind, moment_field, id_field)
    if conditions:
        items = items.filter(*conditions)
    return items.order_by(f"-{moment_field}", f"-{id_field}")


def _order_key(row: RunOutput | Upload) -> tuple[datetime, str, int]:
    assert row.created_at is not None
    return row.created_at, "u" if isinstance(row, Upload) else "o", row.pk


def stars(
    user: AbstractBaseUser, outputs: list[RunOutput], uploads: list[Upload]
) -> tuple[set[int], set[int]]:
    """The pks of the outputs and of the uploads among these that the member starred."""
    if not outputs and not uploads:
        return set(), set()
    pairs = Favourite.objects.filter(user=user).filter(
        Q(output_id__in=[o.pk for o in outputs]) | Q(upload_id__in=[u.pk for u in uploads])
    )
    starred_outputs: set[int] = set()
    starred_uploads: set[int] = set()
    for output_id, upload_id in pairs.values_list("output_id", "upload_id"):
        if output_id is not None:
            starred_outputs.add(output_id)
        else:
            starred_uploads.add(upload_id)
    return starred_outputs, starred_uploads


def tiles(
    rows: list[RunOutput], user: AbstractBaseUser, starred: set[int] | None = None
) -> list[Tile]:
    """Tiles for outputs whose run is loaded; one query for the member's stars among them
    (none when `starred`, the pks of those starred, is given)."""
    if starred is None:
        starred = stars(user, rows, [])[0]
    return [
        Tile(
            output=output,
            run=output.run,
            thumb=thumb_tile(output.run, output),
            kind=output_kind(output),
            favourite=output.pk in starred,
            run_url=reverse("runs:detail", args=[output.run.code]),
        )
        for output in rows
    ]


def filter_query(query: QueryDict) -> str:
    """The filters of a gallery URL without its cursor, for links that keep them."""
    query = query.copy()
    query.pop("after", None)
    return query.urlencode()
