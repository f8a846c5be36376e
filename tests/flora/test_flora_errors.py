from __future__ import annotations

import pytest
import respx

import flora
from flora import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Flora,
    FloraError,
    IdempotencyConflictError,
    IdempotencyDuplicateError,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from tests.flora.flora_payloads import API_KEY, run_json

NGINX_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def _error(code: str, message: str = "Something.") -> dict[str, object]:
    return {"error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "input_validation_error", BadRequestError),
        (400, "invalid_json", BadRequestError),
        (401, "unauthorized", AuthenticationError),
        (401, "invalid_api_key", AuthenticationError),
        (402, "insufficient_credits", InsufficientCreditsError),
        (403, "forbidden", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (405, "method_not_allowed", APIStatusError),
        (409, "conflict", ConflictError),
        (409, "idempotency_duplicate", IdempotencyDuplicateError),
        (418, "teapot", APIStatusError),
        (422, "unprocessable", UnprocessableEntityError),
        (422, "idempotency_conflict", IdempotencyConflictError),
        (429, "rate_limited", RateLimitError),
        (500, "unknown_error", InternalServerError),
        (503, "service_unavailable", InternalServerError),
    ],
)
def test_each_status_maps_to_its_class(
    client: Flora, api: respx.MockRouter, status: int, code: str, cls: type[APIStatusError]
) -> None:
    client.max_retries = 0
    api.get("/techniques/t").respond(status, json=_error(code))
    with pytest.raises(APIStatusError) as excinfo:
        client.techniques.retrieve("t")
    assert type(excinfo.value) is cls
    assert excinfo.value.status_code == status
    assert excinfo.value.code == code


def test_an_idempotency_duplicate_is_still_a_conflict(client: Flora, api: respx.MockRouter) -> None:
    api.post("/techniques/t/runs").respond(409, json=_error("idempotency_duplicate"))
    with pytest.raises(ConflictError) as excinfo:
        client.techniques.runs.create("t", inputs=[])
    assert isinstance(excinfo.value, IdempotencyDuplicateError)


def test_a_code_does_not_override_a_disagreeing_status(
    client: Flora, api: respx.MockRouter
) -> None:
    api.get("/techniques/t").respond(400, json=_error("idempotency_duplicate"))
    with pytest.raises(BadRequestError) as excinfo:
        client.techniques.retrieve("t")
    assert not isinstance(excinfo.value, ConflictError)


