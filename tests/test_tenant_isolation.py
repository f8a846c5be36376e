"""Tenant isolation: a member of team B gets 404 on every URL of team A's objects.

HOW TO EXTEND (every issue that adds a team-scoped view must):

1. If the view shows an object, create one for team A in the `team_a_objects` fixture
   below and add it as a field of `TeamAObjects` (e.g. `run: Run | None = None`).
2. Append a probe to `TEAM_SCOPED_URLS`: a function taking `TeamAObjects` and returning
   the URL (a GET), or a `Probe` for other methods / POST data:

       TEAM_SCOPED_URLS.append(lambda a: f"/runs/{a.run.code}/")
       TEAM_SCOPED_URLS.append(lambda a: Probe("post", f"/runs/{a.run.code}/share/", {}))

The test then checks each probe twice: alice (manager of A) does NOT get 404 (so the probe
points at something real), and dave (member of B only) gets exactly 404: never 403, never
200, never a redirect that confirms the object exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client

from teams.models import Team

pytestmark = pytest.mark.django_db


@dataclass
class TeamAObjects:
    """One of each kind of team A's objects. Later issues add fields (runs, shares, ...)."""

    team: Team
    workspace_id: str  # a workspace only team A may use (ws_demo)
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    method: str  # "get" or "post"
    path: str
    data: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def _htmx(path: str) -> Probe:
    """A GET as htmx sends it: fragments answer only then (a plain GET is redirected)."""
    return Probe("get", path, headers={"HX-Request": "true"})


