"""POST /techniques/{techniqueId}/runs: what it refuses in the body, inputs and callback_url."""

from __future__ import annotations

import pytest

from sandbox.models import SandboxRun
from tests.sandbox.sandbox_helpers import IMAGE
from tests.sandbox.sandbox_helpers import validation_fields as _fields


def test_it_rejects_invalid_json(api):
    response = api.post("/techniques/tech_palette-pull/runs", "{not json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_it_rejects_a_body_that_is_not_an_object(api):
    response = api.post("/techniques/tech_palette-pull/runs", "[1, 2]")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_it_reports_every_problem_with_one_field_entry_each(api):
    inputs = [
        {"id": "aspect_ratio", "type": "imageUrl", "value": IMAGE},
        {"id": "colour", "type": "text", "value": "red"},
        {"id": "layout", "type": "imageUrl", "value": "http://cdn.example.com/a.png"},
    ]
    response = api.start_run("tech_quick-reframe", inputs)

    fields = _fields(response)
    assert fields == {
        "aspect_ratio": "Expected type text, got imageUrl",
        "colour": fields["colour"],
        "layout": "Expected an https:// URL",
    }
    assert fields["colour"].startswith("Unknown input")
    message = response.json()["error"]["message"]
    assert message.startswith("aspect_ratio: Expected type text, got imageUrl; colour: ")


def test_it_requires_required_inputs(api):
    response = api.start_run("tech_book-drop", [{"id": "title", "type": "text", "value": "Dune"}])

    assert _fields(response) == {"cover_art": "Required"}
    assert response.json()["error"]["message"] == "cover_art: Required"


def test_optional_inputs_may_be_left_out(api):
    inputs = [
        {"id": "cover_art", "type": "imageUrl", "value": IMAGE},
        {"id": "title", "type": "text", "value": "Dune"},
    ]

    assert api.start_run("tech_book-drop", inputs).status_code == 201


def test_it_rejects_empty_text(api):
    response = api.start_run("tech_tarot-pull", [{"id": "question", "type": "text", "value": " "}])

    assert _fields(response)["question"].startswith("Must not be empty")


def test_it_rejects_data_urls(api):
    inputs = [{"id": "image", "type": "imageUrl", "value": "data:image/png;base64,iVBORw0KGgo="}]

    assert _fields(api.start_run(inputs=inputs))["image"].startswith("data: URLs are not accepted")


@pytest.mark.parametrize("kind", ["audioUrl", "documentUrl", "bogus"])
def test_it_accepts_only_text_image_and_video_inputs(api, kind):
    inputs = [
        {"id": "asset", "type": "imageUrl", "value": IMAGE},
        {"id": "guidelines", "type": kind, "value": "https://cdn.example.com/brand.pdf"},
    ]
    response = api.start_run("tech_art-directors-critique", inputs)

    assert _fields(response)["guidelines"].startswith(
        "Run inputs accept only the types text, imageUrl, videoUrl"
    )


def test_an_audio_input_of_the_schema_cannot_be_sent(api):
    inputs = [
        {"id": "product", "type": "imageUrl", "value": IMAGE},
        {"id": "script", "type": "text", "value": "Love it"},
        {"id": "voiceover", "type": "videoUrl", "value": "https://cdn.example.com/v.mp4"},
    ]
    message = _fields(api.start_run("tech_ugc-creation", inputs))["voiceover"]

    assert "Run inputs accept only the types text, imageUrl, videoUrl" in message


def test_it_checks_choices_of_text_inputs(api):
    inputs = [
        {"id": "layout", "type": "imageUrl", "value": IMAGE},
        {"id": "aspect_ratio", "type": "text", "value": "square"},
    ]

    assert _fields(api.start_run("tech_quick-reframe", inputs))["aspect_ratio"].startswith(
        "Expected one of 1:1"
    )


def test_repeated_inputs_need_allow_multiple(api):
    twice = [
        {"id": "image", "type": "imageUrl", "value": IMAGE},
        {"id": "image", "type": "imageUrl", "value": IMAGE},
    ]
    products = [
        {"id": "products", "type": "imageUrl", "value": IMAGE},
        {"id": "products", "type": "imageUrl", "value": "https://cdn.example.com/b.jpg"},
    ]

    assert _fields(api.start_run(inputs=twice)) == {"image": "Given more than once"}
    assert api.start_run("tech_product-lookbook-grid", products).status_code == 201


def test_accepts_element_inputs_take_an_element_id(api):
    response = api.start_run(
        "tech_memoji-me", [{"id": "face", "type": "imageUrl", "value": "el_42"}]
    )
    not_element = api.start_run(
        "tech_palette-pull", [{"id": "image", "type": "imageUrl", "value": "el_42"}]
    )

    assert response.status_code == 201
    assert _fields(not_element) == {"image": "Expected an https:// URL"}


def test_it_reports_malformed_input_items(api):
    response = api.start_run(inputs=[{"id": "image", "type": "imageUrl"}, "nope"])

    fields = _fields(response)
    assert fields["inputs[0].value"] == "Required"
    assert "inputs[1]" in fields
    assert fields["image"] == "Required"


def test_it_requires_inputs_as_a_list(api):
    assert _fields(api.start_run(inputs={"image": IMAGE})) == {"inputs": "Expected an array"}


def test_stream_mode_is_not_available(api):
    fields = _fields(api.start_run(mode="stream"))

    assert "not available" in fields["mode"]


def test_mode_is_required(api):
    response = api.post("/techniques/tech_palette-pull/runs", {"inputs": []})

    assert _fields(response)["mode"] == "Required"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/flora",
        "https://10.0.0.5/hook",
        "https://localhost.internal/hook",
        "ftp://hooks.example.com",
        "not a url",
    ],
)
def test_it_rejects_bad_callback_urls(api, url):
    assert "callback_url" in _fields(api.start_run(callback_url=url))


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/flora",
        "http://127.0.0.1:8000/webhooks/flora",
        "http://localhost:8000/webhooks/flora",
    ],
)
def test_it_accepts_https_and_local_http_callbacks(api, url):
    assert api.start_run(callback_url=url).status_code == 201