def test_the_hierarchy() -> None:
    for cls in (BadRequestError, RateLimitError, InternalServerError, IdempotencyDuplicateError):
        assert issubclass(cls, APIStatusError)
    assert issubclass(APIStatusError, APIError)
    assert issubclass(APIError, FloraError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(APIResponseValidationError, APIError)
    assert issubclass(flora.WebhookVerificationError, FloraError)


def test_error_attributes_come_from_the_body_and_headers(
    client: Flora, api: respx.MockRouter
) -> None:
    api.post("/techniques/t/runs").respond(
        400,
        headers={"request-id": "req_123"},
        json={
            "error": {
                "code": "input_validation_error",
                "message": "prompt: Required",
                "fields": [{"field": "prompt", "message": "Required"}],
            }
        },
    )
    with pytest.raises(BadRequestError) as excinfo:
        client.techniques.runs.create("t", inputs=[])
    error = excinfo.value
    assert error.message == "prompt: Required"
    assert error.fields == [{"field": "prompt", "message": "Required"}]
    assert error.request_id == "req_123"
    assert error.response.status_code == 400
    assert error.retry_after is None


def test_str_names_status_code_message_and_request_id(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t").respond(
        404, headers={"request-id": "req_404"}, json=_error("not_found", "Not found.")
    )
    with pytest.raises(NotFoundError) as excinfo:
        client.techniques.retrieve("t")
    assert str(excinfo.value) == "HTTP 404 not_found: Not found. (request id req_404)"


def test_rate_limit_error_carries_retry_after(client: Flora, api: respx.MockRouter) -> None:
    client.max_retries = 0
    api.get("/techniques/t").respond(429, headers={"Retry-After": "7"}, json=_error("rate_limited"))
    with pytest.raises(RateLimitError) as excinfo:
        client.techniques.retrieve("t")
    assert excinfo.value.retry_after == 7.0


def test_an_html_502_gives_a_readable_message(client: Flora, api: respx.MockRouter) -> None:
    client.max_retries = 0
    api.get("/techniques/t").respond(
        502, headers={"content-type": "text/html", "request-id": "req_gw"}, text=NGINX_502
    )
    with pytest.raises(InternalServerError) as excinfo:
        client.techniques.retrieve("t")
    error = excinfo.value
    assert error.status_code == 502
    assert error.code is None
    assert error.message == "HTTP 502 from FLORA (non-JSON body): 502 Bad Gateway"
    assert "<" not in str(error)
    assert "req_gw" in str(error)


def test_html_without_a_title_is_stripped_and_trimmed(client: Flora, api: respx.MockRouter) -> None:
    client.max_retries = 0
    page = "<body><script>var x = 1;</script><p>Upstream &amp; down</p>" + "<p>x</p>" * 500
    api.get("/techniques/t").respond(503, text=page)
    with pytest.raises(InternalServerError) as excinfo:
        client.techniques.retrieve("t")
    message = excinfo.value.message
    assert message.startswith("HTTP 503 from FLORA (non-JSON body): Upstream & down x x")
    assert "var x" not in message
    assert "<" not in message
    assert len(message) < 300


def test_an_empty_error_body(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t").respond(403)
    with pytest.raises(PermissionDeniedError) as excinfo:
        client.techniques.retrieve("t")
    assert excinfo.value.message == "HTTP 403 from FLORA (non-JSON body)"


def test_json_error_without_the_envelope(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t").respond(404, json={"message": "no route"})
    with pytest.raises(NotFoundError) as excinfo:
        client.techniques.retrieve("t")
    assert excinfo.value.message == "no route"
    assert excinfo.value.code is None


def test_an_echoed_key_is_redacted_from_the_message(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t").respond(
        401, json=_error("invalid_api_key", f"Key {API_KEY} is not valid.")
    )
    with pytest.raises(AuthenticationError) as excinfo:
        client.techniques.retrieve("t")
    assert API_KEY not in str(excinfo.value)
    assert "[redacted]" in excinfo.value.message


def test_malformed_json_on_2xx_is_a_validation_error(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t").respond(
        200, headers={"content-type": "application/json", "request-id": "req_bad"}, text="{oops"
    )
    with pytest.raises(APIResponseValidationError) as excinfo:
        client.techniques.retrieve("t")
    assert excinfo.value.status_code == 200
    assert excinfo.value.request_id == "req_bad"


def test_html_on_2xx_is_a_validation_error(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t").respond(
        200, headers={"content-type": "text/html"}, text="<html>login</html>"
    )
    with pytest.raises(APIResponseValidationError, match="text/html"):
        client.techniques.retrieve("t")


def test_a_missing_required_field_is_a_validation_error(
    client: Flora, api: respx.MockRouter
) -> None:
    body = run_json()
    del body["run_id"]
    api.get("/techniques/t/runs/r").respond(json=body)
    with pytest.raises(APIResponseValidationError, match="run_id"):
        client.techniques.runs.retrieve("r", technique_id="t")


def test_a_wrongly_typed_field_is_a_validation_error(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t/runs/r").respond(json=run_json(progress="half"))
    with pytest.raises(APIResponseValidationError, match="progress"):
        client.techniques.runs.retrieve("r", technique_id="t")


def test_a_list_without_its_envelope_is_a_validation_error(
    client: Flora, api: respx.MockRouter
) -> None:
    api.get("/techniques").respond(json=[{"technique_id": "t"}])
    with pytest.raises(APIResponseValidationError, match="techniques"):
        client.techniques.list()


def test_a_json_array_for_a_single_object_is_a_validation_error(
    client: Flora, api: respx.MockRouter
) -> None:
    api.get("/techniques/t").respond(json=[])
    with pytest.raises(APIResponseValidationError):
        client.techniques.retrieve("t")
