"""The fields of the run form, one per input of a technique's schema.

Every field cleans to a list of values: [] for an optional input left empty (it is then left
out of the request, never sent as ""), one value for an ordinary input, one or more for
`allow_multiple` inputs (one run per value).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError

from florasite.templatetags.florasite import media_label

if TYPE_CHECKING:
    from flora import TechniqueIO

__all__ = [
    "MAX_TEXT",
    "MAX_URL",
    "RUN_INPUT_TYPES",
    "TechniqueInputField",
    "guidance_for",
    "media_kind",
]

# What FLORA's run API accepts; a schema may also list audioUrl and documentUrl inputs.
RUN_INPUT_TYPES = frozenset({"text", "imageUrl", "videoUrl"})
MEDIA_URL_TYPES = frozenset({"imageUrl", "videoUrl"})
MAX_TEXT = 4000
MAX_URL = 2048
# `accepts_element` inputs may name a FLORA element instead of a URL.
ELEMENT_ID = re.compile(r"^el_[A-Za-z0-9_-]{1,64}$")


def media_kind(media_type: str) -> str:
    """'image' for imageUrl; a type FLORA adds later keeps its own name."""
    label = media_label(media_type)
    return label.lower() if label != media_type else media_type


def guidance_for(io: TechniqueIO) -> str:
    """'16:9 image', '5 s video', '16:9 video, 5 s': what FLORA expects of this input."""
    kind = media_kind(io.type)
    ratio = (io.specified_aspect_ratio or "").strip()
    seconds = io.specified_duration if io.specified_duration and io.specified_duration > 0 else 0
    length = f"{seconds:g} s" if seconds else ""
    if ratio and length:
        return f"{ratio} {kind}, {length}"
    if ratio:
        return f"{ratio} {kind}"
    if length:
        return f"{length} {kind}"
    return ""


def _media_url_problem(value: str) -> str | None:
    if value.lower().startswith("data:"):
        return (
            "Paste a link, not embedded data: data: URLs are not accepted. Put the file "
            "somewhere public and use its https:// address."
        )
    if len(value) > MAX_URL:
        return f"This link is too long (at most {MAX_URL} characters)."
    if any(ch.isspace() for ch in value):
        return "A link cannot contain spaces."
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return "Enter a valid https:// link."
    if parts.scheme.lower() == "http":
        return "Use an https:// link: FLORA only fetches media over a secure connection."
    if parts.scheme.lower() != "https" or not host:
        return "Enter a full https:// link, for example https://example.com/photo.jpg."
    return None


class TechniqueInputField(forms.Field):
    """One input of the technique. Cleans to a list of values ([] when left out)."""

    def __init__(self, io: TechniqueIO) -> None:
        self.io = io
        self.supported = io.type in RUN_INPUT_TYPES
        self.multiple = io.allow_multiple and self.supported
        self.media = io.type in MEDIA_URL_TYPES
        self.guidance = guidance_for(io)
        # A file or an upload chosen for this input (techniques.media), set by the form
        # before cleaning: it stands in for a link.
        self.chosen: Any = None
        self.choice_error = ""
        # The team's own FLORA asset URLs among the values ("Run again" of a run started
        # with a file): taken as they are, even on the sandbox's plain http.
        self.known_urls: set[str] = set()
        # The longest text FLORA is sent (per line for allow_multiple); None for links.
        self.max_chars = MAX_TEXT if io.type == "text" and self.supported else None
        # Requiredness is checked in clean() so the message can name the input.
        super().__init__(
            required=False,
            label=io.name,
            # Also what aria-describedby points at: the guidance when there is no description.
            help_text=io.description or self.guidance,
            widget=self._widget(),
        )

    def _widget(self) -> forms.Widget:
        io = self.io
        attrs: dict[str, Any] = {"data-input-type": io.type}
        if not self.supported:
            return forms.TextInput(
                attrs={**attrs, "disabled": True, "placeholder": "Not accepted by FLORA's run API"}
            )
        if not io.optional and not self.media:
            # A media input may take a file instead (techniques.media): the server says
            # when neither was given, the browser would refuse a file with an empty link.
            attrs["required"] = True
        if self.multiple:
            attrs["data-multiple"] = "true"
        if io.type == "imageUrl":
            attrs["data-preview"] = "image"
        if io.type == "text":
            # No maxlength: the browser would cut a long paste without a word. The limit is
            # stated beside the field, counted by run-form.js, and enforced in _problem().
            attrs["data-max-chars"] = MAX_TEXT
            return forms.Textarea(attrs={**attrs, "rows": 4 if self.multiple else 3})
        attrs.update(autocomplete="off", spellcheck="false", inputmode="url")
        if self.multiple:
            attrs["placeholder"] = "https://…\nhttps://…"
            return forms.Textarea(attrs={**attrs, "rows": 4})
        attrs["placeholder"] = "el_… or https://…" if io.accepts_element else "https://…"
        # type=url would make the browser refuse element ids; plain text then.
        widget_class = forms.TextInput if io.accepts_element else forms.URLInput
        return widget_class(attrs=attrs)

    def to_python(self, value: Any) -> list[str]:
        # Browsers send line breaks as \r\n: FLORA gets \n, and the length it checks is the
        # one the page's counter shows.
        text = value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""
        if not text:
            return []
        if self.multiple:
            return [line.strip() for line in text.splitlines() if line.strip()]
        return [text]

    def validate(self, value: list[str]) -> None:
        io = self.io
        if not self.supported:
            if value:
                kind = media_kind(io.type)
                raise ValidationError(
                    f"FLORA's run API does not accept {kind} inputs: leave this empty.",
                    code="unsupported",
                )
            return
        if self.choice_error:
            raise ValidationError(self.choice_error, code="file")
        if self.chosen is not None and value and not self.multiple:
            raise ValidationError(
                "This input takes one file or one link: you gave both. Remove the file or "
                "clear the link.",
                code="both",
            )
        if not value and not io.optional and self.chosen is None:
            raise ValidationError(f"{io.name} is required.", code="required")
        problems = []
        for position, item in enumerate(value, start=1):
            problem = self._problem(item)
            if problem:
                problems.append(f"Line {position}: {problem}" if len(value) > 1 else problem)
        if problems:
            raise ValidationError(problems, code="invalid")

    def _problem(self, value: str) -> str | None:
        if self.io.type == "text":
            length = len(value)
            if length > MAX_TEXT:
                over = length - MAX_TEXT
                return (
                    f"At most {MAX_TEXT} characters (this has {length}): shorten it by "
                    f"{over}. Nothing was cut and nothing was started."
                )
            return None
        if self.io.accepts_element and ELEMENT_ID.match(value):
            return None
        if value in self.known_urls:
            return None
        return _media_url_problem(value)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value
