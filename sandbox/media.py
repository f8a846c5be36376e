"""Run outputs: real, small files generated from a run's inputs, the same every time.

Nothing is stored: a media request regenerates the file from the run's inputs (PNG with
Pillow, MP4 with sandbox.video, WAV with `wave`, PDF written by hand), so outputs survive
restarts and cost no disk. Identical inputs give identical files.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import textwrap
import wave
from array import array
from collections.abc import Iterator

from PIL import Image, ImageDraw, ImageFont, ImageOps

from sandbox import catalog, video
from sandbox.catalog import AUDIO, DOCUMENT, IMAGE, TEXT, VIDEO
from sandbox.documents import render_pdf, render_text
from sandbox.mediactx import LABEL, Context, _hex, palette
from sandbox.models import SandboxRun

EXTENSIONS = {IMAGE: "png", VIDEO: "mp4", AUDIO: "wav", DOCUMENT: "pdf"}
CONTENT_TYPES = {
    "png": "image/png",
    "mp4": "video/mp4",
    "wav": "audio/wav",
    "pdf": "application/pdf",
}
IMAGE_LONG_SIDE = 640
VIDEO_LONG_SIDE = 256
VIDEO_FPS = 12
DEFAULT_VIDEO_SECONDS = 4.0
DEFAULT_AUDIO_SECONDS = 3.0
AUDIO_RATE = 22050


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
