from __future__ import annotations

import datetime
import email.utils
import json
import logging

import httpx
import pytest
import respx

import flora._base
from flora import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    Flora,
    IdempotencyDuplicateError,
    InternalServerError,
    RateLimitError,
)
from tests.flora.flora_payloads import API_KEY, run_json, technique_json

OK = httpx.Response(200, json=technique_json("t"))


def _fail(status: int, **headers: str) -> httpx.Response:
    body = {"error": {"code": "some_error", "message": "Failed."}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flora._base.random, "random", lambda: 0.0)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_it_retries_retryable_statuses_then_succeeds(
    client: Flora, api: respx.MockRouter, sleeps: list[float], status: int
) -> None:
    route = api.get("/techniques/t").mock(side_effect=[_fail(status), OK])
    assert client.techniques.retrieve("t").technique_id == "t"
    assert route.call_count == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 422])
def test_it_never_retries_client_errors(
    client: Flora, api: respx.MockRouter, sleeps: list[float], status: int
) -> None:
    route = api.post("/techniques/t/runs").mock(side_effect=[_fail(status), OK])
    with pytest.raises(APIStatusError):
        client.techniques.runs.create("t", inputs=[])
    assert route.call_count == 1
    assert sleeps == []


def test_it_gives_up_after_max_retries(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get("/techniques/t").mock(return_value=_fail(500))
    with pytest.raises(InternalServerError):
        client.techniques.retrieve("t")
    assert route.call_count == 3
    assert len(sleeps) == 2


def test_max_retries_zero_means_one_attempt(api: respx.MockRouter) -> None:
    route = api.get("/techniques/t").mock(return_value=_fail(503))
    client = Flora(api_key=API_KEY, base_url="https://flora.test/api/v1", max_retries=0)
    with client, pytest.raises(InternalServerError):
        client.techniques.retrieve("t")
    assert route.call_count == 1


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError):
        Flora(api_key=API_KEY, max_retries=-1)


