"""Keeping outputs: copies into storage, and every download safety rule (runs.keeping)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpcore
import httpx
import pytest
import respx
from django.core.files.storage import default_storage
from django.utils import timezone

from florasite.lib import public_http
from runs import keeping
from runs.models import OutputKeepStatus, Run, RunOutput
from tests.runs.results_helpers import CRITIQUE, TAROT, UGC, make_run, sandbox_downloads
from tests.runs.results_helpers import pending_output as _pending_output

pytestmark = pytest.mark.django_db

CDN = "https://cdn.flora-files.example"
PUBLIC_IP = "93.184.216.34"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch):
    with sandbox_downloads(monkeypatch) as client:
        yield client


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Resolve every host to a public address unless the test says otherwise."""
    answers: dict[str, list[str]] = {}
    monkeypatch.setattr(
        public_http, "resolve_host", lambda host, port: answers.get(host, [PUBLIC_IP])
    )
    return answers


def _keep(output: RunOutput) -> RunOutput:
    keeping.keep_output(output.pk)
    output.refresh_from_db()
    return output


# --- Copies from the sandbox ------------------------------------------------------------------


def test_it_copies_every_media_output_with_size_type_and_checksum(
    team_a, bob, sandbox_http, clock, downloads
):
    run = make_run(team_a, bob, *CRITIQUE, clock)
    outputs = {o.type: o for o in run.outputs.all()}
    assert set(outputs) == {"text", "imageUrl", "documentUrl"}
    assert all(o.keep_status == OutputKeepStatus.KEPT for o in outputs.values())

    for output, content_type in (
        (outputs["imageUrl"], "image/png"),
        (outputs["documentUrl"], "application/pdf"),
    ):
        original = downloads.get(output.source_url).content
        with default_storage.open(output.file.name, "rb") as kept:
            assert kept.read() == original
        assert output.size == len(original)
        assert output.sha256 == hashlib.sha256(original).hexdigest()
        assert output.content_type == content_type
        assert output.file.name.startswith("outputs/")
        assert output.file.name.endswith((".png", ".pdf"))
        assert output.attempts == 1 and output.kept_at and not output.last_error
    # Text is kept in the database at once, with no file.
    assert outputs["text"].text and not outputs["text"].file


def test_it_keeps_video_and_audio(team_a, bob, sandbox_http, clock, downloads):
    run = make_run(team_a, bob, *UGC, clock)
    kept = {o.type: o.content_type for o in run.outputs.all() if o.is_kept}
    assert kept == {"videoUrl": "video/mp4", "audioUrl": "audio/wav"}


def test_keeping_twice_changes_nothing(team_a, bob, sandbox_http, clock, downloads):
    run = make_run(team_a, bob, *TAROT, clock)
    image = run.outputs.get(type="imageUrl")
    assert keeping.keep_run_outputs(run.pk) == {}
    assert keeping.keep_output(image.pk) == "skipped"
    image.refresh_from_db()
    assert image.attempts == 1


def test_kept_copies_outlive_flora(team_a, bob, bob_client, sandbox_http, clock, downloads):
    """FLORA answering 404 for its URL later, or being down, changes nothing for viewers."""
    run = make_run(team_a, bob, *TAROT, clock)
    image = run.outputs.get(type="imageUrl")
    kept_bytes = downloads.get(image.source_url).content
    with respx.mock(assert_all_called=False) as mock:
        gone = mock.get(image.source_url).respond(404)
        assert bob_client.get(f"/runs/{run.code}/").status_code == 200
        response = bob_client.get(f"/runs/{run.code}/outputs/{image.position}")
        assert b"".join(response.streaming_content) == kept_bytes
    assert not gone.called  # the page never goes back to FLORA
    with respx.mock(assert_all_called=False) as mock:
        mock.route().mock(side_effect=httpx.ConnectError("FLORA is down"))
        page = bob_client.get(f"/runs/{run.code}/")
        assert page.status_code == 200 and "Not kept yet" not in page.content.decode()
        response = bob_client.get(f"/runs/{run.code}/outputs/{image.position}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == kept_bytes


# --- Refusals: addresses --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.7",
        "172.16.3.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
    ],
)
def test_it_refuses_hosts_that_resolve_to_internal_addresses(team_a, bob, public_dns, address):
    public_dns["files.internal.example"] = [address]
    output = _pending_output(team_a, bob, "https://files.internal.example/still.png")
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__startswith="https://files.internal.example/")
        output = _keep(output)
    assert not route.called
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "private or reserved" in output.last_error


