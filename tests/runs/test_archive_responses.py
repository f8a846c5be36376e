"""The download guard on FLORA's answers: redirects, sizes and content types."""

from __future__ import annotations

import hashlib

import httpx
import pytest
import respx

from runs.models import OutputKeepStatus
from tests.runs.results_helpers import CDN, PNG
from tests.runs.results_helpers import keep_and_reload as _keep
from tests.runs.results_helpers import pending_output as _pending_output

pytestmark = pytest.mark.django_db


# --- Refusals: redirects, sizes, types ------------------------------------------------------


def test_redirects_are_followed_and_each_hop_checked(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/signed/still.png?sig=abc")
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{CDN}/signed/still.png?sig=abc").respond(
            302, headers={"Location": "https://storage.example/still.png"}
        )
        mock.get("https://storage.example/still.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.KEPT
    assert output.sha256 == hashlib.sha256(PNG).hexdigest()


def test_a_redirect_to_an_internal_host_is_refused(team_a, bob, public_dns):
    public_dns["metadata.internal"] = ["169.254.169.254"]
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{CDN}/still.png").respond(
            301, headers={"Location": "https://metadata.internal/latest"}
        )
        internal = mock.get(url__startswith="https://metadata.internal/")
        output = _keep(output)
    assert not internal.called
    assert output.keep_status == OutputKeepStatus.FAILED


def test_a_redirect_to_plain_http_is_refused(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(302, headers={"Location": "http://cdn.example/x"})
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "Only https" in output.last_error


def test_endless_redirects_are_given_up(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/loop.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/loop.png").respond(302, headers={"Location": f"{CDN}/loop.png"})
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.PENDING
    assert "redirected more than" in output.last_error


def test_a_declared_size_over_the_limit_is_refused_before_reading(
    team_a, bob, public_dns, settings
):
    settings.FLORASITE_OUTPUT_MAX_BYTES = 100
    output = _pending_output(team_a, bob, f"{CDN}/big.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/big.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png", "Content-Length": "208"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "larger than the 100" in output.last_error
    assert not output.file


def test_bytes_are_counted_when_no_size_is_declared(team_a, bob, public_dns, settings):
    settings.FLORASITE_OUTPUT_MAX_BYTES = 1000

    class Endless(httpx.SyncByteStream):
        def __iter__(self):
            for _ in range(50):
                yield b"\x00" * 100

    output = _pending_output(team_a, bob, f"{CDN}/endless.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/endless.png").respond(
            200, stream=Endless(), headers={"Content-Type": "image/png"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "larger than" in output.last_error


def test_a_file_shorter_than_declared_is_retried(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/short.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/short.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png", "Content-Length": "9999"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.PENDING
    assert "incomplete" in output.last_error


@pytest.mark.parametrize(
    ("media_type", "content_type"),
    [
        ("imageUrl", "text/html"),
        ("imageUrl", "image/svg+xml"),
        ("imageUrl", "video/mp4"),
        ("videoUrl", "image/png"),
        ("audioUrl", "application/pdf"),
        ("documentUrl", "text/html; charset=utf-8"),
        ("documentUrl", "application/x-msdownload"),
    ],
)
def test_content_types_must_match_the_output_type(
    team_a, bob, public_dns, media_type, content_type
):
    output = _pending_output(team_a, bob, f"{CDN}/file", media_type)
    with respx.mock() as mock:
        mock.get(f"{CDN}/file").respond(
            200, content=b"x" * 10, headers={"Content-Type": content_type}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "not kept" in output.last_error


def test_an_octet_stream_is_judged_by_its_file_name(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.jpg")
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.jpg").respond(
            200,
            content=b"\xff\xd8\xff" + b"0" * 50,
            headers={"Content-Type": "application/octet-stream"},
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.KEPT
    assert output.content_type == "image/jpeg"
    assert output.file.name.endswith(".jpg")


def test_text_documents_keep_their_charset(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/notes.txt", "documentUrl")
    with respx.mock() as mock:
        mock.get(f"{CDN}/notes.txt").respond(
            200,
            content="Grüße".encode("latin-1"),
            headers={"Content-Type": "text/plain; charset=ISO-8859-1"},
        )
        output = _keep(output)
    assert output.content_type == "text/plain; charset=iso-8859-1"
