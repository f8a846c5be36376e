"""End-to-end fixtures: a real florasite (gunicorn + db_worker + sandbox) and Debian's chromium.

The site runs as `bin/serve.py` would run it for `make run`, in a temporary folder with its
own SQLite database, DEBUG off, the sandbox sped up. Tests talk to it only over HTTP, as a
person would. Screenshots are kept in tests/e2e/screenshots/ (or $E2E_SCREENSHOT_DIR).
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
# Not under test-results/: pytest-playwright deletes that folder (its --output) at the start
# of every pytest session, even one that runs no browser test.
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOT_DIR", ROOT / "tests" / "e2e" / "screenshots"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
            # One worker runs them all, so they share one live site (make test uses xdist).
            item.add_marker(pytest.mark.xdist_group("e2e"))
            if not Path(CHROMIUM).exists():
                item.add_marker(
                    pytest.mark.skip(reason=f"no chromium at {CHROMIUM}: apt-get install chromium")
                )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Site:
    url: str
    env: dict[str, str]
    logins: dict[str, str] = field(default_factory=dict)

    def manage(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell` against the site's database; return what it prints.

        For asserting database facts ("one Run row", "one create call at the sandbox").
        """
        # --no-imports: without it Django's shell first prints what it imported.
        return self.manage("shell", "--no-imports", "-c", code).strip()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    var = tmp_path_factory.mktemp("e2e-var")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "FLORA", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "florasite.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FLORASITE_ENCRYPTION_KEYS": _fernet_key(),
            "FLORASITE_VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'e2e.sqlite3'}",
            "PUBLIC_BASE_URL": url,
            "FLORA_SANDBOX_ENABLED": "true",
            "FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS": "true",
            "FLORA_SANDBOX_SPEEDUP": os.environ.get("E2E_SANDBOX_SPEEDUP", "8"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
            "LOG_LEVEL": "WARNING",
        }
    )
    s = Site(url=url, env=env)
    s.manage("migrate", "--noinput", "-v0")
    s.manage("collectstatic", "--noinput", "-v0")
    s.manage("setup_demo")
    for line in (var / "demo-credentials.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, password = line.split(maxsplit=1)
            s.logins[name] = password
    # Someone from another customer: member of "Other Agency" only.
    s.logins["outsider"] = secrets.token_urlsafe(12)
    s.manage(
        "add_member", "--team", "other-agency", "--username", "outsider", "--role", "member",
        "--create-user", "--password-file", "-", stdin=s.logins["outsider"] + "\n",
    )  # fmt: skip

    log = open(var / "serve.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "bin/serve.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_healthy(url, proc, var / "serve.log")
        yield s
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if os.environ.get("E2E_KEEP_LOG"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(var / "serve.log", SCREENSHOTS / "serve.log")


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"florasite exited early:\n{log.read_text()[-3000:]}")
        try:
            # 200 means the database answers and the worker has beaten.
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"florasite did not become healthy:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# A public image host the browser gets its pictures for from the `fake_images` fixture: run
# forms preview image links, and run and share pages show image inputs as thumbnails.
IMAGE_HOST = "https://images.example.test"


def _fake_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), (236, 226, 206))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 440, 280), outline=(90, 60, 40), width=6)
    draw.text((70, 150), "MENU   Soup of the day   4.50", fill=(60, 40, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def fake_images():
    """host = fake_images(context): that browser context gets the pictures of `host` (an
    https:// origin; one PNG) from the test, so image inputs need no network."""
    png = _fake_png()

    def _serve(context) -> str:  # noqa: ANN001 - playwright BrowserContext
        context.route(
            f"{IMAGE_HOST}/**",
            lambda route: route.fulfill(status=200, content_type="image/png", body=png),
        )
        return IMAGE_HOST

    return _serve


@pytest.fixture
def shoot(screenshots: Path):
    """shoot(page, "07-run-completed"): a full-page screenshot into the screenshots folder.

    caret="initial": Playwright's default hides the text caret by putting a style attribute
    on every input, which htmx then copies onto swapped-in elements (it settles `style`),
    and the strict CSP rightly reports that as a violation.
    """

    def _shoot(page, name: str) -> Path:  # noqa: ANN001 - playwright Page
        path = screenshots / f"{name}.png"
        # From the top: a page scrolled down would show its sticky header mid-picture.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=path, full_page=True, caret="initial")
        return path

    return _shoot


class ConsoleWatch:
    """Collects CSP violations and script errors a page reports."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, page) -> None:  # noqa: ANN001 - playwright Page
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, message) -> None:  # noqa: ANN001
        text = message.text
        if message.type == "error" and (
            "Content Security Policy" in text or "Refused to" in text or "htmx" in text.lower()
        ):
            # Where it happened: the page, and the file that broke the policy.
            page = message.page.url if message.page else "?"
            source = (message.location or {}).get("url") or "?"
            self.problems.append(f"{text} [page {page}, source {source}]")


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def new_context(browser) -> Iterator:  # noqa: ANN001 - playwright Browser
    """new_context(**options): a fresh browser context (own cookies: logged out), closed at
    teardown. `new_context(java_script_enabled=False)` is a browser without JavaScript."""
    contexts = []

    def _new_context(**options: object):  # noqa: ANN202 - playwright BrowserContext
        context = browser.new_context(**options)
        contexts.append(context)
        return context

    yield _new_context
    for context in contexts:
        context.close()


@pytest.fixture
def log_in(site: Site):
    """log_in(page, "demo"): log in through the form, as a person would."""

    def _log_in(page, username: str) -> None:  # noqa: ANN001 - playwright Page
        page.goto(f"{site.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(site.logins[username])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return _log_in
