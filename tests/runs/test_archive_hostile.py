"""Keeping outputs from a slow, stalled or lying file server (real sockets on 127.0.0.1).

The hostile server stands in for FLORA's file host. It is made the sandbox origin, the one
plain-http loopback address the download guard lets through, so these tests use the real
process-wide download client: its network backend, the socket deadline and the rate floor.
Download limits are shrunk (deadline 2 s, grace 0.5 s) so that each test ends in seconds
whatever the server does; before the fixes each of these took the drip's own limit or kept a
wrong file.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import timedelta

import httpcore
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from florasite.lib import download, public_http
from runs import keeping
from runs.models import OutputKeepStatus, RunOutput
from tests.hostile import drip, lying_length, overlong, steady
from tests.runs.results_helpers import pending_output as _pending

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def quick(monkeypatch):
    """Limits small enough for a test: 2 s for a whole file, 0.5 s before the rate floor."""
    monkeypatch.setattr(download, "DOWNLOAD_DEADLINE", 2.0, raising=False)
    monkeypatch.setattr(download, "STALL_GRACE", 0.5, raising=False)
    monkeypatch.setattr(download, "MIN_RATE", 32 * 1024, raising=False)


def _timed_keep(output: RunOutput) -> tuple[RunOutput, float]:
    started = time.monotonic()
    keeping.keep_output(output.pk)
    took = time.monotonic() - started
    output.refresh_from_db()
    return output, took


def _assert_retried_later(output: RunOutput, words: str) -> None:
    assert output.keep_status == OutputKeepStatus.PENDING
    assert words in output.last_error
    assert not output.file
    # Backoff, not the claim's lease: the next try is a minute away.
    assert output.next_attempt_at > timezone.now() + timedelta(seconds=50)


# --- Slow servers ---------------------------------------------------------------------------


@pytest.mark.parametrize("headers_first", [True, False], ids=["body-drip", "header-drip"])
def test_a_stalled_file_is_given_up_after_the_grace_period(
    team_a, bob, hostile, quick, headers_first
):
    # A byte every 50 ms never trips a read timeout; only the rate floor, on the socket,
    # sees that 20 bytes a second will not do.
    hostile.route(
        "/files/",
        drip(PNG, every=0.05, headers_first=headers_first, limit=8, content_type="image/png"),
    )
    output, took = _timed_keep(_pending(team_a, bob, f"{hostile.url}/files/still.png"))
    _assert_retried_later(output, "arriving too slowly")
    assert took < 3.0  # the drip itself lasts 8 s: far from it, whatever the load


def test_a_whole_file_has_a_deadline_on_the_socket(team_a, bob, hostile, quick, monkeypatch):
    monkeypatch.setattr(download, "MIN_RATE", 1, raising=False)  # the floor out of the way
    monkeypatch.setattr(download, "DOWNLOAD_DEADLINE", 1.0, raising=False)
    hostile.route("/files/", drip(PNG, every=0.05, limit=8, content_type="image/png"))
    output, took = _timed_keep(_pending(team_a, bob, f"{hostile.url}/files/still.png"))
    _assert_retried_later(output, "took too long")
    assert took < 3.0  # the drip itself lasts 8 s: far from it, whatever the load


def test_a_file_arriving_steadily_below_the_floor_is_given_up(team_a, bob, hostile, quick):
    hostile.route("/files/", steady(PNG + os.urandom(40 * 1024), rate=8 * 1024))
    output, took = _timed_keep(_pending(team_a, bob, f"{hostile.url}/files/still.png"))
    _assert_retried_later(output, "arriving too slowly")
    assert took < 3.0  # all of it at that rate takes 5 s


def test_a_large_file_at_a_decent_speed_is_kept(team_a, bob, hostile, quick, monkeypatch):
    monkeypatch.setattr(download, "DOWNLOAD_DEADLINE", 5.0, raising=False)
    body = PNG + os.urandom(300 * 1024)
    hostile.route("/files/", steady(body, rate=400 * 1024))
    output, took = _timed_keep(_pending(team_a, bob, f"{hostile.url}/files/still.png"))
    assert output.keep_status == OutputKeepStatus.KEPT, output.last_error
    assert output.size == len(body)
    assert output.sha256 == hashlib.sha256(body).hexdigest()
    with default_storage.open(output.file.name, "rb") as kept:
        assert kept.read() == body
    assert took > 0.5  # it really was slower than the grace period


# --- Lying lengths --------------------------------------------------------------------------


def test_a_file_shorter_than_its_declared_length_is_not_kept(team_a, bob, hostile, quick):
    hostile.route("/files/", lying_length(PNG, declared=5000))
    output, took = _timed_keep(_pending(team_a, bob, f"{hostile.url}/files/still.png"))
    _assert_retried_later(output, "arrived incomplete")
    assert took < 2.0


@pytest.mark.parametrize(
    ("declared", "extra"),
    [(len(PNG), 16), (64 * 1024, 1024 * 1024)],
    ids=["a-few-bytes-more", "a-megabyte-more"],
)
def test_a_file_longer_than_its_declared_length_is_not_kept(
    team_a, bob, hostile, quick, declared, extra
):
    body = (PNG + os.urandom(declared))[:declared] + os.urandom(extra)
    hostile.route("/files/", overlong(body, declared=declared))
    output, took = _timed_keep(_pending(team_a, bob, f"{hostile.url}/files/still.png"))
    _assert_retried_later(output, "more than the size it declared")
    assert took < 2.0


def test_an_honest_length_is_kept_by_the_real_client(team_a, bob, hostile, quick):
    hostile.route("/files/", lying_length(PNG, declared=len(PNG)))
    output, _ = _timed_keep(_pending(team_a, bob, f"{hostile.url}/files/still.png"))
    assert output.keep_status == OutputKeepStatus.KEPT, output.last_error
    assert output.sha256 == hashlib.sha256(PNG).hexdigest()


def test_bytes_are_counted_after_the_tls_handshake_too():
    """Over https the count that matters is of the decrypted stream start_tls returns."""

    class Fake(httpcore.NetworkStream):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            data, self.data = self.data[:max_bytes], self.data[max_bytes:]
            return data

        def start_tls(self, *args, **kwargs) -> httpcore.NetworkStream:
            return Fake(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")

    plain = public_http._CountedStream(Fake(b"handshake bytes"))
    plain.read(100)
    tls = plain.start_tls(ssl_context=None, server_hostname="cdn.example")
    assert isinstance(tls, public_http._CountedStream)
    tls.read(4096)
    assert tls.received == 45 and public_http._head_length(bytes(tls.start)) == 38


# --- One bad output, other teams' work ------------------------------------------------------


def test_one_teams_dripping_output_does_not_hold_up_another_teams(
    team_a, bob, team_b, dave, hostile, quick
):
    hostile.route("/files/a/", drip(PNG, every=0.1, limit=8, content_type="image/png"))
    hostile.route("/files/b/", steady(PNG, rate=10**6))
    slow = _pending(team_a, bob, f"{hostile.url}/files/a/still.png")
    fine = _pending(team_b, dave, f"{hostile.url}/files/b/still.png")

    started = time.monotonic()
    assert keeping.retry_due_outputs() == 2
    took = time.monotonic() - started

    fine.refresh_from_db()
    slow.refresh_from_db()
    assert fine.keep_status == OutputKeepStatus.KEPT
    _assert_retried_later(slow, "arriving too slowly")
    assert took < 3.0  # the drip itself lasts 8 s: far from it, whatever the load


def test_outputs_that_failed_before_go_after_fresh_ones_and_teams_take_turns(
    team_a, bob, team_b, dave, monkeypatch
):
    a_failing = _pending(team_a, bob, "https://cdn.example/a1.png")
    a_fresh = [_pending(team_a, bob, f"https://cdn.example/a{i}.png") for i in (2, 3, 4)]
    b_failed_once = _pending(team_b, dave, "https://cdn.example/b1.png")
    due = timezone.now() - timedelta(seconds=1)
    RunOutput.objects.filter(pk=a_failing.pk).update(attempts=3, next_attempt_at=due)
    RunOutput.objects.filter(pk=b_failed_once.pk).update(attempts=1, next_attempt_at=due)
    tried: list[int] = []
    monkeypatch.setattr(keeping, "keep_output", lambda pk: tried.append(pk) or "pending")

    keeping.retry_due_outputs()

    a2, a3, a4 = (o.pk for o in a_fresh)
    assert tried == [a2, b_failed_once.pk, a3, a4, a_failing.pk]


@pytest.mark.django_db(transaction=True)
def test_a_team_holds_at_most_its_copy_slots_the_others_copy_meanwhile(
    team_a, bob, team_b, dave, hostile, quick, monkeypatch
):
    import threading

    from django.db import connection

    # Team A's drips are given a long grace here, so that "B was not behind A" is read off
    # A's copies still running when B's is done, not off a wall-clock figure.
    monkeypatch.setattr(download, "STALL_GRACE", 2.0, raising=False)
    monkeypatch.setattr(download, "DOWNLOAD_DEADLINE", 4.0, raising=False)
    hostile.route("/files/a/", drip(PNG, every=0.1, limit=8, content_type="image/png"))
    hostile.route("/files/b/", steady(PNG, rate=10**6))
    slow = [_pending(team_a, bob, f"{hostile.url}/files/a/{i}.png") for i in range(3)]
    fine = _pending(team_b, dave, f"{hostile.url}/files/b/still.png")
    results: dict[int, str] = {}

    def keep(output: RunOutput) -> None:
        try:
            results[output.pk] = keeping.keep_output(output.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=keep, args=(o,)) for o in slow[:2]]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # both of team A's slots are now in the drip
    keep(slow[2])  # a third copy of team A's: left for later at once, not claimed
    keep(fine)  # team B's copy is not behind team A's drips
    a_still_copying = [thread.is_alive() for thread in threads]
    for thread in threads:
        thread.join(10)

    assert results[slow[2].pk] == "deferred" and results[fine.pk] == OutputKeepStatus.KEPT
    assert a_still_copying == [True, True]
    third = RunOutput.objects.get(pk=slow[2].pk)
    assert (third.keep_status, third.attempts, third.next_attempt_at) == ("pending", 0, None)
    assert sorted(results[o.pk] for o in slow[:2]) == ["pending", "pending"]  # too slow: later
    assert keeping._team_copies == {}
