"""Location metadata never leaves the dashboard: GPS and other EXIF are removed, the
orientation is applied, the pixels are kept."""

from __future__ import annotations

import hashlib
import io

import pytest

from tests.uploads import images
from uploads.validation import prepare


def test_gps_is_removed_from_a_jpeg_without_touching_its_pixels():
    original = images.jpeg(gps=True)
    assert images.opened(original).getexif().get_ifd(images.GPS)  # the test file has GPS
    prepared = prepare(original, name="holiday.jpg", kind="image")
    cleaned = images.opened(prepared.data)
    assert not cleaned.getexif().get_ifd(images.GPS)
    assert dict(cleaned.getexif()) == {}
    assert b"Camera Inc" not in prepared.data
    assert prepared.location_removed
    # Upright JPEG: the EXIF segment is cut out; the compressed data is the same.
    assert images.pixels(prepared.data) == images.pixels(original)


def test_the_orientation_is_applied_before_the_exif_goes():
    # Orientation 6: the camera was turned; the picture is shown rotated 90° clockwise.
    prepared = prepare(images.jpeg(gps=True, orientation=6), name="p.jpg", kind="image")
    cleaned = images.opened(prepared.data)
    assert cleaned.size == (32, 48)
    assert (prepared.width, prepared.height) == (32, 48)
    assert not cleaned.getexif()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_gps_is_removed_from_png_and_webp_losslessly(fmt):
    options = {"lossless": True} if fmt == "WEBP" else {}
    original = images.encoded(fmt, gps=True, **options)
    assert images.opened(original).getexif().get_ifd(images.GPS)
    prepared = prepare(original, name="x", kind="image")
    cleaned = images.opened(prepared.data)
    assert not cleaned.getexif().get_ifd(images.GPS)
    assert not cleaned.getexif()
    assert images.pixels(prepared.data) == images.pixels(original)
    assert prepared.location_removed


def test_avif_is_reencoded_without_its_exif():
    prepared = prepare(images.encoded("AVIF", gps=True), name="x.avif", kind="image")
    assert not images.opened(prepared.data).getexif()
    assert prepared.content_type == "image/avif"


def test_a_photo_without_metadata_is_kept_byte_for_byte():
    original = images.jpeg()
    prepared = prepare(original, name="plain.jpg", kind="image")
    assert prepared.data == original
    assert not prepared.location_removed


def test_the_checksum_is_of_the_cleaned_bytes_and_stable():
    original = images.jpeg(gps=True)
    first = prepare(original, name="a.jpg", kind="image")
    again = prepare(images.jpeg(gps=True), name="b.jpg", kind="image")
    assert first.sha256 == again.sha256 == hashlib.sha256(first.data).hexdigest()
    assert first.sha256 != hashlib.sha256(original).hexdigest()


def mpo_with_gps() -> bytes:
    buffer = io.BytesIO()
    images.gradient().save(
        buffer,
        "MPO",
        save_all=True,
        append_images=[images.gradient(20, 20)],
        exif=images.exif_with_gps(),
    )
    return buffer.getvalue()


def test_an_mpo_keeps_only_its_first_picture_without_any_exif():
    original = mpo_with_gps()
    assert original.count(b"Exif\x00\x00") == 2  # each picture carries the location
    prepared = prepare(original, name="portrait.jpg", kind="image")
    assert prepared.content_type == "image/jpeg"
    assert b"Exif\x00\x00" not in prepared.data and b"MPF\x00" not in prepared.data
    cleaned = images.opened(prepared.data)
    assert cleaned.format == "JPEG" and getattr(cleaned, "n_frames", 1) == 1
    assert images.pixels(prepared.data) == images.pixels(original)


def test_anything_after_the_end_of_a_jpeg_is_dropped():
    original = images.jpeg(gps=True) + b"SEFT trailer with GPS 52.37N 4.89E"
    prepared = prepare(original, name="phone.jpg", kind="image")
    assert b"trailer" not in prepared.data and prepared.data.endswith(b"\xff\xd9")
    assert images.pixels(prepared.data) == images.pixels(images.jpeg())


def test_a_progressive_jpeg_keeps_every_scan():
    original = images.encoded("JPEG", gps=True, progressive=True, quality=90)
    prepared = prepare(original, name="p.jpg", kind="image")
    assert not images.opened(prepared.data).getexif()
    assert images.pixels(prepared.data) == images.pixels(original)


def test_bytes_after_a_webps_riff_body_are_dropped():
    original = images.encoded("WEBP", gps=True, lossless=True) + b"trailing location"
    prepared = prepare(original, name="w.webp", kind="image")
    assert b"trailing" not in prepared.data
    assert images.pixels(prepared.data) == images.pixels(original)
