"""The run form generated from a technique's inputs: fields, values, bad values, intent keys."""

from __future__ import annotations

import pytest

from flora import Technique
from techniques.fields import guidance_for
from techniques.forms import (
    MAX_RUNS_PER_SUBMISSION,
    RunForm,
    intent_from_token,
    new_intent_token,
)

pytestmark = pytest.mark.django_db

TECHNIQUE = Technique.model_validate(
    {
        "technique_id": "tech_everything",
        "name": "Everything",
        "run_cost": 0.25,
        "inputs": [
            {"id": "prompt", "name": "Prompt", "type": "text", "description": "What to make."},
            {"id": "photo", "name": "Photo", "type": "imageUrl", "specified_aspect_ratio": "4:5"},
            {"id": "clip", "name": "Clip", "type": "videoUrl", "specified_duration": 5},
            {"id": "face", "name": "Face", "type": "imageUrl", "accepts_element": True},
            {"id": "note", "name": "Note", "type": "text", "optional": True},
            {"id": "extra", "name": "Extra", "type": "imageUrl", "optional": True},
            {"id": "music", "name": "Music", "type": "audioUrl", "optional": True},
            {"id": "brief", "name": "Brief", "type": "documentUrl", "optional": True},
        ],
        "outputs": [{"id": "out", "name": "Out", "type": "imageUrl"}],
    }
)
MULTI = Technique.model_validate(
    {
        "technique_id": "tech_multi",
        "name": "Multi",
        "run_cost": 0.22,
        "inputs": [
            {"id": "products", "name": "Products", "type": "imageUrl", "allow_multiple": True},
            {"id": "theme", "name": "Theme", "type": "text", "optional": True},
            {
                "id": "styles",
                "name": "Styles",
                "type": "text",
                "allow_multiple": True,
                "optional": True,
            },
        ],
        "outputs": [],
    }
)
GOOD = {
    "prompt": "A red bicycle\nunder the rain",
    "photo": "https://cdn.example.com/a.jpg",
    "clip": "https://cdn.example.com/a.mp4",
    "face": "el_face_42",
}


def _form(team, values: dict[str, str], technique: Technique = TECHNIQUE, **extra) -> RunForm:
    data = {
        "intent": new_intent_token(team, technique.technique_id),
        "workspace": "ws_demo",
        **{f"in_{key}": value for key, value in values.items()},
        **extra,
    }
    return RunForm(data, technique=technique, team=team, workspace_id="ws_demo")


def test_one_field_per_input_in_schema_order_with_labels_and_descriptions(team_a):
    form = RunForm(technique=TECHNIQUE, team=team_a, workspace_id="ws_demo")
    fields = form.input_fields()
    assert [f.name for f in fields] == [f"in_{io.id}" for io in TECHNIQUE.inputs]
    assert [f.label for f in fields] == [io.name for io in TECHNIQUE.inputs]
    html = {f.name: str(f) for f in fields}
    assert html["in_prompt"].startswith("<textarea")
    assert 'aria-describedby="id_in_prompt_helptext"' in html["in_prompt"]
    assert 'type="url"' in html["in_photo"] and 'data-preview="image"' in html["in_photo"]
    assert 'type="url"' in html["in_clip"] and "data-preview" not in html["in_clip"]
    # An element id is not a URL: the browser must not refuse it.
    assert 'type="text"' in html["in_face"] and 'placeholder="el_… or https://…"' in html["in_face"]
    assert "required" in html["in_prompt"] and "required" not in html["in_note"]
    # A required image may be a file instead of a link (issue 15): the server checks it.
    assert "required" not in html["in_photo"]
    assert "disabled" in html["in_music"] and "disabled" in html["in_brief"]
    assert form["workspace"].value() == "ws_demo"


def test_guidance_names_aspect_ratio_and_duration():
    photo, clip = TECHNIQUE.inputs[1], TECHNIQUE.inputs[2]
    assert guidance_for(photo) == "4:5 image"
    assert guidance_for(clip) == "5 s video"
    both = clip.model_copy(update={"specified_aspect_ratio": "16:9"})
    assert guidance_for(both) == "16:9 video, 5 s"
    assert guidance_for(TECHNIQUE.inputs[0]) == ""


