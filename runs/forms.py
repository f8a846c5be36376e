"""The forms of the runs pages: the history's filters, and a new share link (run page).

The run form itself is built from a technique's schema and lives with the catalog
(techniques/forms.py).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from runs import shares
from runs.models import RunStatus

__all__ = ["IN_PROGRESS", "OUTSIDE", "ExpiryForm", "HistoryFilterForm", "ShareForm"]

IN_PROGRESS = "in_progress"
OUTSIDE = "outside"
STATUS_CHOICES = [
    ("", "Any status"),
    (IN_PROGRESS, "In progress"),
    (RunStatus.COMPLETED, "Completed"),
    (RunStatus.FAILED, "Failed"),
    (RunStatus.FAILED_TO_START, "Failed to start"),
    (RunStatus.RUNNING, "Running"),
    (RunStatus.PENDING, "Pending"),
]
# The dashboard's own states before FLORA has the run: not offered, nobody filters by them.
# A link that names one (a bookmark from before) shows every run in progress.
FOLDED_INTO_IN_PROGRESS = {RunStatus.SUBMITTING, RunStatus.CHECKING}


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=STATUS_CHOICES + [(s, s) for s in sorted(FOLDED_INTO_IN_PROGRESS)],
        required=False,
    )
    technique = forms.CharField(max_length=200, required=False, widget=forms.Select)
    member = forms.CharField(max_length=150, required=False, widget=forms.Select)
    workspace = forms.ChoiceField(required=False)
    project = forms.CharField(max_length=100, required=False, widget=forms.Select)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        data: QueryDict,
        *,
        techniques: list[tuple[str, str]],
        members: list[tuple[str, str]],
        workspaces: list[tuple[str, str]],
        projects: list[str],
    ) -> None:
        super().__init__(data)
        self.fields["status"].widget.choices = STATUS_CHOICES
        # Select widgets offer what exists; a bookmarked value that no longer appears in the
        # list (a renamed technique, a member who left) still filters, and stays selected.
        self.fields["technique"].widget.choices = _with_current(
            [("", "Any technique"), *techniques], data.get("technique")
        )
        self.fields["member"].widget.choices = _with_current(
            [("", "Anyone"), (OUTSIDE, "Started outside the dashboard"), *members],
            data.get("member"),
        )
        # (id, name): named as the catalog names them.
        self.fields["workspace"].choices = [("", "Any workspace"), *workspaces]
        self.fields["project"].widget.choices = _with_current(
            [("", "Any project")] + [(p, p) for p in projects], data.get("project")
        )

    def clean_status(self) -> str:
        status: str = self.cleaned_data["status"]
        return IN_PROGRESS if status in FOLDED_INTO_IN_PROGRESS else status

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
            cleaned.pop("date_to", None)
        return cleaned


def _with_current(choices: list[tuple[str, str]], current: str | None) -> list[tuple[str, str]]:
    if current and current not in {value for value, _ in choices}:
        return [*choices, (current, current)]
    return choices


class ExpiryForm(forms.Form):
    """When a share link (a run's, a board's) stops working."""

    expires = forms.ChoiceField(
        label="Link expires",
        choices=[(key, label) for key, (label, _) in shares.EXPIRY_CHOICES.items()],
        initial="7d",
    )


class ShareForm(ExpiryForm):
    hide_inputs = forms.BooleanField(
        label="Hide inputs",
        required=False,
        help_text="Viewers see only the outputs, not the prompts and images the run started from.",
    )
