"""The run page's inputs (issue 14 item 10): thumbnail, the whole address, Copy, and a
placeholder for media that cannot load; and what the public share page keeps from that."""

from __future__ import annotations

import re

import pytest

from tests.runs.results_helpers import IMAGE_URL, share_link
from tests.runs.test_detail import _failed_run

pytestmark = pytest.mark.django_db

VIDEO_URL = "https://media.example.com/clips/walk-cycle.mp4?v=2&size=large"
AUDIO_URL = "https://media.example.com/voice/take-3.wav"
LONG_URL = "https://images.example.com/" + "a-very-long-folder-name/" * 12 + "face.png"


def _inputs_section(html: str) -> str:
    start = html.index('id="inputs-heading"')
    return html[start : html.index("</section>", start)]


def _page(client, run) -> str:
    return _inputs_section(client.get(f"/runs/{run.code}/").content.decode())


def test_an_image_input_shows_thumbnail_address_and_copy(bob_client, team_a, bob):
    run = _failed_run(team_a, bob)
    html = _page(bob_client, run)
    assert f'<img class="input-thumb" src="{IMAGE_URL}"' in html
    # The whole address as text, with a Copy button pointing at it (shown by copy.js).
    match = re.search(
        r'<span id="(input-url-\d+)" class="input-url mono" title="([^"]+)">([^<]+)<', html
    )
    assert match and match.group(2) == IMAGE_URL and match.group(3) == IMAGE_URL
    assert f'data-copy-target="{match.group(1)}"' in html
    assert 'aria-label="Copy the link of Face" hidden>Copy</button>' in html
    # The placeholder is there, hidden until media-fallback.js sees the image fail.
    assert re.search(r'<div class="input-missing" data-media-missing hidden>', html)
    assert "Image could not be loaded" in html
    assert 'class="type-icon"' in html


def test_the_page_loads_the_copy_and_fallback_scripts(bob_client, team_a, bob):
    run = _failed_run(team_a, bob)
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert '<script src="/static/js/copy.js" defer></script>' in html
    assert '<script src="/static/js/media-fallback.js" defer></script>' in html
    assert "<script>" not in html and " style=" not in html  # strict CSP


def test_video_and_audio_inputs_get_a_thumbnail_or_icon_and_their_address(bob_client, team_a, bob):
    run = _failed_run(
        team_a,
        bob,
        inputs=[
            {"id": "clip", "type": "videoUrl", "value": VIDEO_URL},
            {"id": "voice", "type": "audioUrl", "value": AUDIO_URL},
        ],
    )
    html = _page(bob_client, run)
    escaped = VIDEO_URL.replace("&", "&amp;")
    assert f'<video class="input-thumb" src="{escaped}" preload="metadata"' in html
    assert "Video could not be loaded" in html
    assert f">{escaped}</span>" in html and f">{AUDIO_URL}</span>" in html
    # Audio has no picture: its type icon links to it, with nothing to fail.
    assert 'aria-label="Open the audio: Voice"' in html
    assert "Audio could not be loaded" not in html
    assert html.count("data-copy-target=") == 2


def test_a_long_address_is_shown_whole(bob_client, team_a, bob):
    run = _failed_run(team_a, bob, inputs=[{"id": "face", "type": "imageUrl", "value": LONG_URL}])
    html = _page(bob_client, run)
    assert f">{LONG_URL}</span>" in html  # no truncatechars: CSS wraps and clamps it


def test_element_ids_and_text_inputs_get_no_copy_button(bob_client, team_a, bob):
    run = _failed_run(
        team_a,
        bob,
        inputs=[
            {"id": "face", "type": "imageUrl", "value": "el_12345"},
            {"id": "q", "type": "text", "value": "Make it pop"},
        ],
    )
    html = _page(bob_client, run)
    assert "data-copy-target" not in html and "data-media-frame" not in html


def test_the_share_page_keeps_thumbnails_without_addresses_or_copy(client, run, bob):
    run.inputs = [{"id": "face", "type": "imageUrl", "value": IMAGE_URL}]
    run.save(update_fields=["inputs"])
    _, token = share_link(run, bob)
    html = client.get(f"/s/{token}").content.decode()
    section = html[html.index('id="inputs-heading"') :]
    assert f'<img class="input-thumb" src="{IMAGE_URL}"' in section
    assert "Image could not be loaded" in section  # the placeholder works there too
    assert "input-url" not in section and "data-copy-target" not in section
    assert '<script src="/static/js/media-fallback.js" defer></script>' in html


def test_run_again_sits_apart_from_the_failed_runs_alert(bob_client, team_a, bob):
    run = _failed_run(team_a, bob)
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert re.search(
        r'<div class="alert alert-error run-failure" role="alert">.*?</div>\s*'
        r'<p class="run-again"><a class="button primary" href="/runs/[^"]+/again">Run again</a>',
        html,
        re.DOTALL,
    )
