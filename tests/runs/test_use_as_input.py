"""A kept output as the next run's input: "Use in another technique", one asset per
output and workspace, and the chain shown on both runs' pages."""

from __future__ import annotations

import pytest

from runs.models import InputLink, Run
from tests.runs.inputs_helpers import COLOR, ZOOM, kept_image_run
from tests.runs.submit_helpers import html_of, read_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]


@pytest.fixture
def source(team_a, bob):
    return kept_image_run(team_a, bob)


def use_form(client, source, technique=ZOOM, input_id="scene"):
    url = f"/techniques/{technique}/?workspace=ws_demo&use=output:{source.code}:0&input={input_id}"
    response = client.get(url)
    assert response.status_code == 200
    return response, read_form(html_of(response))


def test_the_output_offers_use_in_another_technique(bob_client, source, upstream):
    html = html_of(bob_client.get(f"/runs/{source.code}/"))
    assert f'href="/runs/{source.code}/outputs/0/use"' in html
    assert "Use in another technique" in html


def test_the_use_page_lists_techniques_with_an_image_input(bob_client, source, upstream):
    html = html_of(bob_client.get(f"/runs/{source.code}/outputs/0/use"))
    assert "Earth Zoom Out" in html and "Use as Starting scene" in html
    assert f"use=output%3A{source.code}%3A0&amp;input=scene" in html
    # Color Transfer takes two images: either input can take it.
    assert "Use as Image to grade" in html and "Use as Color reference" in html
    assert "Tarot Pull" not in html  # text only


def test_the_form_opens_with_the_output_chosen(bob_client, source, upstream):
    response, data = use_form(bob_client, source)
    assert data["ref_scene"] == f"output:{source.code}:0"
    html = html_of(response)
    assert f'src="/runs/{source.code}/outputs/0"' in html
    assert f'output of run <a href="/runs/{source.code}/">{source.code}</a>' in html


def test_first_use_creates_one_asset_and_the_second_none(bob_client, source, upstream, fake_assets):
    _, data = use_form(bob_client, source)
    assert bob_client.post(f"/techniques/{ZOOM}/run", data).status_code == 302
    [call] = fake_assets.calls
    assert call["data"] == source.outputs.get().file.read()
    assert call["content_type"] == "image/png" and call["workspace_id"] == "ws_demo"
    # A second use, in another technique: the asset is reused.
    _, data = use_form(bob_client, source, COLOR, "reference")
    data["in_image"] = "https://example.com/photo.jpg"
    assert bob_client.post(f"/techniques/{COLOR}/run", data).status_code == 302
    assert len(fake_assets.calls) == 1
    first, second = Run.objects.exclude(pk=source.pk).order_by("created_at", "id")
    assert first.inputs[0]["value"] == "https://assets.example/fake/1.bin"
    assert {i["id"]: i["value"] for i in second.inputs}["reference"] == (
        "https://assets.example/fake/1.bin"
    )


def test_the_chain_is_shown_both_ways(bob_client, source, upstream, fake_assets):
    _, data = use_form(bob_client, source)
    response = bob_client.post(f"/techniques/{ZOOM}/run", data)
    made = Run.objects.get(code=response["Location"].strip("/").split("/")[-1])
    link = InputLink.objects.get()
    assert (link.run, link.input_id, link.source_output) == (made, "scene", source.outputs.get())
    made_page = html_of(bob_client.get(f"/runs/{made.code}/"))
    assert f'Input from <a href="/runs/{source.code}/">run {source.code}</a>' in made_page
    # The input is shown from the dashboard's copy (FLORA's asset URL may not be public).
    assert f'<img class="input-thumb" src="/runs/{source.code}/outputs/0"' in made_page
    source_page = html_of(bob_client.get(f"/runs/{source.code}/"))
    assert f'Used in: <a href="/runs/{made.code}/">run {made.code}</a>' in source_page


def test_another_teams_output_is_not_chosen(dave_client, source, upstream, fake_assets):
    response = dave_client.get(
        f"/techniques/{ZOOM}/?workspace=ws_other&use=output:{source.code}:0&input=scene"
    )
    data = read_form(html_of(response))
    assert data.get("ref_scene", "") == ""
    assert dave_client.get(f"/runs/{source.code}/outputs/0/use").status_code == 404
    # Forged into the form: refused, nothing sent.
    data["ref_scene"] = f"output:{source.code}:0"
    html = html_of(dave_client.post(f"/techniques/{ZOOM}/run", data))
    assert "is not one of your team&#x27;s images any more" in html
    assert fake_assets.calls == [] and Run.objects.count() == 1


def test_a_text_output_cannot_be_used(bob_client, team_a, bob, upstream):
    run = kept_image_run(team_a, bob)
    output = run.outputs.get()
    output.type = "text"
    output.save()
    assert bob_client.get(f"/runs/{run.code}/outputs/0/use").status_code == 404


def test_the_picker_lists_the_teams_uploads_and_outputs_only(
    bob_client, dave_client, source, upstream, fake_assets
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.uploads import images

    bob_client.post(
        "/uploads/",
        {"file": SimpleUploadedFile("mine.png", images.png(), "image/png"), "kind": "image"},
    )
    html = html_of(bob_client.get("/inputs/picker?kind=image", headers={"HX-Request": "true"}))
    assert 'data-pick-ref="upload:' in html and "mine.png" in html
    assert f'data-pick-ref="output:{source.code}:0"' in html
    theirs = html_of(dave_client.get("/inputs/picker?kind=image"))
    assert "data-pick-ref" not in theirs and "Nothing yet" in theirs
    assert "data-pick-ref" not in html_of(bob_client.get("/inputs/picker?kind=video"))
    assert bob_client.get("/inputs/picker?kind=audio").status_code == 404