def test_valid_values_make_one_run_and_leave_empty_optionals_out(team_a):
    form = _form(team_a, {**GOOD, "note": "   ", "extra": ""})
    assert form.is_valid(), form.errors
    assert form.plan == [
        [
            {"id": "prompt", "type": "text", "value": "A red bicycle\nunder the rain"},
            {"id": "photo", "type": "imageUrl", "value": "https://cdn.example.com/a.jpg"},
            {"id": "clip", "type": "videoUrl", "value": "https://cdn.example.com/a.mp4"},
            {"id": "face", "type": "imageUrl", "value": "el_face_42"},
        ]
    ]
    assert form.run_count == 1 and not form.needs_confirmation
    assert form.total_price == pytest.approx(0.25)


def test_filled_optionals_are_sent(team_a):
    form = _form(team_a, {**GOOD, "note": " soft light ", "extra": "https://x.example/b.png"})
    assert form.is_valid(), form.errors
    sent = {item["id"]: item["value"] for item in form.plan[0]}
    assert sent["note"] == "soft light" and sent["extra"] == "https://x.example/b.png"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("photo", "data:image/png;base64,iVBORw0KGgo=", "data: URLs are not accepted"),
        ("photo", "DATA:image/png;base64,AAAA", "data: URLs are not accepted"),
        ("photo", "http://cdn.example.com/a.jpg", "Use an https:// link"),
        ("photo", "ftp://cdn.example.com/a.jpg", "Enter a full https:// link"),
        ("photo", "cdn.example.com/a.jpg", "Enter a full https:// link"),
        ("photo", "https://", "Enter a full https:// link"),
        ("photo", "https://cdn.example.com/a b.jpg", "cannot contain spaces"),
        ("photo", "https://cdn.example.com/" + "a" * 2100, "too long"),
        ("photo", "https://[::1", "Enter a valid https:// link"),
        ("clip", "javascript:alert(1)", "Enter a full https:// link"),
        ("clip", "el_123", "Enter a full https:// link"),  # only accepts_element inputs
        ("face", "el_", "Enter a full https:// link"),
        ("prompt", "x" * 4001, "At most 4000 characters"),
        ("prompt", "   ", "Prompt is required."),
        ("photo", "", "Photo is required."),
    ],
)
def test_bad_values_get_a_clear_message_on_their_field(team_a, field, value, message):
    form = _form(team_a, {**GOOD, field: value})
    assert not form.is_valid()
    assert message in " ".join(form.errors[f"in_{field}"])
    assert form.plan == []


def test_unsupported_optional_inputs_are_left_out_and_refuse_a_value(team_a):
    form = _form(team_a, GOOD)
    assert form.is_valid()
    assert "music" not in {item["id"] for item in form.plan[0]}

    forged = _form(team_a, {**GOOD, "music": "https://cdn.example.com/a.wav"})
    assert not forged.is_valid()
    assert forged.errors["in_music"] == [
        "FLORA's run API does not accept audio inputs: leave this empty."
    ]
    forged = _form(team_a, {**GOOD, "brief": "https://cdn.example.com/a.pdf"})
    assert "does not accept document inputs" in forged.errors["in_brief"][0]


def test_a_required_unsupported_input_blocks_the_form(team_a):
    technique = Technique.model_validate(
        {
            "technique_id": "tech_voice",
            "name": "Voice Over",
            "run_cost": 1,
            "inputs": [
                {"id": "script", "name": "Script", "type": "text"},
                {"id": "voice", "name": "Voice sample", "type": "audioUrl"},
                {"id": "deck", "name": "Deck", "type": "modelUrl"},
            ],
            "outputs": [],
        }
    )
    assert [io.id for io in RunForm(technique=technique, team=team_a).blocking_inputs] == [
        "voice",
        "deck",
    ]
    form = _form(team_a, {"script": "Hello"}, technique)
    assert not form.is_valid()
    assert form.non_field_errors() == [
        "This technique needs Voice sample (audio), Deck (modelUrl), which FLORA's run API "
        "does not accept yet, so it cannot be run from the dashboard."
    ]


