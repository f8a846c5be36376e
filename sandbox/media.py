"""Run outputs: real, small files generated from a run's inputs, the same every time.

Nothing is stored: a media request regenerates the file from the run's inputs (PNG with
Pillow, MP4 with sandbox.video, WAV with `wave`, PDF written by hand), so outputs survive
restarts and cost no disk. Identical inputs give identical files.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import json
import math
import textwrap
import wave
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from PIL import Image, ImageDraw, ImageFont, ImageOps

from sandbox import catalog, video
from sandbox.catalog import AUDIO, DOCUMENT, IMAGE, TEXT, VIDEO
from sandbox.models import SandboxRun

EXTENSIONS = {IMAGE: "png", VIDEO: "mp4", AUDIO: "wav", DOCUMENT: "pdf"}
CONTENT_TYPES = {
    "png": "image/png",
    "mp4": "video/mp4",
    "wav": "audio/wav",
    "pdf": "application/pdf",
}
LABEL = "FLORA sandbox"
IMAGE_LONG_SIDE = 640
VIDEO_LONG_SIDE = 256
VIDEO_FPS = 12
DEFAULT_VIDEO_SECONDS = 4.0
DEFAULT_AUDIO_SECONDS = 3.0
AUDIO_RATE = 22050


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


def _context(run: SandboxRun, output: catalog.IO) -> Context:
    technique = catalog.find(run.technique_id)
    assert technique is not None
    canonical = json.dumps(
        [run.technique_id, run.inputs, output.id], sort_keys=True, separators=(",", ":")
    )
    return Context(technique, output, list(run.inputs), hashlib.sha256(canonical.encode()).digest())


# -- descriptors stored on the run -------------------------------------------------------


def describe_outputs(run: SandboxRun) -> list[dict]:
    """What the run produced: a file name per media output, the text itself for text."""
    technique = catalog.find(run.technique_id)
    if technique is None:
        return []
    described = []
    for output in technique.outputs:
        item = {"output_id": output.id, "type": output.type}
        if output.type == TEXT:
            item["text"] = render_text(_context(run, output))
        else:
            item["file"] = f"{output.id}.{EXTENSIONS[output.type]}"
        described.append(item)
    return described


def render(run: SandboxRun, filename: str) -> tuple[bytes, str] | None:
    """The bytes and content type of one media output of the run, or None if it has none."""
    technique = catalog.find(run.technique_id)
    output_id, _, extension = filename.rpartition(".")
    output = (
        next((item for item in technique.outputs if item.id == output_id), None)
        if technique
        else None
    )
    if output is None or EXTENSIONS.get(output.type) != extension:
        return None
    ctx = _context(run, output)
    generators = {IMAGE: render_png, VIDEO: render_mp4, AUDIO: render_wav, DOCUMENT: render_pdf}
    return generators[output.type](ctx), CONTENT_TYPES[extension]


# -- colours and sizes -------------------------------------------------------------------


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


def _aspect(ctx: Context) -> tuple[int, int]:
    ratio = ctx.output.specified_aspect_ratio
    if ratio is None:
        # Layout Resizer: the aspect ratio is an input.
        chosen = next((i["value"] for i in ctx.inputs if i.get("id") == "aspect_ratio"), None)
        ratio = chosen or "4:3"
    width, _, height = ratio.partition(":")
    return int(width), int(height)


def _size(ctx: Context, long_side: int, multiple: int = 1) -> tuple[int, int]:
    rw, rh = _aspect(ctx)
    if rw >= rh:
        width, height = long_side, long_side * rh / rw
    else:
        width, height = long_side * rw / rh, long_side
    return (
        max(multiple, round(width / multiple) * multiple),
        max(multiple, round(height / multiple) * multiple),
    )


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _background(size: tuple[int, int], top: tuple, bottom: tuple) -> Image.Image:
    gradient = Image.linear_gradient("L").resize(size)
    return ImageOps.colorize(gradient, top, bottom).convert("RGB")


# -- images ------------------------------------------------------------------------------


def render_png(ctx: Context) -> bytes:
    size = _size(ctx, IMAGE_LONG_SIDE)
    colours = palette(ctx)
    shift = ctx.number("shift", 5)
    image = _background(size, colours[shift], colours[(shift + 2) % 5])
    draw = ImageDraw.Draw(image, "RGBA")
    width, height = size
    if ctx.output.id == "palette":
        band = width // len(colours)
        for index, colour in enumerate(colours):
            draw.rectangle((index * band, 0, (index + 1) * band, height), fill=colour)
            label = (index * band + 10, height // 2)
            draw.text(
                label,
                _hex(colour),
                fill="white",
                font=_font(18),
                stroke_width=2,
                stroke_fill="black",
            )
    else:
        for index in range(6):
            x = ctx.number(f"x{index}", width)
            y = ctx.number(f"y{index}", height)
            radius = 20 + ctx.number(f"r{index}", max(21, min(size) // 3))
            r, g, b = colours[index % len(colours)]
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(r, g, b, 150))
    _caption(draw, ctx, size)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _caption(draw: ImageDraw.ImageDraw, ctx: Context, size: tuple[int, int]) -> None:
    width, height = size
    scale = max(0.6, min(width, height) / 480)
    title = _font(round(22 * scale))
    body = _font(round(16 * scale))
    draw.rectangle((0, 0, width, round(70 * scale)), fill=(0, 0, 0, 110))
    draw.text((12, 8), f"{ctx.technique.name}: {ctx.output.name}", fill="white", font=title)
    draw.text((12, round(40 * scale)), LABEL, fill=(255, 255, 255, 200), font=body)
    chars = max(12, int(width / (9 * scale)))
    lines = textwrap.wrap(ctx.prompt, chars)[:4]
    if ctx.sources:
        lines.append("from " + ", ".join(ctx.sources)[: chars - 5])
    line_height = round(22 * scale)
    top = height - line_height * len(lines) - 12
    draw.rectangle((0, top - 8, width, height), fill=(0, 0, 0, 110))
    for index, line in enumerate(lines):
        draw.text((12, top + index * line_height), line, fill="white", font=body)


# -- video -------------------------------------------------------------------------------


def _frames(ctx: Context, size: tuple[int, int], count: int) -> Iterator[Image.Image]:
    colours = palette(ctx)
    width, height = size
    start = _background(size, colours[0], colours[2])
    # Seamless Transition wipes from a first-frame look to a last-frame look.
    end = _background(size, colours[3], colours[1]) if len(ctx.sources) >= 2 else None
    for base in (start, end):
        if base is not None:
            draw = ImageDraw.Draw(base)
            draw.text((6, 4), ctx.technique.name, fill="white", font=_font(12))
            draw.text((6, 20), LABEL, fill="white", font=_font(11))
    radius = max(8, min(size) // 10)
    disc = colours[4]
    for index in range(count):
        t = index / max(1, count - 1)
        if end is not None:
            frame = start.copy()
            wipe = int(width * t)
            if wipe:
                frame.paste(end.crop((0, 0, wipe, height)), (0, 0))
        else:
            frame = start.copy()
        draw = ImageDraw.Draw(frame)
        # A disc on a slow loop and a progress bar: motion that touches few macroblocks.
        cx = radius + (width - 2 * radius) * (0.5 - 0.5 * math.cos(math.pi * 2 * t))
        cy = height / 2 + (height / 4) * math.sin(math.pi * 2 * t)
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=disc)
        draw.rectangle((0, height - 6, int(width * t), height), fill="white")
        yield frame


def render_mp4(ctx: Context) -> bytes:
    size = _size(ctx, VIDEO_LONG_SIDE, multiple=video.MB)
    seconds = ctx.output.specified_duration or DEFAULT_VIDEO_SECONDS
    count = max(2, round(seconds * VIDEO_FPS))
    return video.encode_mp4(_frames(ctx, size, count), VIDEO_FPS)


# -- audio -------------------------------------------------------------------------------

# A pentatonic scale sounds pleasant whichever notes the inputs pick.
_SCALE = (0, 2, 4, 7, 9, 12, 14, 16)


def render_wav(ctx: Context) -> bytes:
    seconds = ctx.output.specified_duration or DEFAULT_AUDIO_SECONDS
    base = 196.0 * 2 ** (ctx.number("pitch", 12) / 12)  # G3 up to an octave higher
    notes = [base * 2 ** (_SCALE[ctx.number(f"note{i}", len(_SCALE))] / 12) for i in range(6)]
    total = int(seconds * AUDIO_RATE)
    per_note = total // len(notes)
    samples = array("h")
    for index in range(total):
        note = min(index // per_note, len(notes) - 1)
        position = (index - note * per_note) / per_note
        # A short attack and a decay per note avoid clicks between notes.
        envelope = min(1.0, position * 20) * (1.0 - position) ** 0.5
        value = math.sin(2 * math.pi * notes[note] * index / AUDIO_RATE)
        samples.append(int(value * envelope * 12000))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


# -- documents ---------------------------------------------------------------------------


def _pdf_escape(text: str) -> str:
    # The font uses WinAnsiEncoding (cp1252): curly quotes and dashes survive, the rest is "?".
    latin = text.encode("cp1252", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def render_pdf(ctx: Context) -> bytes:
    """A one-page A4 PDF: title, label, the request, and generated body text."""
    lines: list[tuple[int, str]] = [(20, f"{ctx.technique.name}: {ctx.output.name}"), (10, LABEL)]
    lines.append((11, ""))
    for item in ctx.inputs:
        for chunk in textwrap.wrap(f"{item['id']} ({item['type']}): {item['value']}", 90):
            lines.append((11, chunk))
    lines.append((11, ""))
    for paragraph in _document_body(ctx):
        lines.extend((11, chunk) for chunk in textwrap.wrap(paragraph, 90) or [""])
        lines.append((11, ""))
    commands = ["BT", "50 790 Td", "14 TL"]
    for size, text in lines[:48]:
        commands.append(f"/F1 {size} Tf ({_pdf_escape(text)}) Tj T*")
    commands.append("ET")
    stream = "\n".join(commands).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _document_body(ctx: Context) -> list[str]:
    if ctx.output.id == "spec_sheet":
        colours = ", ".join(_hex(colour) for colour in palette(ctx))
        return [
            "Room schedule generated by the FLORA sandbox.",
            "Living area: sofa, lounge chair, low table, floor lamp, wool rug.",
            "Kitchen: island with two stools, open shelving, pendant lights.",
            f"Finish palette: {colours}.",
        ]
    return [render_text(ctx), "This document was generated by the FLORA sandbox, not by FLORA."]


# -- text --------------------------------------------------------------------------------

_TAROT = (
    "The Star",
    "The Magician",
    "The Wheel of Fortune",
    "The Sun",
    "The Hermit",
    "Strength",
    "The Moon",
    "The Empress",
)


def render_text(ctx: Context) -> str:
    """A text output: what FLORA returns in the output's `url` field for type `text`."""
    colours = [_hex(colour) for colour in palette(ctx)]
    prompt = ctx.prompt
    by_output = {
        "hex_codes": lambda: ", ".join(colours),
        "reading": lambda: (
            f"You drew {_TAROT[ctx.number('card', len(_TAROT))]}. On \u201c{prompt}\u201d: "
            "the card asks for patience now and a bold move once the signs are clear."
        ),
        "critique": lambda: _critique(colours),
        "report": lambda: _critique(colours),
        "transcript": lambda: f"[{_input(ctx, 'target_language') or 'translated'}] {prompt}",
        "legend": lambda: "; ".join(
            f"{name}: {colour}"
            for name, colour in zip(
                ("sky", "building", "person", "road", "foliage"), colours, strict=True
            )
        ),
        "items": lambda: "Oversized blazer, striped tee, wide-leg trousers, loafers.",
        "icon_names": lambda: ", ".join(
            f"{prompt.split()[0].lower() if prompt.split() else 'icon'}-{n}" for n in range(1, 13)
        ),
        "keywords": lambda: "sun-faded, tactile, analog, warm grain, editorial",
    }
    generator = by_output.get(ctx.output.id)
    if generator is not None:
        return generator()
    return f"{ctx.output.name} for \u201c{prompt}\u201d ({LABEL})."


def _critique(colours: list[str]) -> str:
    return (
        f"Strong focal point and a confident palette ({colours[0]}, {colours[1]}). "
        "The hierarchy is muddled: the headline competes with the product. Tighten the "
        "copy, give the logo more room, and let one colour lead."
    )


def _input(ctx: Context, input_id: str) -> str | None:
    return next((str(i["value"]) for i in ctx.inputs if i.get("id") == input_id), None)
