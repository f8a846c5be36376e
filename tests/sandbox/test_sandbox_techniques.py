"""GET /techniques and GET /techniques/{techniqueId}."""

from __future__ import annotations

import pytest

import flora
from tests.sandbox.sandbox_helpers import DEMO, OTHER

# The seed's list example (FLORA API reference), copied here so that the sandbox's catalog is
# checked against the contract rather than against itself.
SEED_TECHNIQUES = [
    (
        "tech_art-directors-critique",
        "Art Director's Critique",
        "Analyze, critique, and redesign any creative asset.",
    ),
    ("tech_auto-translate", "Auto Translate", "Translate text in images instantly"),
    ("tech_book-drop", "Book Drop", "Mocks up front and back book covers"),
    ("tech_cctv-cam", "CCTV Cam", "Any face, CCTV style"),
    ("tech_character-lock", "Character Lock", "One character, 6 different angles"),
    (
        "tech_cinematic-movie-generator",
        "Cinematic Movie Stills",
        "Generate film-quality scene stills",
    ),
    ("tech_color-mapping", "Segment Mapper", "Color-codes every element in your image"),
    ("tech_color-transfer", "Color Transfer", "Apply color grading from any reference"),
    ("tech_earth-zoom-out", "Earth Zoom Out", "Zoom out to space from any scene"),
    ("tech_facade-swap", "Facade Swap", "Reskin buildings with new materials"),
    ("tech_fit-checks", "Fit Check", "Extract outfits & swap onto new looks"),
    ("tech_glam-shots", "Glam Shots", "Create polished makeup ads instantly"),
    ("tech_icon-pack", "Icon Pack", "Generate matched icon sets from a prompt"),
    (
        "tech_live-like-an-amsterdammer",
        "Live like an Amsterdammer",
        "Places you into everyday Amsterdam scenes",
    ),
    ("tech_location-scouter", "Location Scout", "Scouts five views from a single location"),
    ("tech_logo-stylist", "Logo Stylist", "Stylize any logo with a new visual twist"),
    ("tech_memoji-me", "Memoji Me", "Turn any face into a custom memoji"),
    ("tech_moodboard-maker", "Mood Board Maker", "Eclectic mood board from a photo"),
    ("tech_mugshot", "Mugshot", "Turn any portrait into a mugshot"),
    ("tech_palette-pull", "Palette Pull", "Extract color palettes from any image"),
    ("tech_product-animator", "Product Animator", "Animate your product"),
    (
        "tech_product-lookbook-grid",
        "Product Lookbook Grid",
        "Turn products into styled grid layouts",
    ),
    ("tech_product-motion", "Product Motion", "Animate product shots in one click"),
    ("tech_quick-reframe", "Layout Resizer", "Resize layouts for any aspect ratio"),
    ("tech_relight-technique", "Relighting", "Relights your photo"),
    ("tech_room-render", "Room Render", "Turn floor plans into realistic rooms"),
    ("tech_seamless-transition", "Seamless Transition", "Animate between any two frames"),
    ("tech_sigil", "Sigil", "Turns any image into an animated glyph"),
    ("tech_sketch-to-garment", "Garment Sketch", "One sketch, one final garment."),
    ("tech_studio-blur", "Studio Blur", "Add pro depth-of-field blur to photos"),
    ("tech_studio-shot", "Studio Shot", "Turns any product into a studio-lit shoot"),
    ("tech_tarot-pull", "Tarot Pull", "Custom illustrated tarot card readings"),
    ("tech_texture-matchers", "Texture Match", "Replicate textures & colors across assets"),
    (
        "tech_turn-any-product-into-4-ad-visuals",
        "Turn any product into 4 ad visuals",
        "Make a full ad campaign from 1 product",
    ),
    ("tech_ugc-creation", "UGC Creator", "Casual, phone-shot clips of your product"),
    ("tech_video-scene-builder", "Video Scene Builder", "Compose video scenes from still assets"),
    ("tech_wireframe", "Photo Wireframe", "Turn any photo into a clean wireframe"),
    ("tech_wonder-fy", "Wonder(fy)", "Apply Wonder's cinematic style to images"),
]
BRAND_ONLY = {"tech_logo-stylist", "tech_texture-matchers", "tech_wonder-fy"}