# The registry. Keep one entry per team-scoped URL; say what it covers.
TEAM_SCOPED_URLS: list[Callable[[TeamAObjects], str | Probe]] = [
    # The header switcher: making team A current with team A's slug.
    lambda a: Probe("post", "/teams/switch/", {"team": a.team.slug, "next": "/"}),
    # Result pages (issue 8): the run page, one kept output, the zip, share create/revoke.
    lambda a: f"/runs/{a.extra['result_run'].code}/",
    lambda a: f"/runs/{a.extra['result_run'].code}/outputs/0",
    lambda a: f"/runs/{a.extra['result_run'].code}/outputs.zip",
    lambda a: Probe("post", f"/runs/{a.extra['result_run'].code}/shares", {"expires": "1d"}),
    lambda a: Probe(
        "post", f"/runs/{a.extra['result_run'].code}/shares/{a.extra['share'].code}/revoke"
    ),
    # Live status (issue 7): the status fragment of an in-flight run (and of a finished one).
    lambda a: f"/runs/{a.extra['live_run'].code}/status?page=list",
    lambda a: f"/runs/{a.extra['result_run'].code}/status?page=detail",
    # The same fragments at their own URLs (runs:status_row, runs:status), and the run
    # page's parts that refresh themselves (runs:outputs, runs:aside), which replace
    # /runs/<code>/?part=outputs|aside (still answered, checked here too).
    lambda a: f"/runs/{a.extra['live_run'].code}/status/row",
    lambda a: _htmx(f"/runs/{a.extra['live_run'].code}/status/row"),
    lambda a: f"/runs/{a.extra['result_run'].code}/status",
    lambda a: _htmx(f"/runs/{a.extra['result_run'].code}/status"),
    lambda a: f"/runs/{a.extra['result_run'].code}/outputs",
    lambda a: _htmx(f"/runs/{a.extra['result_run'].code}/outputs?stale=1"),
    lambda a: f"/runs/{a.extra['result_run'].code}/aside",
    lambda a: _htmx(f"/runs/{a.extra['result_run'].code}/aside"),
    lambda a: _htmx(f"/runs/{a.extra['live_run'].code}/status?page=list"),
    lambda a: _htmx(f"/runs/{a.extra['result_run'].code}/?part=outputs"),
    lambda a: _htmx(f"/runs/{a.extra['result_run'].code}/?part=aside"),
    # Catalog and run forms (issues 5, 6): team A's workspace in the catalog and on a
    # technique page, starting a run in it, and "Run again" of team A's run.
    lambda a: f"/techniques/?workspace={a.workspace_id}",
    lambda a: f"/techniques/tech_tarot-pull/?workspace={a.workspace_id}",
    lambda a: Probe("post", "/techniques/tech_tarot-pull/run", {"workspace": a.workspace_id}),
    lambda a: f"/runs/{a.extra['result_run'].code}/again",
    # Uploads (issue 15): posting a file into team A's workspace, and a kept upload's file.
    lambda a: Probe("post", "/uploads/", {"workspace": a.workspace_id, "kind": "image"}),
    lambda a: f"/uploads/{a.extra['upload'].public_id}/file",
    # Uploads in the gallery (issue 16): a kept upload's thumbnail (made in the fixture).
    lambda a: f"/uploads/{a.extra['upload'].public_id}/thumb/small",
    # "Use in another technique" of team A's kept image, and the form it opens.
    lambda a: f"/runs/{a.extra['image_run'].code}/outputs/0/use",
    lambda a: (
        f"/techniques/tech_earth-zoom-out/?workspace={a.workspace_id}"
        f"&use=output:{a.extra['image_run'].code}:0&input=scene"
    ),
    # Boards (issue 16): the board page and its grid, every change of a board or its items,
    # the zip, share links, and "Add to board" with team A's output. (A probe that deletes
    # runs as alice first; tests/boards/test_boards_isolation.py checks dave changes nothing.)
    lambda a: f"/boards/{a.extra['board'].code}/",
    lambda a: _htmx(f"/boards/{a.extra['board'].code}/?part=grid"),
    lambda a: Probe("post", f"/boards/{a.extra['board'].code}/edit", {"name": "Renamed"}),
    lambda a: Probe("post", f"/boards/{a.extra['board'].code}/delete"),
    lambda a: Probe(
        "post", f"/boards/{a.extra['board'].code}/order", {"item": a.extra["board_item"].code}
    ),
    lambda a: f"/boards/{a.extra['board'].code}/download.zip",
    *[
        (
            lambda a, action=action, data=data: Probe(
                "post",
                f"/boards/{a.extra['board'].code}/items/{a.extra['board_item'].code}/{action}",
                data,
            )
        )
        for action, data in [
            ("remove", {}),
            ("move", {"direction": "down"}),
            ("note", {"note": "Mine now"}),
            ("review", {"state": "approved"}),
            ("comments", {"body": "Hello"}),
        ]
    ],
    lambda a: Probe("post", f"/boards/{a.extra['board'].code}/shares", {"expires": "1d"}),
    lambda a: Probe(
        "post",
        f"/boards/{a.extra['board'].code}/shares/{a.extra['board_share'].code}/revoke",
    ),
    lambda a: f"/boards/add?output={a.extra['result_run'].outputs.get().pk}",
    lambda a: _htmx(f"/boards/add?output={a.extra['result_run'].outputs.get().pk}"),
    lambda a: Probe(
        "post",
        "/boards/add",
        {"output": str(a.extra["result_run"].outputs.get().pk), "board": "new", "new-name": "X"},
    ),
    # Thumbnails (issue 16): one of a kept image's thumbnails.
    lambda a: (
        f"/runs/{a.extra['image_output'].run.code}/outputs/"
        f"{a.extra['image_output'].position}/thumb/small"
    ),
    # Gallery (issue 16): starring team A's output, comparing two of them. (/gallery/ itself
    # names no object: dave sees his own team's, see tests/gallery/test_gallery_page.py.)
    lambda a: Probe("post", f"/gallery/outputs/{a.extra['image_output'].pk}/favourite"),
    lambda a: Probe(
        "post",
        f"/gallery/outputs/{a.extra['image_output'].pk}/favourite",
        {"starred": "0"},
        headers={"HX-Request": "true"},
    ),
    lambda a: f"/gallery/compare?o={a.extra['image_output'].pk}&o={a.extra['second_output'].pk}",
    # Budgets (issue 18): a member's budget set or removed by a manager (team A's bob, and
    # bob's budget). (/spend/, its CSV and /spend/budget name no object: they are the current
    # team's, managers only; see tests/budgets/test_spend_page.py.)
    lambda a: Probe(
        "post", "/spend/budget/members", {"member": str(a.extra["bob"].pk), "monthly_amount": "1"}
    ),
    lambda a: Probe("post", f"/spend/budget/members/{a.extra['member_budget'].pk}/delete"),
    # Uploads in the gallery: comparing team A's upload with its output, starring it.
    lambda a: f"/gallery/compare?o=u{a.extra['upload'].pk}&o={a.extra['image_output'].pk}",
    lambda a: Probe("post", f"/gallery/uploads/{a.extra['upload'].public_id}/favourite"),
    lambda a: Probe(
        "post",
        f"/gallery/uploads/{a.extra['upload'].public_id}/favourite",
        {"starred": "0"},
        headers={"HX-Request": "true"},
    ),
    # Batches (issue 17): the batch page, its one live fragment, every action, the zip.
    lambda a: f"/batches/{a.extra['batch'].code}/",
    lambda a: _htmx(f"/batches/{a.extra['batch'].code}/live"),
    lambda a: f"/batches/{a.extra['batch'].code}/live",
    lambda a: f"/batches/{a.extra['batch'].code}/download.zip",
    lambda a: Probe("post", f"/batches/{a.extra['batch'].code}/approve"),
    lambda a: Probe("post", f"/batches/{a.extra['batch'].code}/retry"),
    lambda a: Probe(
        "post", f"/batches/{a.extra['batch'].code}/to-board", {"board": a.extra["board"].code}
    ),
    lambda a: Probe("post", f"/batches/{a.extra['batch'].code}/cancel"),
    # Exports (issue 19): an export's polled state (plain and htmx), its file, retrying it.
    # (/exports/ and /exports/new name no object: dave sees and makes his own team's, see
    # tests/exports/test_flow.py::test_the_list_shows_the_teams_exports_only.)
    lambda a: f"/exports/{a.extra['export'].code}/state",
    lambda a: _htmx(f"/exports/{a.extra['export'].code}/state?place=row"),
    lambda a: f"/exports/{a.extra['export'].code}/download",
    lambda a: Probe("post", f"/exports/{a.extra['failed_export'].code}/retry"),
    # Not here: URLs that name no object and act on the current team (/runs/, the CSV
    # export, POST /runs/sync, the run form's picker /inputs/picker): dave gets his own
    # team's, see tests/runs/test_sync_button.py::test_the_button_syncs_only_the_members_team
    # and tests/runs/test_use_as_input.py::test_the_picker_lists_the_teams_uploads_and_outputs_only.
]


