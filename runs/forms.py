"""The forms of the runs pages: a new share link (run page).

The run form itself is built from a technique's schema and lives with the catalog
(techniques/forms.py).
"""

from __future__ import annotations

from django import forms

from runs import shares

__all__ = ["ShareForm"]


class ShareForm(forms.Form):
    expires = forms.ChoiceField(
        label="Link expires",
        choices=[(key, label) for key, (label, _) in shares.EXPIRY_CHOICES.items()],
        initial="7d",
    )
    hide_inputs = forms.BooleanField(
        label="Hide inputs",
        required=False,
        help_text="Viewers see only the outputs, not the prompts and images the run started from.",
    )
