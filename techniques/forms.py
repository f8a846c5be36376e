"""The run form, generated from a technique's `inputs`, and its server-issued intent key.

One field per input, in schema order (techniques/fields.py); several values of an
`allow_multiple` input start one run per value, at most MAX_RUNS_PER_SUBMISSION at once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError

from techniques.fields import RUN_INPUT_TYPES, TechniqueInputField, media_kind
from techniques.media import (
    FILE_PREFIX,
    REF_PREFIX,
    MediaChoice,
    kind_of,
    known_asset_urls,
    resolve_choice,
)
from uploads.validation import Refused

if TYPE_CHECKING:
    from flora import Technique, TechniqueIO
    from teams.models import Team

__all__ = [
    "FIELD_PREFIX",
    "MAX_RUNS_PER_SUBMISSION",
    "RunForm",
    "intent_from_token",
    "intent_key_for",
    "new_intent_token",
]

# Field names are prefixed so that an input id can never clash with the form's own fields.
FIELD_PREFIX = "in_"
# One form may start several runs (allow_multiple); each is charged, so keep batches small.
MAX_RUNS_PER_SUBMISSION = 10
# Unchanged since the form lived in runs/forms.py: tokens already issued still verify.
_INTENT_SALT = "runs.intent"


# -- intent keys --------------------------------------------------------------------------


def _intent_signer(team: Team, technique_id: str) -> signing.Signer:
    # Team and technique are part of the salt: a token copied from another team's form (or
    # another technique's) does not verify, so nobody can aim at someone else's intent key.
    return signing.Signer(salt=f"{_INTENT_SALT}:{team.pk}:{technique_id}")


def new_intent_token(team: Team, technique_id: str) -> str:
    """A signed, random intent key for one rendering of the run form."""
    return _intent_signer(team, technique_id).sign(secrets.token_urlsafe(18))


def intent_from_token(team: Team, technique_id: str, token: str) -> str | None:
    """The intent key inside a token this server issued for this team and technique."""
    try:
        return _intent_signer(team, technique_id).unsign(token or "")
    except signing.BadSignature:
        return None


def intent_key_for(
    token_key: str, technique_id: str, workspace_id: str, plan: list[list[dict[str, str]]]
) -> str:
    """The intent of one press of the button: what was asked, on which rendering of the form.

    intent = sha256(token key, technique, workspace, canonical inputs). The token key (the
    random value inside the signed per-render token) makes every rendering of the form a
    fresh intent; the inputs make "Back, edit, Run" a new one too. The same form posted
    again with the same inputs (a double click, a retry, the back button) hashes to the
    same key, so it lands on the runs it already started and FLORA sees the same
    idempotency key; posted with different inputs it is a different request, with its own
    key. The inputs are the cleaned plan (values stripped, lines split), so whitespace a
    browser adds does not make a new intent; the run count confirmation is not part of it.
    64 hex digits: batch rows add ":<position>" and still fit Run.intent_key.
    """
    canonical = json.dumps(
        {
            "v": 1,
            "token": token_key,
            "technique": technique_id,
            "workspace": workspace_id,
            "runs": plan,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- the form -----------------------------------------------------------------------------


class RunForm(forms.Form):
    intent = forms.CharField(widget=forms.HiddenInput, required=False)
    workspace = forms.CharField(widget=forms.HiddenInput, required=False)
    # The number of runs the person saw priced before pressing the button (set by the
    # page's script, or by the confirmation step): a batch only starts once confirmed.
    confirmed_runs = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(
        self,
        data: Any = None,
        *,
        technique: Technique,
        team: Team,
        workspace_id: str = "",
        initial_inputs: dict[str, list[str]] | None = None,
        initial_refs: dict[str, str] | None = None,
        files: Any = None,
    ) -> None:
        initial: dict[str, Any] = {
            "intent": new_intent_token(team, technique.technique_id),
            "workspace": workspace_id,
        }
        for input_id, values in (initial_inputs or {}).items():
            initial[FIELD_PREFIX + input_id] = "\n".join(values)
        for input_id, ref in (initial_refs or {}).items():
            initial[REF_PREFIX + input_id] = ref
        super().__init__(data, files, initial=initial)
        self.technique = technique
        self.team = team
        # The workspace the runs start in (the view resolves the posted one).
        self.workspace_id = workspace_id
        # The raw key inside the signed token, then the intent derived from it and the
        # cleaned inputs (intent_key_for): only set on a valid form.
        self.token_key: str | None = None
        self.intent_key: str | None = None
        self.plan: list[list[dict[str, str]]] = []
        # The file chosen for each media input (a file sent with the form, an upload, a
        # kept output), by input id: set when cleaning (or from initial_refs).
        self.choices: dict[str, MediaChoice] = {}
        for io in technique.inputs:
            self.fields[FIELD_PREFIX + io.id] = TechniqueInputField(io)
            kind = kind_of(io.type)
            if kind and io.type in RUN_INPUT_TYPES:
                self.fields[FILE_PREFIX + io.id] = forms.FileField(
                    required=False,
                    label=f"A file for {io.name}",
                    widget=forms.FileInput(attrs={"accept": f"{kind}/*", "data-file-input": kind}),
                )
                self.fields[REF_PREFIX + io.id] = forms.CharField(
                    required=False, widget=forms.HiddenInput(attrs={"data-ref-input": kind})
                )
        if not self.is_bound:
            for input_id, ref in (initial_refs or {}).items():
                if FILE_PREFIX + input_id in self.fields:
                    self._choose(input_id, ref=ref)
                if input_id not in self.choices:
                    # Not the team's, or not a file this input takes: nothing is chosen.
                    self.initial.pop(REF_PREFIX + input_id, None)

    # -- what the template needs ----------------------------------------------------------

    def input_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(FIELD_PREFIX)]

    def input_rows(self) -> list[dict[str, Any]]:
        """Each input with its file field, reference field and chosen file (media only)."""
        rows = []
        for bound in self.input_fields():
            input_id = bound.name[len(FIELD_PREFIX) :]
            has_file = FILE_PREFIX + input_id in self.fields
            rows.append(
                {
                    "field": bound,
                    "file": self[FILE_PREFIX + input_id] if has_file else None,
                    "ref": self[REF_PREFIX + input_id] if has_file else None,
                    "kind": kind_of(bound.field.io.type) if has_file else "",
                    "chosen": self.choices.get(input_id),
                }
            )
        return rows

    def set_ref(self, input_id: str, choice: MediaChoice) -> None:
        """Re-render with `choice` (now kept as an upload) chosen, so it is not sent again."""
        self.choices[input_id] = choice
        self._set_data(REF_PREFIX + input_id, choice.ref)

    @property
    def blocking_inputs(self) -> list[TechniqueIO]:
        """Required inputs of a type FLORA's run API cannot take: the form can't be sent."""
        return [
            io for io in self.technique.inputs if io.type not in RUN_INPUT_TYPES and not io.optional
        ]

    @property
    def blocking_message(self) -> str:
        names = ", ".join(f"{io.name} ({media_kind(io.type)})" for io in self.blocking_inputs)
        return (
            f"This technique needs {names}, which FLORA's run API does not accept yet, so it "
            "cannot be run from the dashboard."
        )

    @property
    def unit_price(self) -> Decimal | None:
        """None when FLORA gave no usable price (the client reads NaN/Infinity as None)."""
        cost = self.technique.run_cost
        return None if cost is None else Decimal(str(cost))

    @property
    def run_count(self) -> int:
        return len(self.plan) if self.plan else 1

    @property
    def total_price(self) -> Decimal | None:
        unit = self.unit_price
        return None if unit is None else unit * self.run_count

    @property
    def needs_confirmation(self) -> bool:
        """Several runs are about to start, and the person has not seen that many priced."""
        return self.run_count > 1 and self.cleaned_data.get("confirmed_runs") != self.run_count

    def renew_intent(self) -> None:
        """Give the re-rendered form a new intent key (after FLORA refused the last one)."""
        self._set_data("intent", new_intent_token(self.team, self.technique.technique_id))

    def confirm_runs(self) -> None:
        """Re-render with the run count confirmed: the next press starts them."""
        self._set_data("confirmed_runs", str(self.run_count))

    def _set_data(self, name: str, value: str) -> None:
        if self.is_bound:
            self.data = self.data.copy()
            self.data[name] = value
        else:
            self.initial[name] = value

    def add_flora_field_errors(self, fields: list[dict[str, str]]) -> list[str]:
        """Put FLORA's per-input errors on the matching fields; return the others."""
        rest = []
        for item in fields:
            name = FIELD_PREFIX + str(item.get("field", ""))
            message = str(item.get("message", "")) or "FLORA did not accept this value."
            if name in self.fields:
                self.add_error(name, f"FLORA: {message}")
            else:
                rest.append(f"{item.get('field') or 'request'}: {message}")
        return rest

    # -- cleaning -------------------------------------------------------------------------

    def _choose(self, input_id: str, *, ref: str = "", upload: Any = None) -> None:
        """Resolve the file or reference given for one media input onto its field."""
        field = self.fields[FIELD_PREFIX + input_id]
        field.chosen, field.choice_error = None, ""
        try:
            choice = resolve_choice(self.team, kind_of(field.io.type), ref=ref, upload=upload)
        except Refused as exc:
            field.choice_error = str(exc)
            return
        if choice is not None:
            field.chosen = choice
            self.choices[input_id] = choice

    def _mark_known_urls(self) -> None:
        media = [f for n, f in self.fields.items() if n.startswith(FIELD_PREFIX) and f.media]
        raw = [
            line.strip()
            for field in media
            for line in str(self.data.get(FIELD_PREFIX + field.io.id, "")).splitlines()
        ]
        known = known_asset_urls(self.team, raw)
        for field in media:
            field.known_urls = known

    def full_clean(self) -> None:
        if self.is_bound:
            self._mark_known_urls()
            self.choices = {}
            for name in list(self.fields):
                if name.startswith(FILE_PREFIX):
                    input_id = name[len(FILE_PREFIX) :]
                    self._choose(
                        input_id,
                        ref=str(self.data.get(REF_PREFIX + input_id, "")),
                        upload=self.files.get(name) if self.files else None,
                    )
        super().full_clean()

    def clean_intent(self) -> str:
        token = self.cleaned_data.get("intent", "")
        intent = intent_from_token(self.team, self.technique.technique_id, token)
        if intent is None:
            raise ValidationError(
                "This form was out of date, so nothing was started. Check the inputs and "
                "press the button again.",
                code="bad_intent",
            )
        self.token_key = intent
        return token

    def _values(self, io: TechniqueIO, cleaned: dict[str, Any]) -> list[str]:
        values = list(cleaned.get(FIELD_PREFIX + io.id) or [])
        choice = self.choices.get(io.id)
        if choice is not None:
            # sha256:<hex> until runs.inputs sends it to FLORA: the intent covers the content.
            values.append(choice.placeholder)
        return values

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.blocking_inputs:
            raise ValidationError(self.blocking_message, code="unsupported")
        if any(name.startswith(FIELD_PREFIX) for name in self.errors):
            return cleaned
        given = [
            (io, self._values(io, cleaned))
            for io in self.technique.inputs
            if io.type in RUN_INPUT_TYPES
        ]
        given = [(io, values) for io, values in given if values]
        count = math.prod(len(values) for _, values in given)
        if count > MAX_RUNS_PER_SUBMISSION:
            raise ValidationError(
                f"That would start {count} runs; at most {MAX_RUNS_PER_SUBMISSION} can be "
                "started at once. Remove some lines.",
                code="too_many_runs",
            )
        self.plan = [
            [{"id": io.id, "type": io.type, "value": value} for io, value in combination]
            for combination in itertools.product(
                *[[(io, value) for value in values] for io, values in given]
            )
        ]
        if self.token_key is not None:
            self.intent_key = intent_key_for(
                self.token_key,
                self.technique.technique_id,
                self.workspace_id,
                self.plan,
            )
        return cleaned