@pytest.fixture
def team_a_objects(team_a, alice, sandbox_http) -> TeamAObjects:
    # sandbox_http: the catalog probes read team A's techniques from the sandbox.
    objects = TeamAObjects(team=team_a, workspace_id="ws_demo")
    objects.extra.update(_result_objects(team_a, alice))
    objects.extra.update(_live_objects(team_a, alice))
    objects.extra.update(_upload_objects(team_a, alice))
    objects.extra.update(_board_objects(team_a, alice, objects.extra["result_run"]))
    objects.extra.update(_gallery_objects(team_a, alice))
    objects.extra.update(_budget_objects(team_a))
    objects.extra.update(_batch_objects(team_a, alice, objects.extra["result_run"]))
    objects.extra.update(_export_objects(team_a, alice))
    return objects


def _export_objects(team_a, alice) -> dict[str, object]:
    """Issue 19: a ready export of team A's runs, and a failed one."""
    from exports import services
    from exports.models import Export, ExportStatus

    membership = team_a.memberships.get(user=alice)
    ready, _ = services.request_export(
        membership, raw_query="", intent="probe", base_url="http://testserver"
    )
    services.build(ready.pk)
    failed, _ = services.request_export(
        membership, raw_query="status=failed", intent="probe-2", base_url="http://testserver"
    )
    Export.objects.filter(pk=failed.pk).update(status=ExportStatus.FAILED, error="Probe")
    return {"export": ready, "failed_export": failed}


def _budget_objects(team_a) -> dict[str, object]:
    """Issue 18: a member of team A with a budget of their own."""
    from decimal import Decimal

    from budgets.models import Budget
    from tests.conftest import make_member

    bob = make_member("bob", team_a, "member")
    budget = Budget.objects.create(team=team_a, member=bob, monthly_amount=Decimal("3"))
    return {"bob": bob, "member_budget": budget}


