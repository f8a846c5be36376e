"""What every sandbox media generator works from: the run's context and its colours.

Shared by the image/video/audio generators (sandbox.media) and the text/PDF ones
(sandbox.documents), so that an image and the hex codes of the same run agree.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox import catalog
from sandbox.catalog import TEXT

LABEL = "FLORA sandbox"


@dataclass(frozen=True)
class Context:
    """What every generator needs to know about the run and the output."""

    technique: catalog.Technique
    output: catalog.IO
    inputs: list[dict]
    seed: bytes

    @property
    def prompt(self) -> str:
        texts = [str(item["value"]) for item in self.inputs if item.get("type") == TEXT]
        return " / ".join(texts) if texts else self.technique.description

    @property
    def sources(self) -> list[str]:
        """The file names of the media inputs, to show what the output was made from."""
        names = []
        for item in self.inputs:
            if item.get("type") != TEXT:
                path = urlsplit(str(item["value"])).path
                names.append(path.rsplit("/", 1)[-1] or str(item["value"]))
        return names

    def number(self, salt: str, modulo: int) -> int:
        digest = hashlib.sha256(self.seed + salt.encode()).digest()
        return int.from_bytes(digest[:8], "big") % modulo


def palette(ctx: Context, count: int = 5) -> list[tuple[int, int, int]]:
    """Colours derived from the inputs alone, so an image and its hex codes agree."""
    base = hashlib.sha256(json.dumps(ctx.inputs, sort_keys=True).encode()).digest()
    hue = base[0] / 255
    colours = []
    for index in range(count):
        h = (hue + index * (0.12 + base[1] / 2550)) % 1.0
        s = 0.45 + base[2 + index] / 255 * 0.45
        v = 0.55 + base[8 + index] / 255 * 0.4
        r, g, b = colorsys.hsv_to_rgb(h, s, v)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def _hex(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)
