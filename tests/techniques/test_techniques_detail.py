"""A technique's page: what it takes and makes, its price, the run form; gone and failures."""

from __future__ import annotations

import re

import pytest

from teams.models import FloraConnection
from teams.services import mark_failing

pytestmark = pytest.mark.django_db

BOOK_DROP = "/techniques/tech_book-drop/"
CANNED = {
    "technique_id": "tech_canned",
    "name": "Canned Clip",
    "description": "A technique published with every schema detail.",
    "run_cost": 0.4,
    "inputs": [
        {
            "id": "still",
            "name": "Key frame",
            "type": "imageUrl",
            "description": "The opening frame.",
            "specified_aspect_ratio": "16:9",
        },
        {"id": "clip", "name": "Reference clip", "type": "videoUrl", "specified_duration": 5},
        {"id": "voice", "name": "Voice", "type": "audioUrl", "optional": True},
    ],
    "outputs": [
        {
            "id": "movie",
            "name": "Movie",
            "type": "videoUrl",
            "description": "The finished clip.",
            "specified_aspect_ratio": "16:9",
            "specified_duration": 12,
        }
    ],
    "a_field_from_the_future": {"ignored": True},
}


def _row(html: str, name: str) -> str:
    start = html.index(f"<td><strong>{name}</strong>")
    return html[start : html.index("</tr>", start)]


def test_it_shows_name_description_price_and_the_io_table(bob_client, upstream):
    response = bob_client.get(BOOK_DROP)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Book Drop</h1>" in html
    assert "Mocks up front and back book covers" in html
    assert '<p class="price technique-price">$0.18 per run</p>' in html
    row = _row(html, "Cover artwork")
    assert "Image" in row and "<td>Required</td>" in row
    assert "The artwork for the front cover." in row
    assert "<td>Optional</td>" in _row(html, "Author")
    front = _row(html, "Front cover")
    assert '<span class="badge out">Image</span>' in front and "<td>2:3</td>" in front
    assert 'href="/techniques/?workspace=ws_demo">Techniques</a>' in html  # breadcrumbs
    assert '<script src="/static/js/run-form.js" defer></script>' in html


def test_aspect_ratio_duration_and_unsupported_types_are_spelled_out(bob_client, upstream):
    upstream.respond(CANNED, path=r"/techniques/tech_canned$")
    html = bob_client.get("/techniques/tech_canned/").content.decode()
    assert "<td>16:9</td>" in _row(html, "Key frame")
    assert "<td>5 s</td>" in _row(html, "Reference clip")
    movie = _row(html, "Movie")
    assert "<td>16:9</td>" in movie and "<td>12 s</td>" in movie
    assert "not accepted by the run API" in _row(html, "Voice")
    # ...and beside the form's fields, as guidance.
    assert '<span class="guidance">16:9 image</span> · The opening frame.' in html
    assert (
        '<p class="help" id="id_in_clip_helptext"><span class="guidance">5 s video</span></p>'
        in html
    )
    assert "Run for $0.40" in html


def test_a_technique_gone_upstream_is_a_clear_404(bob_client, upstream):
    response = bob_client.get("/techniques/tech_vanished/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This technique is not in FLORA any more" in html
    assert "<code>tech_vanished</code>" in html
    assert re.search(r"FLORA request id: <code>req_\w+</code>", html)
    assert 'href="/techniques/?workspace=ws_demo">Browse the techniques</a>' in html


def test_a_malformed_id_is_404_without_asking_flora(bob_client, upstream):
    response = bob_client.get("/techniques/%3Cscript%3E/")
    assert response.status_code == 404
    assert upstream.calls() == 0


def test_the_technique_is_cached(bob_client, alice_client, upstream):
    bob_client.get(BOOK_DROP)
    alice_client.get(BOOK_DROP)
    bob_client.get(BOOK_DROP + "?workspace=ws_brand")
    assert upstream.calls() == 1


def test_when_flora_fails_the_last_good_copy_is_shown(bob_client, upstream, settings):
    settings.FLORA_CATALOG_TTL = 0
    bob_client.get(BOOK_DROP)
    upstream.drop()
    response = bob_client.get(BOOK_DROP)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Book Drop</h1>" in html
    assert re.search(
        r'FLORA is not answering; showing this technique as of <time datetime="[^"]+Z" '
        r'title="[^"]+ UTC">today \d\d:\d\d</time>\.',
        html,
    )


def test_without_a_copy_a_failure_is_a_friendly_page(bob_client, upstream):
    upstream.fail(500, "unknown_error")
    response = bob_client.get(BOOK_DROP)
    assert response.status_code == 503
    assert "req_fault_unknown_error" in response.content.decode()


def test_a_failing_connection_is_mentioned(bob_client, team_a, upstream):
    bob_client.get(BOOK_DROP)
    mark_failing(FloraConnection.objects.get(team=team_a), "HTTP 401 unauthorized: Invalid key.")
    html = bob_client.get(BOOK_DROP).content.decode()
    assert "The last call to FLORA with the team&#x27;s key failed (HTTP 401" in html


def test_members_get_the_form_and_viewers_see_it_disabled_with_the_reason(
    bob_client, carol_client, upstream
):
    member = bob_client.get(BOOK_DROP).content.decode()
    assert '<fieldset class="run-inputs stack">' in member
    # The test teams are on the sandbox, so the price is said to be simulated.
    assert "data-run-button>Run for $0.18 (simulated price)</button>" in member

    viewer = carol_client.get(BOOK_DROP).content.decode()
    assert '<fieldset class="run-inputs stack" disabled>' in viewer
    assert "data-run-button disabled>" in viewer
    assert "You are a viewer in Acme: viewers can look at techniques but not start runs." in viewer


def test_another_workspace_of_the_team_is_recorded_in_the_form(bob_client, upstream):
    html = bob_client.get(BOOK_DROP + "?workspace=ws_brand").content.decode()
    assert '<input type="hidden" name="workspace" value="ws_brand"' in html
    assert "<dt>Workspace</dt><dd>Brand Team</dd>" in html


@pytest.mark.parametrize("workspace", ["ws_other", "ws_unknown"])
def test_a_forged_workspace_is_404_and_never_reaches_flora(bob_client, upstream, workspace):
    response = bob_client.get(f"{BOOK_DROP}?workspace={workspace}")
    assert response.status_code == 404
    assert upstream.calls() == 0


def test_members_of_other_teams_get_404_for_a_workspace_of_team_a(dave_client, upstream):
    assert dave_client.get(f"{BOOK_DROP}?workspace=ws_demo").status_code == 404
    assert upstream.calls() == 0