def test_multiple_values_one_per_line_start_one_run_each(team_a):
    form = _form(
        team_a,
        {
            "products": "https://a.example/1.png\n\n  https://a.example/2.png \r\nhttps://a.example/3.png\n"
        },
        MULTI,
    )
    assert form.is_valid(), form.errors
    assert [run[0]["value"] for run in form.plan] == [
        "https://a.example/1.png",
        "https://a.example/2.png",
        "https://a.example/3.png",
    ]
    assert form.run_count == 3
    assert str(form.total_price) == "0.66"
    assert form.needs_confirmation  # nobody has seen "3 runs" priced yet


def test_the_confirmed_count_must_match(team_a):
    lines = "https://a.example/1.png\nhttps://a.example/2.png"
    confirmed = _form(team_a, {"products": lines}, MULTI, confirmed_runs="2")
    assert confirmed.is_valid() and not confirmed.needs_confirmation
    stale = _form(team_a, {"products": lines}, MULTI, confirmed_runs="3")
    assert stale.is_valid() and stale.needs_confirmation


def test_several_multiple_inputs_multiply_and_are_capped(team_a):
    form = _form(
        team_a,
        {"products": "https://a.example/1.png\nhttps://a.example/2.png", "styles": "warm\ncold"},
        MULTI,
    )
    assert form.is_valid(), form.errors
    assert [(r[0]["value"][-5:], r[1]["value"]) for r in form.plan] == [
        ("1.png", "warm"),
        ("1.png", "cold"),
        ("2.png", "warm"),
        ("2.png", "cold"),
    ]
    many = "\n".join(f"https://a.example/{n}.png" for n in range(MAX_RUNS_PER_SUBMISSION + 1))
    too_many = _form(team_a, {"products": many}, MULTI)
    assert not too_many.is_valid()
    assert too_many.non_field_errors() == [
        "That would start 11 runs; at most 10 can be started at once. Remove some lines."
    ]


def test_each_bad_line_is_named(team_a):
    form = _form(team_a, {"products": "https://a.example/1.png\nhttp://a.example/2.png"}, MULTI)
    assert not form.is_valid()
    assert form.errors["in_products"] == [
        "Line 2: Use an https:// link: FLORA only fetches media over a secure connection."
    ]


def test_the_intent_token_is_bound_to_team_and_technique(team_a, team_b):
    token = new_intent_token(team_a, TECHNIQUE.technique_id)
    intent = intent_from_token(team_a, TECHNIQUE.technique_id, token)
    assert intent and token.startswith(intent + ":")
    assert new_intent_token(team_a, TECHNIQUE.technique_id) != token  # random per form
    assert intent_from_token(team_b, TECHNIQUE.technique_id, token) is None
    assert intent_from_token(team_a, "tech_other", token) is None
    assert intent_from_token(team_a, TECHNIQUE.technique_id, intent + ":forged") is None
    assert intent_from_token(team_a, TECHNIQUE.technique_id, "") is None


@pytest.mark.parametrize("token", ["", "made-up", "abc:def"])
def test_a_form_without_a_valid_intent_is_refused(team_a, token):
    form = _form(team_a, GOOD, intent=token)
    assert not form.is_valid()
    assert "This form was out of date, so nothing was started." in form.errors["intent"][0]
    form.renew_intent()
    assert intent_from_token(team_a, TECHNIQUE.technique_id, form["intent"].value())


def test_flora_field_errors_land_on_their_fields(team_a):
    form = _form(team_a, GOOD)
    assert form.is_valid()
    rest = form.add_flora_field_errors(
        [{"field": "prompt", "message": "Too vague"}, {"field": "mode", "message": "Required"}]
    )
    assert form.errors["in_prompt"] == ["FLORA: Too vague"]
    assert rest == ["mode: Required"]


def test_prefilled_values_for_run_again(team_a):
    form = RunForm(
        technique=MULTI,
        team=team_a,
        initial_inputs={"products": ["https://a.example/1.png", "https://a.example/2.png"]},
    )
    assert form["in_products"].value() == "https://a.example/1.png\nhttps://a.example/2.png"
