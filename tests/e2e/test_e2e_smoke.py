from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_login_page_and_home_render_without_csp_violations(
    page, site, console, screenshots, log_in
):
    console.attach(page)
    page.goto(f"{site.url}/accounts/login/")
    page.screenshot(path=screenshots / "login.png", full_page=True)
    log_in(page, "demo")
    page.screenshot(path=screenshots / "home.png", full_page=True)
    assert console.problems == []