def _batch_objects(team_a, alice, run) -> dict[str, object]:
    """Issue 17: a batch of two rows, the first of them the result run."""
    from batches import services
    from batches.models import BatchRow, RowState
    from techniques.services import get_technique

    technique = get_technique(team_a, "tech_tarot-pull").technique
    batch, _ = services.create_batch(
        membership=team_a.memberships.get(user=alice),
        user=alice,
        technique=technique,
        workspace_id="ws_demo",
        intent_key="isolation-probe",
        plan=[[{"id": "question", "type": "text", "value": q}] for q in ("One?", "Two?")],
    )
    BatchRow.objects.filter(batch=batch, position=1).update(state=RowState.STARTED, run=run)
    return {"batch": batch}


def _upload_objects(team_a, alice) -> dict[str, object]:
    """Issue 15: a file a member of team A uploaded."""
    from tests.runs.inputs_helpers import kept_image_run
    from tests.uploads import images
    from uploads.services import keep_upload
    from uploads.thumbnails import make_upload_thumbnail
    from uploads.validation import prepare

    upload = keep_upload(team_a, alice, prepare(images.png(), name="probe.png", kind="image"))
    make_upload_thumbnail(upload.pk)
    return {"upload": upload, "image_run": kept_image_run(team_a, alice, code_suffix="_probe")}


def _board_objects(team_a, alice, run) -> dict[str, object]:
    """Issue 16: a board holding the result run's output, and a share link to it."""
    from django.utils import timezone

    from boards.models import Board, BoardShareLink
    from boards.services import add_output
    from runs import shares

    board = Board.objects.create(team=team_a, name="Isolation probe", created_by=alice)
    item = add_output(board, run.outputs.get(), alice)
    _, fields = shares.new_token_fields("never", timezone.now())
    link = BoardShareLink.objects.create(board=board, created_by=alice, **fields)
    return {"board": board, "board_item": item, "board_share": link}


def _gallery_objects(team_a, alice) -> dict[str, object]:
    """Issue 16: two kept images, the first with its thumbnails made."""
    import io

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from runs.thumbnails import make_thumbnail
    from tests.gallery.helpers import make_outputs

    first, second = make_outputs(team_a, alice, 2)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, "PNG")
    first.file = default_storage.save("outputs/probe/first.png", ContentFile(buffer.getvalue()))
    first.save()
    make_thumbnail(first.pk)
    return {"image_output": first, "second_output": second}


def _live_objects(team_a, alice) -> dict[str, object]:
    """Issue 7: a run in flight (its status fragment polls)."""
    from runs.models import Run, RunStatus

    run = Run.objects.create(
        team=team_a,
        created_by=alice,
        technique_id="tech_tarot-pull",
        technique_name="Tarot Pull",
        status=RunStatus.RUNNING,
        flora_run_id="run_live_probe",
    )
    return {"live_run": run}


def _result_objects(team_a, alice) -> dict[str, object]:
    """Issue 8: a completed run with one kept (text) output, and a share link to it."""
    from django.utils import timezone

    from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus
    from runs.shares import create_share

    run = Run.objects.create(
        team=team_a,
        created_by=alice,
        technique_id="tech_tarot-pull",
        technique_name="Tarot Pull",
        status=RunStatus.COMPLETED,
        flora_run_id="run_isolation_probe",
        completed_at=timezone.now(),
    )
    RunOutput.objects.create(
        run=run,
        output_id="reading",
        type="text",
        text="Patience now.",
        content_type="text/plain; charset=utf-8",
        size=13,
        keep_status=OutputKeepStatus.KEPT,
    )
    share = create_share(run, created_by=alice, hide_inputs=False, expires="never").link
    return {"result_run": run, "share": share}


def _request(client: Client, probe: str | Probe):
    if isinstance(probe, str):
        probe = Probe("get", probe)
    return getattr(client, probe.method)(probe.path, probe.data, headers=probe.headers)


def _described(probe: str | Probe) -> str:
    if isinstance(probe, str):
        return probe
    return f"{probe.method.upper()} {probe.path}" + (" (htmx)" if probe.headers else "")


@pytest.mark.parametrize("build", TEAM_SCOPED_URLS)
def test_other_teams_members_get_404(build, team_a_objects, alice_client, dave_client):
    probe = build(team_a_objects)
    # The probe is real: team A's manager reaches it.
    assert _request(alice_client, probe).status_code != 404, _described(probe)
    response = _request(dave_client, probe)
    assert response.status_code == 404, f"{_described(probe)} -> {response.status_code}"


def test_the_registry_is_not_empty():
    assert TEAM_SCOPED_URLS
