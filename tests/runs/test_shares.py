"""Share links: who may create and revoke them, the token, and the public page."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from florasite.models import RateLimitCounter
from runs import shares
from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus, ShareLink
from teams.models import Membership, Role
from tests.runs.results_helpers import CRITIQUE, IMAGE_URL, make_run, sandbox_downloads

pytestmark = pytest.mark.django_db

TOKEN_URL = re.compile(r'value="http://testserver/s/([A-Za-z0-9_-]+)"')


@pytest.fixture
def run(team_a, bob, sandbox_http, clock, monkeypatch) -> Run:
    """bob's completed Art Director's Critique run: text, image and PDF outputs, kept."""
    with sandbox_downloads(monkeypatch):
        return make_run(team_a, bob, *CRITIQUE, clock)


@pytest.fixture
def erin(team_a):
    """Another member of team A."""
    user = get_user_model().objects.create_user("erin")
    Membership.objects.create(user=user, team=team_a, role=Role.MEMBER)
    return user


@pytest.fixture
def erin_client(erin) -> Client:
    client = Client()
    client.force_login(erin)
    return client


def _create(client: Client, run: Run, **data: str):
    return client.post(f"/runs/{run.code}/shares", {"expires": "7d", **data})


def _token(response) -> str:
    match = TOKEN_URL.search(response.content.decode())
    assert match, "the created link is shown"
    return match.group(1)


def _share(run: Run, user, **kwargs) -> tuple[ShareLink, str]:
    created = shares.create_share(
        run,
        created_by=user,
        hide_inputs=kwargs.get("hide_inputs", False),
        expires=kwargs.get("expires", "never"),
    )
    return created.link, created.token


# --- Creating ---------------------------------------------------------------------------------


def test_a_member_shares_their_own_run_and_sees_the_link_once(bob_client, run, bob):
    response = _create(bob_client, run)
    assert response.status_code == 200  # rendered directly: no redirect carrying the token
    assert response["Cache-Control"] == "no-store"
    token = _token(response)
    html = response.content.decode()
    assert "shown only this once" in html
    assert 'data-copy-target="share-url"' in html
    link = ShareLink.objects.get(run=run)
    assert link.created_by == bob
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.token_hint == token[:6]
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    # Afterwards the token is nowhere: not on the run page, not in the session.
    page = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert token not in page
    assert f"/s/{token[:6]}…" in page
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


def test_tokens_are_long_random_and_stored_only_as_hashes(run, bob):
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


def test_lookups_refuse_malformed_and_unknown_tokens(run, bob):
    link, token = _share(run, bob)
    assert shares.find_active_share(token) == link
    assert shares.find_active_share(token[:-1]) is None
    assert shares.find_active_share(link.token_hash) is None  # the hash is not a key
    assert shares.find_active_share("../../etc/passwd") is None
    assert shares.find_active_share("") is None


# --- Revoking and expiry ----------------------------------------------------------------------


def test_the_creator_revokes_and_the_link_dies_at_once(bob_client, client, run, bob):
    link, token = _share(run, bob)
    assert client.get(f"/s/{token}").status_code == 200
    response = bob_client.post(f"/runs/{run.code}/shares/{link.code}/revoke")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.code}/#run-shares"
    link.refresh_from_db()
    assert link.revoked_at and link.revoked_by == bob
    assert client.get(f"/s/{token}").status_code == 404
    image = run.outputs.get(type="imageUrl")
    assert client.get(f"/s/{token}/outputs/{image.position}").status_code == 404
    page = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "Revoked" in page and "revoked by bob" in page


def test_revoking_over_htmx_returns_the_fragment(bob_client, run, bob):
    link, _ = _share(run, bob)
    response = bob_client.post(
        f"/runs/{run.code}/shares/{link.code}/revoke", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="run-shares"')
    assert "Link revoked" in html
    again = bob_client.post(
        f"/runs/{run.code}/shares/{link.code}/revoke", headers={"HX-Request": "true"}
    )
    assert "already revoked" in again.content.decode()


def test_a_member_cannot_revoke_another_members_link(bob_client, erin_client, run, alice, bob):
    link, _ = _share(run, alice)  # the manager shared bob's run
    assert bob_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 403
    assert erin_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 403
    link.refresh_from_db()
    assert link.revoked_at is None
    page = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert f"/shares/{link.code}/revoke" not in page


def test_a_manager_revokes_any_link(alice_client, run, bob):
    link, _ = _share(run, bob)
    assert alice_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_a_viewer_cannot_revoke(carol_client, run, bob):
    link, _ = _share(run, bob)
    assert carol_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 403


def test_another_team_can_neither_see_nor_revoke_the_links(dave_client, run, bob):
    link, _ = _share(run, bob)
    assert dave_client.get(f"/runs/{run.code}/").status_code == 404
    assert dave_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_a_link_of_another_run_is_404(bob_client, run, team_a, bob):
    other = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="t",
        technique_name="T",
        status=RunStatus.COMPLETED,
    )
    link, _ = _share(other, bob)
    assert bob_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 404


def test_an_expired_link_is_404(client, run, bob):
    link, token = _share(run, bob, expires="1d")
    assert client.get(f"/s/{token}").status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(f"/s/{token}")
    assert response.status_code == 404
    assert "This link is not available" in response.content.decode()


def test_the_run_page_lists_links_with_their_facts(bob_client, client, run, bob):
    link, token = _share(run, bob, expires="30d", hide_inputs=True)
    client.get(f"/s/{token}")
    client.get(f"/s/{token}")
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    row = html[html.index('class="share-row') :]
    row = row[: row.index("</li>")]
    assert "Created by bob" in row
    assert "expires" in row
    assert "2 views" in row and "last" in row
    assert "Inputs hidden" in row
    assert "Revoke" in row


# --- The public page --------------------------------------------------------------------------


def test_the_public_page_needs_no_login_and_shows_the_result(client, run, bob):
    _, token = _share(run, bob)
    response = client.get(f"/s/{token}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Art Director&#x27;s Critique" in html
    assert run.completed_at.strftime("%Y") in html
    for output in run.outputs.all():
        assert f"/s/{token}/outputs/{output.position}" in html
    assert "Strong focal point" in html  # the text output
    assert IMAGE_URL in html and "Sell more lemonade" in html  # inputs, not hidden


def test_share_outputs_serve_the_kept_copies(client, run, bob):
    _, token = _share(run, bob)
    for output in run.outputs.all():
        response = client.get(f"/s/{token}/outputs/{output.position}?download=1")
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == output.sha256
        assert response["X-Robots-Tag"].startswith("noindex")
        assert response["Referrer-Policy"] == "no-referrer"
        # No run code in the public file name.
        assert run.code not in response["Content-Disposition"]
        assert "art-directors-critique-" in response["Content-Disposition"]


def test_hidden_inputs_are_absent_from_the_html(client, run, bob):
    _, token = _share(run, bob, hide_inputs=True)
    html = client.get(f"/s/{token}").content.decode()
    assert IMAGE_URL not in html
    assert "Sell more lemonade" not in html
    assert "Made from" not in html
    assert "Strong focal point" in html  # outputs still shown


def test_the_public_page_leaks_nothing(client, run, bob, alice, team_a):
    _, token = _share(run, alice)
    response = client.get(f"/s/{token}")
    html = response.content.decode()
    lowered = html.lower()
    for secret in (
        "Acme",
        "acme",
        "bob",
        "alice",
        run.flora_run_id,
        run.code,
        "ws_demo",
        "ws_brand",
    ):
        assert secret not in html, secret
    assert "sandbox" not in lowered
    assert "flora.ai" not in lowered
    assert "/media/" not in html
    for output in run.outputs.all():
        if output.source_url:
            assert output.source_url not in html
        if output.file:
            assert output.file.name not in html
    # No logged-in chrome, no dashboard links.
    assert "Log out" not in html and "teammenu" not in html and "/runs/" not in html


def test_a_logged_in_viewer_gets_the_same_public_page(bob_client, run, bob):
    _, token = _share(run, bob)
    html = bob_client.get(f"/s/{token}").content.decode()
    assert "Log out" not in html and "Acme" not in html
    assert 'class="team-name"' not in html


def test_the_public_page_is_not_indexed_and_sends_no_referrer(client, run, bob):
    _, token = _share(run, bob)
    response = client.get(f"/s/{token}")
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert '<meta name="robots" content="noindex, nofollow, noarchive">' in html
    assert '<meta name="referrer" content="no-referrer">' in html


def test_open_graph_tags_show_the_first_image(client, run, bob):
    _, token = _share(run, bob)
    html = client.get(f"/s/{token}").content.decode()
    image = run.outputs.get(type="imageUrl")
    absolute = f"http://testserver/s/{token}/outputs/{image.position}"
    assert f'<meta property="og:image" content="{absolute}">' in html
    assert f'<meta name="twitter:image" content="{absolute}">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert '<meta property="og:title" content="Art Director&#x27;s Critique">' in html
    assert f'<meta property="og:url" content="http://testserver/s/{token}">' in html


def test_views_are_counted(client, run, bob):
    link, token = _share(run, bob)
    for _ in range(3):
        client.get(f"/s/{token}")
    client.head(f"/s/{token}")
    client.get(f"/s/{token}/outputs/0")
    link.refresh_from_db()
    assert link.views == 3
    assert link.last_viewed_at is not None


def test_an_output_not_kept_yet_says_so_without_linking_flora(client, run, bob):
    image = run.outputs.get(type="imageUrl")
    RunOutput.objects.filter(pk=image.pk).update(keep_status=OutputKeepStatus.PENDING)
    _, token = _share(run, bob)
    html = client.get(f"/s/{token}").content.decode()
    assert "Not available yet." in html
    assert image.source_url not in html
    assert client.get(f"/s/{token}/outputs/{image.position}").status_code == 404


def test_inputs_hosted_by_flora_are_not_linked_publicly(client, run, bob):
    image = run.outputs.get(type="imageUrl")
    Run.objects.filter(pk=run.pk).update(
        inputs=[{"id": "asset", "type": "imageUrl", "value": image.source_url}]
    )
    _, token = _share(run, bob)
    html = client.get(f"/s/{token}").content.decode()
    assert image.source_url not in html
    assert "Image (not shown)" in html


def test_the_public_page_is_rate_limited_per_client(client, run, bob, settings):
    settings.FLORASITE_SHARE_VIEWS_PER_MINUTE = 3
    link, token = _share(run, bob)
    statuses = [client.get(f"/s/{token}").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(f"/s/{token}")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many requests" in response.content.decode()
    assert "Log out" not in response.content.decode()
    link.refresh_from_db()
    assert link.views == 3
    # Another client is not affected; unknown tokens count too (no free guessing).
    other = Client(REMOTE_ADDR="203.0.113.9")
    assert other.get(f"/s/{token}").status_code == 200
    assert client.get("/s/" + "x" * 32).status_code == 429


def test_share_views_are_counted_by_the_log_in_throttles_mechanism(client, run, bob, settings):
    # Counted in the database with conditional UPDATEs (florasite.lib.ratelimit), not with the
    # cache's add+incr: a cache that keeps nothing changes nothing.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    settings.FLORASITE_SHARE_VIEWS_PER_MINUTE = 2
    _, token = _share(run, bob)
    assert [client.get(f"/s/{token}").status_code for _ in range(3)] == [200, 200, 429]
    assert RateLimitCounter.objects.filter(key__startswith="share:page:").get().count == 2


def test_behind_a_proxy_share_views_are_counted_per_forwarded_client(run, bob, settings):
    settings.FLORASITE_PROXY_COUNT = 1
    settings.FLORASITE_SHARE_VIEWS_PER_MINUTE = 2
    _, token = _share(run, bob)
    first = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert [first.get(f"/s/{token}").status_code for _ in range(3)] == [200, 200, 429]
    # Another visitor through the same proxy is not affected.
    second = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert second.get(f"/s/{token}").status_code == 200


def test_unknown_tokens_get_the_public_404(client):
    response = client.get("/s/" + "A" * 32)
    assert response.status_code == 404
    html = response.content.decode()
    assert "This link is not available" in html
    assert "Log out" not in html


def test_element_ids_given_as_inputs_are_not_shown_publicly(client, bob_client, run, bob):
    # An accepts_element input may name a FLORA element ("el_..."): a FLORA id, which the
    # public page must not reveal; the team's own run page still shows it.
    Run.objects.filter(pk=run.pk).update(
        inputs=[{"id": "asset", "name": "Product", "type": "imageUrl", "value": "el_brand_77"}]
    )
    _, token = _share(run, bob)
    html = client.get(f"/s/{token}").content.decode()
    assert "el_brand_77" not in html
    assert "Image (not shown)" in html
    assert "el_brand_77" in bob_client.get(f"/runs/{run.code}/").content.decode()
