"""uploads.validation: the real type by content, sizes, pixels and bombs, in words."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.uploads import images
from uploads import validation
from uploads.validation import Refused, prepare, safe_name


def refusal(data: bytes, name: str, kind: str = "image") -> str:
    with pytest.raises(Refused) as caught:
        prepare(data, name=name, kind=kind)
    return str(caught.value)


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        ("PNG", "image/png", "png"),
        ("JPEG", "image/jpeg", "jpg"),
        ("WEBP", "image/webp", "webp"),
        ("GIF", "image/gif", "gif"),
        ("AVIF", "image/avif", "avif"),
    ],
)
def test_it_reads_each_accepted_image_type_from_its_bytes(fmt, content_type, extension):
    prepared = prepare(images.encoded(fmt), name="whatever.bin", kind="image")
    assert prepared.content_type == content_type
    assert prepared.kind == "image"
    assert (prepared.width, prepared.height) == (48, 32)
    assert prepared.name == f"whatever.{extension}"
    assert len(prepared.sha256) == 64


def test_a_text_file_renamed_png_is_refused_by_content():
    message = refusal(b"these are not the pixels you are looking for\n", "photo.png")
    assert message == (
        "This file is named like a PNG image, but its content is not one "
        "(JPEG, PNG, WebP, GIF, AVIF)."
    )


def test_an_image_type_flora_does_not_take_is_named():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "BMP")
    message = refusal(buffer.getvalue(), "scan.png")
    assert message.startswith("This file is a BMP image renamed .png: not an image FLORA accepts")


def test_a_gif_renamed_png_is_kept_as_the_gif_it_is():
    prepared = prepare(images.encoded("GIF"), name="anim.png", kind="image")
    assert prepared.content_type == "image/gif"
    assert prepared.name == "anim.gif"


def test_heic_is_refused_with_what_to_do_since_its_location_cannot_be_removed():
    message = refusal(images.HEIC, "IMG_0001.HEIC")
    assert "HEIC" in message and "export it as JPEG" in message


def test_a_video_in_an_image_input_says_so():
    assert refusal(images.MP4, "clip.mp4") == (
        "This file is a video, not an image: use it in a video input."
    )


def test_an_image_over_the_size_cap_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(validation, "MAX_IMAGE_BYTES", 100)
    message = refusal(images.png(), "big.png")
    assert message.startswith("This image is") and "at most" in message


def test_too_many_pixels_is_refused_with_the_dimensions(monkeypatch):
    monkeypatch.setattr(validation, "MAX_PIXELS", 1000)
    message = refusal(images.png(size=(50, 40)), "wide.png")
    assert "50 × 40" in message and "megapixels" in message


def test_a_decompression_bomb_is_refused(monkeypatch):
    # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that: both are refused.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert "too many pixels to open safely" in refusal(images.png(size=(12, 10)), "b.png")
    assert "too many pixels to open safely" in refusal(images.png(size=(30, 30)), "b.png")


def test_the_app_sets_pillows_guard_at_floras_limit():
    assert Image.MAX_IMAGE_PIXELS == validation.MAX_PIXELS == 150_000_000


def test_a_truncated_image_is_refused_as_damaged():
    data = images.png(size=(200, 200))
    message = refusal(data[: len(data) // 2], "cut.png")
    assert "damaged" in message or "not one" in message


def test_an_empty_file_is_refused():
    assert refusal(b"", "x.png") == "This file is empty."


@pytest.mark.parametrize(
    ("data", "content_type", "extension"),
    [
        (images.MP4, "video/mp4", "mp4"),
        (images.MOV, "video/quicktime", "mov"),
        (images.WEBM, "video/webm", "webm"),
    ],
)
def test_videos_are_known_by_their_magic_bytes(data, content_type, extension):
    prepared = prepare(data, name="clip", kind="video")
    assert prepared.content_type == content_type
    assert prepared.name == f"clip.{extension}"
    assert prepared.data == data


def test_a_renamed_file_is_not_a_video():
    assert refusal(b"hello", "clip.mp4", "video").startswith("This file is not a video FLORA")
    assert refusal(images.png(), "clip.mp4", "video") == (
        "This file is an image, not a video: use it in an image input."
    )


def test_a_video_over_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(validation, "MAX_VIDEO_BYTES", 100)
    assert "videos can be at most" in refusal(images.MP4, "clip.mp4", "video")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\me\\Desktop\\Été 2024.jpeg", "Ete 2024.jpg"),
        ("<script>.png", "script.png"),
        ("", "upload.png"),
        ("x" * 300 + ".png", "x" * 80 + ".png"),
    ],
)
def test_names_are_made_safe_with_the_real_extension(raw, expected):
    assert safe_name(raw, "image/png" if expected.endswith("png") else "image/jpeg") == expected