def test_local_http_callbacks_need_the_setting(api, settings):
    settings.FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS = False

    response = api.start_run(callback_url="http://127.0.0.1:8000/webhooks/flora")

    assert _fields(response)["callback_url"] == "Expected an https:// URL"


# Loopback and private hosts in the spellings resolvers (and browsers) also accept.
INTERNAL_SPELLINGS = [
    "https://127.1/hook",
    "https://0177.0.0.1/hook",
    "https://0x7f.0.0.1/hook",
    "https://0x7f000001/hook",
    "https://2130706433/hook",
    "https://127.0.0.1./hook",
    "https://10.0.0.1./hook",
    "https://012.0.0.1/hook",
    "https://169.254.169.254./latest",
    "https://localhost./hook",
    "https://app.localhost/hook",
    "https://app.localhost./hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://[0:0:0:0:0:0:0:1]/hook",
    "https://[fe80::1%25eth0]/hook",
    "https://intranet./hook",
    # The local-http allowance is for the plain spellings only.
    "http://127.1:8000/hook",
    "http://localhost.:8000/hook",
    "http://0x7f.0.0.1:8000/hook",
]


@pytest.mark.parametrize("allow_local_http", [True, False])
@pytest.mark.parametrize("url", INTERNAL_SPELLINGS)
def test_it_rejects_internal_hosts_in_every_spelling(api, settings, url, allow_local_http):
    settings.FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS = allow_local_http
    assert "callback_url" in _fields(api.start_run(callback_url=url))
    assert SandboxRun.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["https://1.1.1.1/hook", "https://0x01.0x01.0x01.0x01/hook", "https://hooks.example.com./"],
)
def test_public_hosts_in_other_spellings_are_still_accepted(api, url):
    assert api.start_run(callback_url=url).status_code == 201
