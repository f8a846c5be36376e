"""florasite.csp: one Content-Security-Policy header per response, built at most once."""

from __future__ import annotations

import pytest
from csp.utils import build_policy

import florasite.csp

pytestmark = pytest.mark.django_db


@pytest.fixture
def builds(monkeypatch):
    """Every policy build the middleware makes, as (report_only, policy)."""
    made: list[tuple[bool, str]] = []

    def counting(*args, **kwargs):
        policy = build_policy(*args, **kwargs)
        made.append((kwargs.get("report_only", False), policy))
        return policy

    monkeypatch.setattr(florasite.csp, "build_policy", counting)
    florasite.csp._site_policy.clear()
    return made


def test_the_sites_policy_is_built_once_for_many_responses(client, builds):
    for _ in range(3):
        response = client.get("/accounts/login/")
        assert response.headers["Content-Security-Policy"] == build_policy()
        assert "Content-Security-Policy-Report-Only" not in response.headers
    assert builds == [(False, build_policy())]
    assert "frame-ancestors 'none'" in build_policy()
    assert "script-src 'self'" in build_policy()


def test_a_view_that_changes_it_gets_one_build(rf, builds):
    # What @csp_replace leaves on a response (the output file view, the share pages).
    from csp.constants import SELF
    from csp.decorators import csp_replace
    from django.http import HttpResponse

    view = csp_replace({"frame-ancestors": [SELF]})(lambda request: HttpResponse("x"))
    middleware = florasite.csp.CSPMiddleware(view)
    request = rf.get("/runs/x/outputs/0")
    for _ in range(2):
        response = middleware(request)
        assert response.headers["Content-Security-Policy"].count("frame-ancestors") == 1
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert [ro for ro, _ in builds] == [False, False]  # one per response, never report-only


def test_report_only_is_built_when_configured(client, settings, builds):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report"}
    }
    response = client.get("/accounts/login/")
    assert response.headers["Content-Security-Policy-Report-Only"] == (
        "default-src 'self'; report-uri /csp-report"
    )
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert sorted(ro for ro, _ in builds) == [False, True]


def test_a_changed_setting_builds_it_again(client, settings, builds):
    client.get("/accounts/login/")
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert client.get("/accounts/login/").headers["Content-Security-Policy"] == (
        "default-src 'none'"
    )
    assert len(builds) == 2