def test_a_host_with_one_internal_address_among_public_ones_is_refused(team_a, bob, public_dns):
    public_dns["mixed.example"] = [PUBLIC_IP, "10.1.2.3"]
    output = _keep(_pending_output(team_a, bob, "https://mixed.example/a.png"))
    assert output.keep_status == OutputKeepStatus.FAILED


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://169.254.169.254/latest/meta-data", "private or reserved"),
        ("https://[::1]/x.png", "private or reserved"),
        ("http://cdn.flora-files.example/x.png", "Only https"),
        ("ftp://cdn.flora-files.example/x.png", "not a web address"),
        ("https://user:secret@cdn.flora-files.example/x.png", "credentials"),
        ("https:///nohost.png", "not a web address"),
        ("https://cdn.flora-files.example:99999/x.png", "malformed"),
    ],
)
def test_it_refuses_unsafe_urls_without_fetching(team_a, bob, public_dns, url, message):
    output = _pending_output(team_a, bob, url)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route()
        output = _keep(output)
    assert not route.called
    assert output.keep_status == OutputKeepStatus.FAILED
    assert message in output.last_error
    assert "secret" not in output.last_error


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f000001",
        "2130706433",
        "127.0.0.1.",
        "10.0.0.1.",
        "012.0.0.1",
        "169.254.169.254.",
        "localhost",
        "localhost.",
        "LOCALHOST",
        "files.localhost",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:0:0:1]",
    ],
)
def test_internal_hosts_are_refused_in_every_spelling(public_dns, host):
    """Whatever a DNS server would answer for them (here: a public address)."""
    with pytest.raises(public_http.DownloadRefused, match="private or reserved"):
        public_http.check_url(f"https://{host}/still.png")


def test_plain_http_is_allowed_only_for_the_sandbox_origin(settings):
    settings.FLORA_SANDBOX_ENABLED = True
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8033"
    public_http.check_url("http://127.0.0.1:8033/sandbox/media/run_x/still.png")  # no error
    with pytest.raises(public_http.DownloadRefused):
        public_http.check_url("http://127.0.0.1:8034/sandbox/media/run_x/still.png")
    settings.FLORA_SANDBOX_ENABLED = False
    with pytest.raises(public_http.DownloadRefused):
        public_http.check_url("http://127.0.0.1:8033/sandbox/media/run_x/still.png")


def test_the_connection_goes_to_the_checked_address(monkeypatch):
    """DNS rebinding: the backend resolves, checks, and connects to that very address."""
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])
    monkeypatch.setattr(public_http, "resolve_host", lambda host, port: next(answers))
    connected: list[tuple[str, int]] = []

    def fake_connect(self, host, port, *args, **kwargs):
        connected.append((host, port))
        raise httpcore.ConnectError("no network in tests")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", fake_connect)
    backend = public_http._PublicOnlyBackend()
    with pytest.raises(httpcore.ConnectError):
        backend.connect_tcp("rebind.example", 443)
    assert connected == [(PUBLIC_IP, 443)]
    # The second answer (rebound to loopback) is refused before any connection.
    with pytest.raises(public_http.DownloadRefused):
        backend.connect_tcp("rebind.example", 443)
    assert connected == [(PUBLIC_IP, 443)]


def test_a_rebound_host_is_refused_by_the_real_client(team_a, bob, monkeypatch):
    """The URL check sees a public address, the connection attempt sees loopback: refused."""
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])
    monkeypatch.setattr(public_http, "resolve_host", lambda host, port: next(answers))
    monkeypatch.setattr(public_http, "_client", None)
    output = _keep(_pending_output(team_a, bob, "https://rebind.example/still.png"))
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "private or reserved" in output.last_error


