"""Every URL of the runs app, in one place so templates and tests know the names.

Views live in one module per concern under runs/views/.
"""

from __future__ import annotations

from django.urls import path

from runs.views import detail, export, history, hooks, inputs, shares, status, submit

app_name = "runs"

urlpatterns = [
    # Live status first: polled by every open run page and history row (florasite.urls).
    path("runs/<str:code>/status", status.run_status, name="status"),
    path("runs/<str:code>/status/row", status.run_status_row, name="status_row"),
    # Submission (technique page form) and "Run again".
    path("techniques/<str:technique_id>/run", submit.start_run, name="start"),
    path("runs/<str:code>/again", submit.run_again, name="again"),
    # History.
    path("runs/", history.run_list, name="list"),
    path("runs/export.csv", export.export_csv, name="export"),
    path("runs/sync", history.sync_from_flora, name="sync"),
    # Result page, the parts of it that refresh themselves, and kept outputs.
    path("runs/<str:code>/", detail.run_detail, name="detail"),
    path("runs/<str:code>/outputs", detail.run_outputs, name="outputs"),
    path("runs/<str:code>/aside", detail.run_aside, name="aside"),
    path("runs/<str:code>/outputs/<int:position>", detail.output_file, name="output"),
    path(
        "runs/<str:code>/outputs/<int:position>/thumb/<str:size>",
        detail.output_thumb,
        name="output_thumb",
    ),
    path("runs/<str:code>/outputs.zip", detail.outputs_zip, name="outputs_zip"),
    # Earlier files as inputs (issue 15): the run form's picker, "Use in another technique".
    path("inputs/picker", inputs.input_picker, name="input_picker"),
    path("runs/<str:code>/outputs/<int:position>/use", inputs.use_output, name="use_output"),
    # Share links: managed by members, viewed by anyone with the token.
    path("runs/<str:code>/shares", shares.create_share, name="share_create"),
    path(
        "runs/<str:code>/shares/<str:share_code>/revoke", shares.revoke_share, name="share_revoke"
    ),
    path("s/<str:token>", shares.public_share, name="share_public"),
    path("s/<str:token>/outputs/<int:position>", shares.public_output, name="share_output"),
    # FLORA webhooks (signed; no login).
    path("hooks/flora/<str:token>", hooks.flora_webhook, name="webhook"),
]