def test_retry_after_in_seconds_is_obeyed(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    api.get("/techniques/t").mock(side_effect=[_fail(429, **{"Retry-After": "3"}), OK])
    client.techniques.retrieve("t")
    assert sleeps == [3.0]


def test_retry_after_as_an_http_date_is_obeyed(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=20)
    header = email.utils.format_datetime(when, usegmt=True)
    api.get("/techniques/t").mock(side_effect=[_fail(503, **{"Retry-After": header}), OK])
    client.techniques.retrieve("t")
    assert 17 <= sleeps[0] <= 20


def test_retry_after_in_the_past_means_no_wait(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    header = "Wed, 21 Oct 2015 07:28:00 GMT"
    api.get("/techniques/t").mock(side_effect=[_fail(429, **{"Retry-After": header}), OK])
    client.techniques.retrieve("t")
    assert sleeps == [0.0]


def test_retry_after_ms_is_obeyed_and_wins(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    first = _fail(429, **{"retry-after-ms": "1500", "Retry-After": "30"})
    api.get("/techniques/t").mock(side_effect=[first, OK])
    client.techniques.retrieve("t")
    assert sleeps == [1.5]


def test_a_long_retry_after_is_capped_at_60_seconds(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    api.get("/techniques/t").mock(side_effect=[_fail(429, **{"Retry-After": "3600"}), OK])
    client.techniques.retrieve("t")
    assert sleeps == [60.0]


def test_a_garbled_retry_after_falls_back_to_backoff(
    client: Flora, api: respx.MockRouter, sleeps: list[float], no_jitter: None
) -> None:
    api.get("/techniques/t").mock(side_effect=[_fail(503, **{"Retry-After": "soon"}), OK])
    client.techniques.retrieve("t")
    assert sleeps == [0.5]


def test_backoff_doubles_up_to_8_seconds(
    api: respx.MockRouter, sleeps: list[float], no_jitter: None
) -> None:
    api.get("/techniques/t").mock(return_value=_fail(500))
    with Flora(api_key=API_KEY, base_url="https://flora.test/api/v1", max_retries=6) as client:
        client._sleep = sleeps.append
        with pytest.raises(InternalServerError):
            client.techniques.retrieve("t")
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_jitter_takes_at_most_a_quarter(
    client: Flora, api: respx.MockRouter, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flora._base.random, "random", lambda: 0.999999)
    api.get("/techniques/t").mock(return_value=_fail(500))
    with pytest.raises(InternalServerError):
        client.techniques.retrieve("t")
    assert sleeps == pytest.approx([0.375, 0.75], abs=1e-4)


def test_a_429_without_a_hint_backs_off_near_5_seconds(
    client: Flora, api: respx.MockRouter, sleeps: list[float], no_jitter: None
) -> None:
    api.get("/techniques/t").mock(return_value=_fail(429))
    with pytest.raises(RateLimitError):
        client.techniques.retrieve("t")
    assert sleeps == [5.0, 5.0]


def test_x_should_retry_false_stops_a_retry(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get("/techniques/t").mock(side_effect=[_fail(503, **{"x-should-retry": "false"})])
    with pytest.raises(InternalServerError):
        client.techniques.retrieve("t")
    assert route.call_count == 1


def test_x_should_retry_true_forces_a_retry(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get("/techniques/t").mock(
        side_effect=[_fail(400, **{"x-should-retry": "true"}), OK]
    )
    client.techniques.retrieve("t")
    assert route.call_count == 2


def test_a_409_is_never_retried_even_when_the_server_says_so(
    client: Flora, api: respx.MockRouter
) -> None:
    route = api.post("/techniques/t/runs").mock(
        side_effect=[_fail(409, **{"x-should-retry": "true"}), OK]
    )
    with pytest.raises(APIStatusError):
        client.techniques.runs.create("t", inputs=[])
    assert route.call_count == 1


def test_a_timeout_is_retried_then_raised_as_api_timeout_error(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get("/techniques/t").mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(APITimeoutError) as excinfo:
        client.techniques.retrieve("t")
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert isinstance(excinfo.value.__cause__, httpx.ReadTimeout)


def test_a_timeout_then_success(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t").mock(side_effect=[httpx.ConnectTimeout("slow"), OK])
    assert client.techniques.retrieve("t").technique_id == "t"


def test_a_connection_error_is_retried_then_raised(
    client: Flora, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get("/techniques/t").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as excinfo:
        client.techniques.retrieve("t")
    assert not isinstance(excinfo.value, APITimeoutError)
    assert route.call_count == 3
    assert "refused" in str(excinfo.value)
    assert API_KEY not in str(excinfo.value)


def test_a_dropped_connection_then_success(client: Flora, api: respx.MockRouter) -> None:
    api.get("/techniques/t").mock(side_effect=[httpx.RemoteProtocolError("eof"), OK])
    assert client.techniques.retrieve("t").technique_id == "t"


def test_a_post_reuses_one_idempotency_key_on_every_attempt(
    client: Flora, api: respx.MockRouter
) -> None:
    route = api.post("/techniques/t/runs").mock(
        side_effect=[_fail(500), httpx.ReadTimeout("lost"), httpx.Response(201, json=run_json())]
    )
    run = client.techniques.runs.create("t", inputs=[{"id": "p", "type": "text", "value": "v"}])
    assert run.run_id == "run_abc123"
    assert route.call_count == 3
    header_keys = {call.request.headers["idempotency-key"] for call in route.calls}
    body_keys = {json.loads(call.request.content)["idempotency_key"] for call in route.calls}
    assert len(header_keys) == 1
    assert header_keys == body_keys


def test_a_callers_key_is_reused_on_every_attempt(client: Flora, api: respx.MockRouter) -> None:
    route = api.post("/techniques/t/runs").mock(
        side_effect=[httpx.ConnectError("down"), httpx.Response(201, json=run_json())]
    )
    client.techniques.runs.create("t", inputs=[], idempotency_key="intent-7")
    for call in route.calls:
        assert call.request.headers["idempotency-key"] == "intent-7"
        assert json.loads(call.request.content)["idempotency_key"] == "intent-7"


def test_a_post_that_landed_before_a_timeout_surfaces_as_a_duplicate(
    client: Flora, api: respx.MockRouter
) -> None:
    duplicate = {"error": {"code": "idempotency_duplicate", "message": "Duplicate."}}
    route = api.post("/techniques/t/runs").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(409, json=duplicate), OK]
    )
    with pytest.raises(IdempotencyDuplicateError):
        client.techniques.runs.create("t", inputs=[])
    assert route.call_count == 2


def test_each_failed_attempt_logs_one_line_without_the_key(
    client: Flora, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/techniques/t").mock(
        side_effect=[
            _fail(503, **{"request-id": "req_one"}),
            httpx.ConnectError("refused"),
            _fail(502, **{"request-id": "req_three"}),
        ]
    )
    caplog.set_level(logging.DEBUG, logger="flora")
    with pytest.raises(InternalServerError):
        client.techniques.retrieve("t")
    lines = [r.getMessage() for r in caplog.records if r.name == "flora"]
    assert len(lines) == 3
    assert "GET /techniques/t" in lines[0]
    assert "HTTP 503" in lines[0]
    assert "req_one" in lines[0]
    assert "ConnectError" in lines[1]
    assert "HTTP 502" in lines[2]
    assert "req_three" in lines[2]
    assert "giving up" in lines[2]
    assert API_KEY not in caplog.text
    assert "Bearer" not in caplog.text
