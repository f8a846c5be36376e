"""The public share page: what it shows and hides, its headers, views and rate limits."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from florasite.models import RateLimitCounter
from runs.models import OutputKeepStatus, Run, RunOutput
from tests.runs.results_helpers import IMAGE_URL
from tests.runs.results_helpers import share_link as _share

pytestmark = pytest.mark.django_db


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