def test_an_unknown_host_is_retried(team_a, bob, monkeypatch):
    def fail(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(public_http, "resolve_host", fail)
    output = _keep(_pending_output(team_a, bob, "https://gone.example/still.png"))
    assert output.keep_status == OutputKeepStatus.PENDING
    assert "could not be found" in output.last_error


# --- Refusals: redirects, sizes, types ------------------------------------------------------


def test_redirects_are_followed_and_each_hop_checked(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/signed/still.png?sig=abc")
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{CDN}/signed/still.png?sig=abc").respond(
            302, headers={"Location": "https://storage.example/still.png"}
        )
        mock.get("https://storage.example/still.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.KEPT
    assert output.sha256 == hashlib.sha256(PNG).hexdigest()


def test_a_redirect_to_an_internal_host_is_refused(team_a, bob, public_dns):
    public_dns["metadata.internal"] = ["169.254.169.254"]
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{CDN}/still.png").respond(
            301, headers={"Location": "https://metadata.internal/latest"}
        )
        internal = mock.get(url__startswith="https://metadata.internal/")
        output = _keep(output)
    assert not internal.called
    assert output.keep_status == OutputKeepStatus.FAILED


def test_a_redirect_to_plain_http_is_refused(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(302, headers={"Location": "http://cdn.example/x"})
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "Only https" in output.last_error


def test_endless_redirects_are_given_up(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/loop.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/loop.png").respond(302, headers={"Location": f"{CDN}/loop.png"})
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.PENDING
    assert "redirected more than" in output.last_error


def test_a_declared_size_over_the_limit_is_refused_before_reading(
    team_a, bob, public_dns, settings
):
    settings.FLORASITE_OUTPUT_MAX_BYTES = 100
    output = _pending_output(team_a, bob, f"{CDN}/big.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/big.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png", "Content-Length": "208"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "larger than the 100" in output.last_error
    assert not output.file


def test_bytes_are_counted_when_no_size_is_declared(team_a, bob, public_dns, settings):
    settings.FLORASITE_OUTPUT_MAX_BYTES = 1000

    class Endless(httpx.SyncByteStream):
        def __iter__(self):
            for _ in range(50):
                yield b"\x00" * 100

    output = _pending_output(team_a, bob, f"{CDN}/endless.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/endless.png").respond(
            200, stream=Endless(), headers={"Content-Type": "image/png"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "larger than" in output.last_error


def test_a_file_shorter_than_declared_is_retried(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/short.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/short.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png", "Content-Length": "9999"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.PENDING
    assert "incomplete" in output.last_error


@pytest.mark.parametrize(
    ("media_type", "content_type"),
    [
        ("imageUrl", "text/html"),
        ("imageUrl", "image/svg+xml"),
        ("imageUrl", "video/mp4"),
        ("videoUrl", "image/png"),
        ("audioUrl", "application/pdf"),
        ("documentUrl", "text/html; charset=utf-8"),
        ("documentUrl", "application/x-msdownload"),
    ],
)
def test_content_types_must_match_the_output_type(
    team_a, bob, public_dns, media_type, content_type
):
    output = _pending_output(team_a, bob, f"{CDN}/file", media_type)
    with respx.mock() as mock:
        mock.get(f"{CDN}/file").respond(
            200, content=b"x" * 10, headers={"Content-Type": content_type}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "not kept" in output.last_error


def test_an_octet_stream_is_judged_by_its_file_name(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.jpg")
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.jpg").respond(
            200,
            content=b"\xff\xd8\xff" + b"0" * 50,
            headers={"Content-Type": "application/octet-stream"},
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.KEPT
    assert output.content_type == "image/jpeg"
    assert output.file.name.endswith(".jpg")


def test_text_documents_keep_their_charset(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/notes.txt", "documentUrl")
    with respx.mock() as mock:
        mock.get(f"{CDN}/notes.txt").respond(
            200,
            content="Grüße".encode("latin-1"),
            headers={"Content-Type": "text/plain; charset=ISO-8859-1"},
        )
        output = _keep(output)
    assert output.content_type == "text/plain; charset=iso-8859-1"


# --- Failures, retries and claims -----------------------------------------------------------


def test_flora_down_is_retried_with_backoff(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    before = timezone.now()
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").mock(side_effect=httpx.ConnectError("refused"))
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.PENDING
    assert output.attempts == 1
    assert output.last_error == "Could not connect to FLORA's file server."
    assert output.next_attempt_at >= before + timedelta(minutes=1)


def test_timeouts_and_server_errors_are_retried(team_a, bob, public_dns):
    first = _pending_output(team_a, bob, f"{CDN}/slow.png")
    second = _pending_output(team_a, bob, f"{CDN}/broken.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/slow.png").mock(side_effect=httpx.ReadTimeout("slow"))
        mock.get(f"{CDN}/broken.png").respond(503)
        first, second = _keep(first), _keep(second)
    assert first.keep_status == second.keep_status == OutputKeepStatus.PENDING
    assert "in time" in first.last_error
    assert "503" in second.last_error


def test_an_expired_signature_is_not_retried(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.png?X-Amz-Signature=deadbeef")
    with respx.mock() as mock:
        mock.get(url__startswith=f"{CDN}/still.png").respond(403)
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.FAILED
    assert "403" in output.last_error
    assert "deadbeef" not in output.last_error


def test_it_gives_up_after_the_last_attempt(team_a, bob, public_dns):
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(500)
        for attempt in range(1, keeping.MAX_ATTEMPTS + 1):
            RunOutput.objects.filter(pk=output.pk).update(next_attempt_at=None)
            output = _keep(output)
            assert output.attempts == attempt
    assert output.keep_status == OutputKeepStatus.FAILED
    assert output.next_attempt_at is None
    assert "500" in output.last_error


def test_backoff_doubles_up_to_a_cap():
    assert [keeping.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert keeping.backoff(30) == keeping.BACKOFF_MAX


def test_an_output_is_claimed_once(team_a, bob, public_dns):
    """A second worker finds the output claimed (leased) and leaves it alone."""
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    now = timezone.now()
    assert keeping._claim(output.pk, now)
    assert not keeping._claim(output.pk, now)
    assert keeping.keep_output(output.pk) == "skipped"
    # A worker that died mid-copy is replaced once its lease ran out.
    assert keeping._claim(output.pk, now + keeping.CLAIM_LEASE + timedelta(seconds=1))


def test_retry_due_outputs_takes_only_due_ones(team_a, bob, public_dns):
    due = _pending_output(team_a, bob, f"{CDN}/due.png")
    later = _pending_output(team_a, bob, f"{CDN}/later.png")
    failed = _pending_output(team_a, bob, f"{CDN}/failed.png")
    RunOutput.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    RunOutput.objects.filter(pk=failed.pk).update(keep_status=OutputKeepStatus.FAILED)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{CDN}/due.png").respond(200, content=PNG, headers={"Content-Type": "image/png"})
        other = mock.route()
        assert keeping.retry_due_outputs() == 1
    assert not other.called
    due.refresh_from_db()
    assert due.keep_status == OutputKeepStatus.KEPT


def test_the_periodic_task_and_admin_reset_retry_failed_outputs(team_a, bob, public_dns):
    from runs.tasks import retry_keeping_outputs

    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    RunOutput.objects.filter(pk=output.pk).update(
        keep_status=OutputKeepStatus.FAILED,
        attempts=6,
        last_error="FLORA's file server answered 500.",
    )
    assert keeping.reset_failed_outputs(Run.objects.filter(pk=output.run_id)) == 1
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png"}
        )
        retry_keeping_outputs.call()
    output.refresh_from_db()
    assert output.keep_status == OutputKeepStatus.KEPT
    assert output.attempts == 1 and output.last_error == ""


def test_an_output_without_url_fails_clearly(team_a, bob):
    output = _keep(_pending_output(team_a, bob, ""))
    assert output.keep_status == OutputKeepStatus.FAILED
    assert output.last_error == "FLORA gave no URL for this output."


def test_a_storage_failure_is_retried(team_a, bob, public_dns, monkeypatch):
    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(default_storage, "save", broken_save)
    output = _pending_output(team_a, bob, f"{CDN}/still.png")
    with respx.mock() as mock:
        mock.get(f"{CDN}/still.png").respond(
            200, content=PNG, headers={"Content-Type": "image/png"}
        )
        output = _keep(output)
    assert output.keep_status == OutputKeepStatus.PENDING
    assert output.last_error == "The copy could not be written to storage."


def test_completing_a_run_schedules_keeping(
    team_a, bob, sandbox_http, clock, django_capture_on_commit_callbacks
):
    """apply_remote enqueues keep_outputs on commit; the task keeps the media."""
    from django_tasks import default_task_backend

    from tests.runs.results_helpers import finish_run, start_run

    default_task_backend.clear()
    run, client = start_run(team_a, bob, *TAROT)
    with django_capture_on_commit_callbacks(execute=True):
        run = finish_run(run, client, clock, keep=False)
    enqueued = [r.task.name for r in default_task_backend.results]
    assert "keep_outputs" in enqueued
    assert run.outputs.get(type="imageUrl").keep_status == OutputKeepStatus.PENDING


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("10.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1%eth0", False),
        ("not-an-ip", False),
    ],
)
def test_is_public_address(address, public):
    assert public_http.is_public_address(address) is public
