"""Compare: 2 to 4 kept outputs or uploads side by side, with their technique and inputs.

`?o=<output id>&o=u<upload id>...` (the gallery's checkboxes, a run page, a board: boards
link here with the same parameter; an upload's id has a `u` before it). Ids are read in the
order given; a repeated id counts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from gallery.listing import Tile, stars, tiles
from gallery.upload_items import UploadTile, upload_tiles
from runs.display import InputItem, input_items
from runs.models import OutputKeepStatus, RunOutput
from teams.models import Team
from uploads.models import Upload

MIN_OUTPUTS = 2
MAX_OUTPUTS = 4
COMPARABLE = {"image", "video", "audio"}


@dataclass(frozen=True)
class Column:
    tile: Tile | UploadTile
    inputs: list[InputItem]
    file_url: str  # the kept copy, shown at full resolution in the column


@dataclass
class Result:
    columns: list[Column] = field(default_factory=list)
    problem: str = ""
    status: int = 200

    @property
    def slider(self) -> bool:
        """A before/after slider: exactly two images."""
        return len(self.columns) == 2 and all(c.tile.kind == "image" for c in self.columns)


def _ids(raw: list[str]) -> list[str] | None:
    """ "o<pk>" or "u<pk>" per value, in order, once each; None when one is not an id."""
    ids: list[str] = []
    for value in raw:
        kind, number = ("u", value[1:]) if value[:1] == "u" else ("o", value)
        try:
            pk = int(number)
        except ValueError:
            return None
        if pk <= 0:
            return None
        if f"{kind}{pk}" not in ids:
            ids.append(f"{kind}{pk}")
    return ids


def choose(team: Team, raw: list[str], user: AbstractBaseUser) -> Result:
    ids = _ids(raw[:100])
    if ids is None:
        return Result(
            problem="An output in this link is not a number: pick them again.", status=400
        )
    if len(ids) < MIN_OUTPUTS:
        return Result(
            problem="Pick at least two outputs to compare: tick them in the gallery.", status=400
        )
    if len(ids) > MAX_OUTPUTS:
        return Result(
            problem=f"At most {MAX_OUTPUTS} outputs can be compared at once; "
            f"this link has {len(ids)}.",
            status=400,
        )
    output_pks = [int(i[1:]) for i in ids if i[0] == "o"]
    upload_pks = [int(i[1:]) for i in ids if i[0] == "u"]
    outputs = list(
        RunOutput.objects.select_related("run", "run__created_by").filter(
            pk__in=output_pks, team=team, keep_status=OutputKeepStatus.KEPT
        )
        if output_pks
        else []
    )
    uploads = list(
        Upload.objects.select_related("uploaded_by").filter(pk__in=upload_pks, team=team)
        if upload_pks
        else []
    )
    if len(outputs) + len(uploads) < len(ids):
        # Another team's output, a deleted one, one not kept yet: none of them is shown, and
        # the answer does not say which (404, as for any URL of another team's object).
        return Result(
            problem="One of these outputs is not in this team's gallery (or not kept yet).",
            status=404,
        )
    starred_outputs, starred_uploads = stars(user, outputs, uploads)
    made: dict[str, Tile | UploadTile] = {
        f"o{t.output.pk}": t for t in tiles(outputs, user, starred_outputs)
    }
    made.update({f"u{t.upload.pk}": t for t in upload_tiles(uploads, starred_uploads)})
    columns = []
    for key in ids:
        tile = made[key]
        if tile.kind not in COMPARABLE:
            return Result(
                problem=f"{tile.thumb.label} outputs cannot be compared side by side: pick "
                "images, videos or audio.",
                status=400,
            )
        if isinstance(tile, UploadTile):
            columns.append(Column(tile, [], tile.file_url))
        else:
            url = reverse("runs:output", args=[tile.run.code, tile.output.position])
            columns.append(Column(tile, input_items(tile.run), url))
    return Result(columns=columns)
