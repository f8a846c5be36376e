"""Outputs on the run page: by type, while not kept yet (polling), and FLORA's links."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from runs.models import OutputKeepStatus, RunOutput
from runs.views.run_page import outputs_context

pytestmark = pytest.mark.django_db


# --- Rendering by type ------------------------------------------------------------------------


def test_each_output_type_renders_with_its_own_element(bob_client, runs_by_type):
    critique, ugc = runs_by_type["critique"], runs_by_type["ugc"]
    html = bob_client.get(f"/runs/{critique.code}/").content.decode()
    base = f"/runs/{critique.code}/outputs"
    # Text: readable block and a copy button (copy.js, no inline script).
    text = critique.outputs.get(type="text")
    assert f'<pre class="output-text" id="output-{text.position + 1}-text">' in html
    assert f'data-copy-target="output-{text.position + 1}-text"' in html
    assert "Strong focal point" in html
    assert '<script src="/static/js/copy.js" defer></script>' in html
    # Image: shown, and opens full size on click.
    image = critique.outputs.get(type="imageUrl")
    assert f'<a class="output-image" href="{base}/{image.position}"' in html
    assert f'<img src="{base}/{image.position}"' in html
    # Document: inline preview from our own origin, and a download.
    pdf = critique.outputs.get(type="documentUrl")
    assert f'<iframe class="output-document" src="{base}/{pdf.position}"' in html
    assert f'href="{base}/{pdf.position}?download=1"' in html

    html = bob_client.get(f"/runs/{ugc.code}/").content.decode()
    base = f"/runs/{ugc.code}/outputs"
    video = ugc.outputs.get(type="videoUrl")
    audio = ugc.outputs.get(type="audioUrl")
    assert (
        f'<video class="output-media" controls preload="metadata" src="{base}/{video.position}">'
        in html
    )
    assert (
        f'<audio class="output-audio" controls preload="metadata" src="{base}/{audio.position}">'
        in html
    )


def test_every_output_has_a_download_with_a_sensible_name(bob_client, runs_by_type):
    run = runs_by_type["critique"]
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    slug = "art-directors-critique"
    for output in run.outputs.all():
        ext = {"text": "txt", "imageUrl": "png", "documentUrl": "pdf"}[output.type]
        name = f"{slug}-{run.code}-{output.position + 1}.{ext}"
        assert f'download="{name}"' in html
    assert f'href="/runs/{run.code}/outputs.zip"' in html


def test_flora_urls_are_not_used_for_kept_outputs(bob_client, runs_by_type):
    run = runs_by_type["critique"]
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    for output in run.outputs.exclude(source_url=""):
        assert output.source_url not in html


def test_the_outputs_fragment_renders_from_outputs_context(runs_by_type, bob):
    """The status view includes runs/_outputs.html with what outputs_context builds."""
    run = runs_by_type["critique"]
    request = RequestFactory().get("/")
    request.user = bob
    request.membership = bob.team_memberships.get()
    ctx = outputs_context(run, request.membership)
    html = render_to_string("runs/_outputs.html", ctx, request=request)
    assert html.count('id="run-outputs"') == 1
    assert html.count('class="output output-') == 3


# --- Not kept yet, and polling ------------------------------------------------------------------


def test_a_pending_output_says_not_kept_yet_and_polls(bob_client, pending_run):
    html = bob_client.get(f"/runs/{pending_run.code}/").content.decode()
    assert "Not kept yet." in html
    assert f'hx-get="/runs/{pending_run.code}/outputs" hx-trigger="every 2s"' in html
    # Members may open FLORA's copy meanwhile; no download of ours is offered yet.
    assert 'href="https://cdn.flora-files.example/still.png"' in html
    assert "outputs.zip" not in html
    assert bob_client.get(f"/runs/{pending_run.code}/outputs/0").status_code == 404


def test_the_outputs_fragment_stops_polling_once_kept(bob_client, pending_run):
    url = f"/runs/{pending_run.code}/outputs"
    response = bob_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="run-outputs"')
    RunOutput.objects.filter(run=pending_run).update(keep_status=OutputKeepStatus.FAILED)
    response = bob_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert "hx-trigger" not in response.content.decode()


def test_a_retrying_output_polls_slowly_and_shows_why(bob_client, pending_run):
    RunOutput.objects.filter(run=pending_run).update(
        attempts=2, last_error="FLORA's file server answered 503."
    )
    html = bob_client.get(f"/runs/{pending_run.code}/").content.decode()
    assert 'hx-trigger="every 20s"' in html
    assert "answered 503" in html


def test_a_failed_copy_never_breaks_the_page(bob_client, pending_run):
    RunOutput.objects.filter(run=pending_run).update(
        keep_status=OutputKeepStatus.FAILED, last_error="The file is larger than the 200 MB limit."
    )
    response = bob_client.get(f"/runs/{pending_run.code}/")
    assert response.status_code == 200
    assert "Could not be kept." in response.content.decode()
    assert "200 MB limit" in response.content.decode()


def test_after_the_run_ends_on_an_open_page_the_side_column_refreshes_once(bob_client, pending_run):
    """The status poll delivers the outputs section; once settled, it reloads the aside."""
    hx = {"HX-Request": "true"}
    status = bob_client.get(f"/runs/{pending_run.code}/status", headers=hx)
    html = status.content.decode()
    assert f'hx-get="/runs/{pending_run.code}/outputs?stale=1"' in html
    assert f"/runs/{pending_run.code}/aside" not in html  # not yet: a copy is still being made
    RunOutput.objects.filter(run=pending_run).update(keep_status=OutputKeepStatus.FAILED)
    final = bob_client.get(f"/runs/{pending_run.code}/outputs?stale=1", headers=hx)
    assert final.status_code == 286
    assert f'hx-get="/runs/{pending_run.code}/aside" hx-trigger="load"' in final.content.decode()
    aside = bob_client.get(f"/runs/{pending_run.code}/aside", headers=hx).content.decode()
    assert aside.lstrip().startswith('<aside id="run-aside"')
    assert "Create share link" in aside
    # A page opened after the run ended never reloads its aside.
    page = bob_client.get(f"/runs/{pending_run.code}/").content.decode()
    assert f"/runs/{pending_run.code}/aside" not in page and "stale=1" not in page


def test_the_fragments_send_a_browser_tab_to_the_run_page(bob_client, pending_run):
    for part in ("outputs", "aside"):
        response = bob_client.get(f"/runs/{pending_run.code}/{part}")
        assert response.status_code == 302
        assert response["Location"] == f"/runs/{pending_run.code}/"


def test_the_old_part_urls_still_answer_their_fragments(bob_client, pending_run):
    """Pages rendered before runs:outputs and runs:aside existed poll ?part= until reloaded."""
    hx = {"HX-Request": "true"}
    url = f"/runs/{pending_run.code}/"
    outputs = bob_client.get(url + "?part=outputs&stale=1", headers=hx)
    assert outputs.status_code == 200
    html = outputs.content.decode()
    assert html.lstrip().startswith('<section id="run-outputs"')
    assert f'hx-get="/runs/{pending_run.code}/outputs?stale=1"' in html
    aside = bob_client.get(url + "?part=aside", headers=hx).content.decode()
    assert aside.lstrip().startswith('<aside id="run-aside"')


# --- FLORA's links ------------------------------------------------------------------------------

UNSAFE_URLS = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript\n:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "vbscript:msgbox(1)",
    "ftp://files.example/still.png",
    "https:still.png",  # no host
]


def _link_schemes(html: str) -> list[str]:
    """The scheme of every href/src, read as a browser reads it (tabs and newlines removed,
    leading control characters and spaces stripped); "" for a relative URL."""
    import re
    from html import unescape

    schemes = []
    for value in re.findall(r'\b(?:href|src)="([^"]*)"', html):
        value = re.sub(r"[\t\n\r]", "", unescape(value)).lstrip("".join(map(chr, range(33))))
        match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", value)
        schemes.append(match.group(1).lower() if match else "")
    return schemes


@pytest.mark.parametrize("keep_status", [OutputKeepStatus.PENDING, OutputKeepStatus.FAILED])
@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_flora_links_other_than_http_are_shown_as_text(bob_client, pending_run, keep_status, url):
    RunOutput.objects.filter(run=pending_run).update(source_url=url, keep_status=keep_status)
    for path in (f"/runs/{pending_run.code}/", f"/runs/{pending_run.code}/outputs"):
        html = bob_client.get(path, headers={"HX-Request": "true"} if "/outputs" in path else {})
        html = html.content.decode()
        assert set(_link_schemes(html)) <= {"", "http", "https"}, url
        assert "not linked" in html
    # The public share page never shows FLORA's URLs at all.
    from runs.shares import create_share

    token = create_share(pending_run, created_by=None, hide_inputs=False, expires="never").token
    html = Client().get(f"/s/{token}").content.decode()
    assert set(_link_schemes(html)) <= {"", "http", "https"}
    assert "alert(1)" not in html


def test_http_flora_links_are_still_linked(bob_client, pending_run):
    RunOutput.objects.filter(run=pending_run).update(source_url="HTTP://cdn.example/still.png")
    html = bob_client.get(f"/runs/{pending_run.code}/").content.decode()
    assert 'href="HTTP://cdn.example/still.png"' in html
    assert "not linked" not in html