def _all_techniques(api, key=DEMO, **params):
    techniques, cursor = [], None
    while True:
        query = dict(params, limit=100) if cursor is None else dict(params, cursor=cursor)
        body = api.get("/techniques", key=key, **query).json()
        techniques += body["techniques"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return techniques


def test_it_lists_the_seeds_techniques_in_order(api):
    techniques = _all_techniques(api)

    assert [(t["technique_id"], t["name"], t["description"]) for t in techniques] == [
        tuple(row) for row in SEED_TECHNIQUES
    ]


def test_every_technique_parses_as_the_clients_model(api):
    for technique in _all_techniques(api):
        parsed = flora.Technique.model_validate(technique)
        assert parsed.inputs and parsed.outputs
        assert 0.02 <= parsed.run_cost <= 1.50


def test_the_catalog_covers_every_schema_feature(api):
    techniques = _all_techniques(api)
    inputs = [item for t in techniques for item in t["inputs"]]
    outputs = [item for t in techniques for item in t["outputs"]]

    assert {item["type"] for item in outputs} == {
        "imageUrl",
        "videoUrl",
        "audioUrl",
        "text",
        "documentUrl",
    }
    assert {"text", "imageUrl", "videoUrl", "audioUrl", "documentUrl"} <= {
        item["type"] for item in inputs
    }
    assert any(item.get("optional") for item in inputs)
    assert any(item.get("allow_multiple") and item["type"] == "imageUrl" for item in inputs)
    assert any(item.get("accepts_element") for item in inputs)
    assert any("specified_aspect_ratio" in item for item in outputs)
    assert any("specified_duration" in item for item in outputs)
    assert len({t["run_cost"] for t in techniques}) > 10
    # audio/document inputs cannot be sent through the run API, so they are never required.
    assert all(
        item.get("optional") for item in inputs if item["type"] in ("audioUrl", "documentUrl")
    )


def test_schemas_fit_the_descriptions(api):
    def get(technique_id):
        return api.get(f"/techniques/{technique_id}").json()

    transition = get("tech_seamless-transition")
    assert [i["type"] for i in transition["inputs"] if not i.get("optional")] == [
        "imageUrl",
        "imageUrl",
    ]
    assert [o["type"] for o in transition["outputs"]] == ["videoUrl"]
    assert [o["type"] for o in get("tech_palette-pull")["outputs"]] == ["imageUrl", "text"]
    assert [i["type"] for i in get("tech_tarot-pull")["inputs"]] == ["text"]
    animator = get("tech_product-animator")["outputs"][0]
    assert (animator["type"], animator["specified_duration"]) == ("videoUrl", 5)
    assert [i["type"] for i in get("tech_quick-reframe")["inputs"]] == ["imageUrl", "text"]


def test_it_paginates_twenty_by_default(api):
    first = api.get("/techniques").json()
    second = api.get("/techniques", cursor=first["meta"]["next_cursor"]).json()

    assert len(first["techniques"]) == 20
    assert first["meta"]["total_estimate"] == 38
    assert len(second["techniques"]) == 18
    assert second["meta"]["next_cursor"] is None
    assert first["techniques"][-1]["technique_id"] < second["techniques"][0]["technique_id"]


def test_the_client_page_model_walks_every_page(api):
    ids = [t["technique_id"] for t in _all_techniques(api, limit=7)]

    assert len(ids) == len(set(ids)) == 38


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "2.5"])
def test_it_rejects_a_bad_limit(api, limit):
    response = api.get("/techniques", limit=limit)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "input_validation_error"
    assert response.json()["error"]["fields"][0]["field"] == "limit"


@pytest.mark.parametrize("cursor", ["garbage!", "eyJub3BlIjoxfQ", "eyJvZmZzZXQiOiItMSJ9"])
def test_it_rejects_a_bad_cursor(api, cursor):
    response = api.get("/techniques", cursor=cursor)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == [{"field": "cursor", "message": "Invalid cursor"}]


def test_it_accepts_a_limit_of_one_hundred(api):
    body = api.get("/techniques", limit="100").json()

    assert len(body["techniques"]) == 38
    assert body["meta"]["next_cursor"] is None


def test_it_searches_names_and_descriptions_case_insensitively(api):
    by_name = api.get("/techniques", query="PRODUCT").json()["techniques"]
    by_description = api.get("/techniques", query="floor plans").json()["techniques"]

    assert {t["technique_id"] for t in by_name} == {
        "tech_product-animator",
        "tech_product-lookbook-grid",
        "tech_product-motion",
        "tech_turn-any-product-into-4-ad-visuals",
        "tech_ugc-creation",
        "tech_studio-shot",
    }
    assert [t["technique_id"] for t in by_description] == ["tech_room-render"]
    assert api.get("/techniques", query="zzz-nothing").json() == {
        "techniques": [],
        "meta": {"next_cursor": None, "total_estimate": 0},
    }


def test_a_workspace_filter_shows_that_workspaces_techniques(api):
    demo = {t["technique_id"] for t in _all_techniques(api, workspace_id="ws_demo")}
    brand = {t["technique_id"] for t in _all_techniques(api, workspace_id="ws_brand")}

    assert len(brand) == 38
    assert brand - demo == BRAND_ONLY


def test_brand_only_techniques_are_hidden_from_other_customers(api):
    ids = {t["technique_id"] for t in _all_techniques(api, key=OTHER)}

    assert len(ids) == 35
    assert not ids & BRAND_ONLY
    assert api.get("/techniques/tech_logo-stylist", key=OTHER).status_code == 404


def test_it_forbids_a_workspace_the_key_cannot_see(api):
    response = api.get("/techniques", workspace_id="ws_other")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("technique_id", ["tech_cctv-cam", "cctv-cam"])
def test_it_gets_a_technique_by_id_or_slug(api, technique_id):
    response = api.get(f"/techniques/{technique_id}")

    assert response.status_code == 200
    technique = flora.Technique.model_validate(response.json())
    assert (technique.technique_id, technique.name) == ("tech_cctv-cam", "CCTV Cam")


def test_it_answers_404_for_an_unknown_technique(api):
    response = api.get("/techniques/tech_nope")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
