"""Files chosen on the run form, made FLORA assets just before the runs start.

    links = send_chosen_files(form, team=team, user=request.user)   # None: errors on the form

A file sent with the form is kept as an Upload first (so a re-rendered form names it
instead of asking for it again); then every chosen file, upload or kept output, becomes an
asset of the run's workspace through uploads.services.asset_for, which reuses the team's
asset for the same bytes (a second use of an output uploads nothing). The plan's
`sha256:` placeholders become the assets' URLs. Any failure puts FLORA's reason on the
input and starts nothing.

Kept outputs are offered to the run form (techniques.media) by `output_choice`, which the
app registers at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.files.storage import default_storage
from django.urls import reverse

from runs.display import output_filename
from runs.models import InputLink, OutputKeepStatus, Run, RunOutput
from teams.models import SecretUnavailable
from teams.services import NoConnection
from techniques.forms import FIELD_PREFIX
from techniques.media import PLACEHOLDER, MediaChoice, kind_of
from uploads.services import AssetFailed, Source, asset_for, keep_upload, upload_client

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from teams.models import Team
    from techniques.forms import RunForm

__all__ = ["keep_chosen_files", "output_choice", "record_links", "send_chosen_files"]

# Where each run of the plan takes an earlier output: [(input id, RunOutput pk), ...].
Links = list[list[tuple[str, int]]]


def _read(output: RunOutput) -> bytes:
    with default_storage.open(output.file.name, "rb") as handle:
        return handle.read()


def output_choice(team: Team, code: str, position: int) -> MediaChoice | None:
    """A kept image or video output of the team's run, as a run-form choice."""
    output = (
        RunOutput.objects.select_related("run")
        .filter(run__team=team, run__code=code, position=position)
        .filter(keep_status=OutputKeepStatus.KEPT)
        .exclude(sha256="")
        .exclude(file="")
        .first()
    )
    if output is None or not kind_of(output.type):
        return None
    run = output.run
    name = output_filename(run, output)
    return MediaChoice(
        ref=f"output:{run.code}:{output.position}",
        kind=kind_of(output.type),
        sha256=output.sha256,
        name=name,
        preview_url=reverse("runs:output", args=[run.code, output.position]),
        source=Source(
            sha256=output.sha256,
            file_name=name,
            content_type=output.content_type.split(";", 1)[0].strip(),
            size=output.size or 0,
            read=lambda: _read(output),
        ),
        output_pk=output.pk,
        run_code=run.code,
    )


def keep_chosen_files(form: RunForm, *, team: Team, user: AbstractBaseUser | None) -> None:
    """Keep each file sent with the form as an Upload, and name it on the form instead."""
    for input_id, choice in list(form.choices.items()):
        if choice.prepared is not None:
            upload = keep_upload(team, user, choice.prepared)
            form.set_ref(input_id, MediaChoice.of_upload(upload))


def send_chosen_files(form: RunForm, *, team: Team) -> Links | None:
    """Make every chosen file an asset of the form's workspace and put the assets' URLs in
    the plan. None when one could not be sent: its reason is on its input."""
    urls: dict[str, str] = {}
    for input_id, choice in form.choices.items():
        assert choice.source is not None, "keep_chosen_files() first"
        try:
            client = upload_client(team, choice.source.size)
            asset = asset_for(
                client, team=team, workspace_id=form.workspace_id, source=choice.source
            )
        except AssetFailed as exc:
            form.add_error(FIELD_PREFIX + input_id, f"{exc} Nothing was started.")
            continue
        except (NoConnection, SecretUnavailable):
            form.add_error(
                FIELD_PREFIX + input_id,
                "The team's FLORA connection cannot be used right now, so this file was not "
                "sent. Nothing was started.",
            )
            continue
        urls[choice.placeholder] = asset.url
    if len(urls) < len({c.placeholder for c in form.choices.values()}):
        return None
    by_placeholder = {choice.placeholder: choice for choice in form.choices.values()}
    links: Links = []
    for items in form.plan:
        row: list[tuple[str, int]] = []
        for item in items:
            value = item["value"]
            if value.startswith(PLACEHOLDER):
                item["value"] = urls[value]
                choice = by_placeholder[value]
                if choice.output_pk is not None:
                    row.append((item["id"], choice.output_pk))
        links.append(row)
    return links


def record_links(runs: list[Run], links: Links) -> None:
    """Write the chain: which earlier output each run's inputs came from."""
    for run, row in zip(runs, links, strict=False):
        for input_id, output_pk in row:
            InputLink.objects.get_or_create(run=run, input_id=input_id, source_output_id=output_pk)
