"""The forms of the boards pages: a board's name, a share link's options."""

from __future__ import annotations

from django import forms

from boards.models import DESCRIPTION_MAX, NAME_MAX
from runs.forms import ExpiryForm

__all__ = ["BoardForm", "BoardShareForm"]


class BoardForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX,
        error_messages={
            "required": "Give the board a name.",
            "max_length": f"A board's name can be at most {NAME_MAX} characters.",
        },
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "max_length": f"A description can be at most {DESCRIPTION_MAX:,} characters."
        },
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the board a name.")
        return name


class BoardShareForm(ExpiryForm):
    approved_only = forms.BooleanField(
        label="Only approved items",
        required=False,
        help_text="Viewers see the items approved in review, nothing else.",
    )
    show_notes = forms.BooleanField(
        label="Show notes",
        required=False,
        help_text="The note under each item; comments and reviewers are never shown.",
    )
