"""Share links: who may create them, expiry choices, and the token."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from runs import shares
from runs.models import Run, RunStatus, ShareLink
from teams import crypto
from tests.runs.results_helpers import share_link as _share

pytestmark = pytest.mark.django_db


TOKEN_URL = re.compile(r'value="http://testserver/s/([A-Za-z0-9_-]+)"')


def _create(client: Client, run: Run, **data: str):
    return client.post(f"/runs/{run.code}/shares", {"expires": "7d", **data})


def _token(response) -> str:
    match = TOKEN_URL.search(response.content.decode())
    assert match, "the created link is shown"
    return match.group(1)


# --- Creating ---------------------------------------------------------------------------------


def test_a_member_shares_their_own_run_and_copies_the_link(bob_client, run, bob):
    response = _create(bob_client, run)
    assert response.status_code == 200  # rendered directly: no redirect carrying the token
    assert response["Cache-Control"] == "no-store"
    token = _token(response)
    html = response.content.decode()
    assert "members of the team can also copy it later" in html
    assert 'data-copy-target="share-url"' in html
    link = ShareLink.objects.get(run=run)
    assert link.created_by == bob
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.token_hint == token[:6]
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    # Afterwards only the run page's list shows it (tests/runs/test_shares_copying.py), in an
    # answer no cache keeps; never in the session.
    page = bob_client.get(f"/runs/{run.code}/")
    assert f"/s/{token[:6]}…" in page.content.decode()
    assert page["Cache-Control"] == "no-store"
    assert token not in str(dict(bob_client.session))


def test_the_htmx_answer_is_the_shares_fragment(bob_client, run):
    response = bob_client.post(
        f"/runs/{run.code}/shares", {"expires": "1d"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="run-shares"')
    assert "<html" not in html
    assert _token(response)
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("choice", "lifetime"),
    [
        ("never", None),
        ("1d", timedelta(days=1)),
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
    ],
)
def test_expiry_choices(bob_client, run, choice, lifetime):
    _create(bob_client, run, expires=choice)
    link = ShareLink.objects.get(run=run)
    if lifetime is None:
        assert link.expires_at is None
    else:
        assert abs(link.expires_at - (link.created_at + lifetime)) < timedelta(seconds=1)


def test_a_bad_expiry_is_refused_with_a_message(bob_client, run):
    response = _create(bob_client, run, expires="forever")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ShareLink.objects.exists()


def test_only_completed_runs_can_be_shared(bob_client, team_a, bob):
    running = Run.objects.create(
        team=team_a, created_by=bob, technique_id="t", technique_name="T", status=RunStatus.RUNNING
    )
    response = _create(bob_client, running)
    assert response.status_code == 400
    assert "Only a completed run can be shared." in response.content.decode()
    assert not ShareLink.objects.exists()


def test_a_manager_shares_any_run_of_the_team(alice_client, run, alice):
    assert _create(alice_client, run).status_code == 200
    assert ShareLink.objects.get().created_by == alice


def test_a_member_cannot_share_someone_elses_run(erin_client, run):
    assert _create(erin_client, run).status_code == 403
    html = erin_client.get(f"/runs/{run.code}/").content.decode()
    assert "Create share link" not in html
    assert "Only the member who started this run, or a manager, can share it." in html


def test_a_viewer_cannot_share(carol_client, run):
    assert _create(carol_client, run).status_code == 403
    assert not ShareLink.objects.exists()


def test_another_teams_member_gets_404(dave_client, run):
    assert _create(dave_client, run).status_code == 404
    assert not ShareLink.objects.exists()


def test_create_rejects_get(bob_client, run):
    assert bob_client.get(f"/runs/{run.code}/shares").status_code == 405


# --- Tokens -----------------------------------------------------------------------------------


def test_tokens_are_long_random_and_stored_only_as_hashes_and_ciphertext(run, bob):
    tokens = {_share(run, bob)[1] for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 24 random bytes = 192 bits
    stored = list(ShareLink.objects.values())
    for token in tokens:
        assert token not in repr(stored)
    assert {row["token_hash"] for row in stored} == {
        hashlib.sha256(t.encode()).hexdigest() for t in tokens
    }
    # The ciphertext is teams.crypto's (the FLORA keys' keys and rotation).
    assert {crypto.decrypt(row["token_encrypted"]) for row in stored} == tokens


def test_lookups_refuse_malformed_and_unknown_tokens(run, bob):
    link, token = _share(run, bob)
    assert shares.find_active_share(token) == link
    assert shares.find_active_share(token[:-1]) is None
    assert shares.find_active_share(link.token_hash) is None  # the hash is not a key
    assert shares.find_active_share("../../etc/passwd") is None
    assert shares.find_active_share("") is None
