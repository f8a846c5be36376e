"""Helpers for the catalog and submission tests (`tests.runs.submit_helpers`, also used by
tests/techniques/ and the `upstream` fixture).

`Upstream` stands where FLORA stands for the dashboard: the in-process sandbox behind a
transport that records every request the dashboard sends, and can answer with a fault
instead (an error status, a dropped connection, or an answer lost after the request landed).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

import httpx
from django.test import Client

from sandbox import catalog as sandbox_catalog
from sandbox.testing import wsgi_transport
from techniques.forms import intent_from_token

CREATE_PATH = re.compile(r"/techniques/[^/]+/runs$")
RUN_DETAIL_PATH = re.compile(r"/techniques/[^/]+/runs/[^/?]+$")
LIST_RUNS_PATH = re.compile(r"/technique-runs$")
# A callback URL the sandbox accepts (the `_reachable_callback` fixture of tests/runs).
CALLBACK = "http://127.0.0.1:8031/hooks/flora/test"


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    action: Callable[[httpx.Request], httpx.Response]
    times: int | None  # None: every matching request
    skip: int = 0  # let this many matching requests through first


class Upstream(httpx.BaseTransport):
    def __init__(self, sandbox: httpx.BaseTransport) -> None:
        self.sandbox = sandbox
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        # Set to make create calls wait (after recording, before the sandbox sees them).
        self.hold_creates: threading.Event | None = None
        self.create_entered = threading.Event()
        # The client teams.services hands out while this transport stands in for FLORA.
        self.client: httpx.Client | None = None

    # -- counting ---------------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | re.Pattern[str] | None = None) -> int:
        with self._lock:
            requests = list(self.requests)
        return sum(1 for r in requests if _matches(r, method, path))

    @property
    def creates(self) -> int:
        return self.calls("POST", CREATE_PATH)

    @property
    def get_run(self) -> int:
        """GET /techniques/{technique_id}/runs/{run_id} requests."""
        return self.calls("GET", RUN_DETAIL_PATH)

    @property
    def list_runs(self) -> int:
        """GET /technique-runs requests."""
        return self.calls("GET", LIST_RUNS_PATH)

    @property
    def counts(self) -> Counter[str]:
        """Requests by kind: get_run, list_runs, create_run, or "METHOD path"."""
        with self._lock:
            requests = list(self.requests)
        return Counter(_kind(r) for r in requests)

    def create_bodies(self) -> list[dict]:
        with self._lock:
            requests = list(self.requests)
        return [json.loads(r.content) for r in requests if _matches(r, "POST", CREATE_PATH)]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- faults -----------------------------------------------------------------------

    def fail(
        self,
        status: int,
        code: str,
        message: str = "Failed.",
        *,
        method: str = "GET",
        path: str | re.Pattern[str] = ".*",
        fields: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        times: int | None = None,
        skip: int = 0,
    ) -> None:
        """Answer matching requests with FLORA's error envelope."""
        error: dict = {"code": code, "message": message}
        if fields is not None:
            error["fields"] = fields

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                status,
                json={"error": error},
                headers={"request-id": f"req_fault_{code}", **(headers or {})},
            )

        self._add(method, path, answer, times, skip)

    def respond(
        self,
        body: dict,
        *,
        method: str = "GET",
        path: str | re.Pattern[str] = ".*",
        status: int = 200,
        times: int | None = None,
    ) -> None:
        """Answer matching requests with this JSON (a technique FLORA might publish).

        Encoded by Python's json, which writes NaN and Infinity as the literals that
        Python's json (and so the client) reads back; httpx's own encoder refuses them.
        """
        content = json.dumps(body).encode()

        def answer(request: httpx.Request) -> httpx.Response:
            headers = {"request-id": "req_canned", "content-type": "application/json"}
            return httpx.Response(status, content=content, headers=headers)

        self._add(method, path, answer, times)

    def drop(self, *, method: str = "GET", path: str = ".*", times: int | None = None) -> None:
        """The connection fails before the request reaches FLORA."""

        def answer(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("Connection refused", request=request)

        self._add(method, path, answer, times)

    def lose_answer(
        self,
        *,
        method: str = "POST",
        path: str | re.Pattern[str] = CREATE_PATH,
        times: int | None = 1,
    ) -> None:
        """FLORA receives and handles the request, but its answer never arrives (timeout)."""

        def answer(request: httpx.Request) -> httpx.Response:
            self.sandbox.handle_request(request).read()
            raise httpx.ReadTimeout("The read operation timed out", request=request)

        self._add(method, path, answer, times)

    def _add(
        self, method: str, path: str | re.Pattern[str], action, times: int | None, skip: int = 0
    ) -> None:
        pattern = path if isinstance(path, re.Pattern) else re.compile(path)
        self.faults.append(Fault(method, pattern, action, times, skip))

    # -- transport --------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            fault = next(
                (f for f in self.faults if _matches(request, f.method, f.path) and f.times != 0),
                None,
            )
            if fault is not None and fault.skip > 0:
                fault.skip -= 1
                fault = None
            elif fault is not None and fault.times is not None:
                fault.times -= 1
        if _matches(request, "POST", CREATE_PATH) and self.hold_creates is not None:
            self.create_entered.set()
            self.hold_creates.wait(timeout=30)
        if fault is not None:
            return fault.action(request)
        return self.sandbox.handle_request(request)


def _kind(request: httpx.Request) -> str:
    if _matches(request, "GET", RUN_DETAIL_PATH):
        return "get_run"
    if _matches(request, "GET", LIST_RUNS_PATH):
        return "list_runs"
    if _matches(request, "POST", CREATE_PATH):
        return "create_run"
    return f"{request.method} {request.url.path}"


def _matches(
    request: httpx.Request, method: str | None, path: str | re.Pattern[str] | None
) -> bool:
    if method is not None and request.method != method:
        return False
    if path is None:
        return True
    pattern = path if isinstance(path, re.Pattern) else re.compile(path)
    return bool(pattern.search(request.url.path))


@contextmanager
def upstream_for_tests(monkeypatch) -> Iterator[Upstream]:
    """Route teams.services' FLORA calls through an Upstream into the in-process sandbox."""
    with wsgi_transport() as sandbox:
        upstream = Upstream(sandbox)
        client = httpx.Client(transport=upstream, base_url="http://testserver")
        upstream.client = client
        monkeypatch.setattr("teams.services.get_http_client", lambda: client)
        try:
            yield upstream
        finally:
            client.close()


# -- reading forms the way a browser submits them -----------------------------------------


class _FormReader(HTMLParser):
    """What a browser would submit for the form with this id: (name, value) pairs."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = dict(attrs)
        if tag == "form" and data.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        sent = data.get("type") not in ("submit", "button", "checkbox", "radio")
        if tag == "input" and data.get("name") and "disabled" not in data and sent:
            self.fields[data["name"]] = data.get("value") or ""
        if tag == "textarea" and data.get("name") and "disabled" not in data:
            self._textarea = data["name"]
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            # Browsers drop the one newline that follows <textarea>.
            self.fields[self._textarea] = "".join(self._text).removeprefix("\n")
            self._textarea = None
        if tag == "form" and self.inside:
            self.inside = False


def read_form(html: str, form_id: str = "run-form") -> dict[str, str]:
    reader = _FormReader(form_id)
    reader.feed(html)
    assert reader.fields, f"no form #{form_id} in the page"
    return reader.fields


# -- starting runs from the technique page (tests/runs/test_submit*.py) ---------------------

DEMO = "sk_sandbox_demo"
TAROT = "tech_tarot-pull"


def page_form(client: Client, technique: str = TAROT, workspace: str = "ws_demo") -> dict:
    response = client.get(f"/techniques/{technique}/?workspace={workspace}")
    assert response.status_code == 200
    return read_form(response.content.decode())


def start(client: Client, technique: str = TAROT, values: dict | None = None, **extra):
    data = page_form(client, technique, extra.pop("workspace", "ws_demo"))
    data.update({f"in_{key}": value for key, value in (values or {}).items()})
    data.update(extra)
    return client.post(f"/techniques/{technique}/run", data), data


def intent_of(team, data: dict, technique: str = TAROT) -> str:
    """The intent key this posted form starts its runs under: its token and its inputs
    (techniques.forms.intent_key_for). The technique comes from the catalog cache the
    page filled, so FLORA sees no extra request."""
    from techniques.forms import RunForm
    from techniques.services import get_technique

    found = get_technique(team, technique).technique
    form = RunForm(data, technique=found, team=team, workspace_id=data.get("workspace", ""))
    assert form.is_valid(), form.errors
    assert form.intent_key and intent_from_token(team, technique, data["intent"])
    return form.intent_key


def html_of(response) -> str:
    return response.content.decode()


# -- reading the catalog page (tests/techniques/test_techniques_list*.py) ------------------

CATALOG_URL = "/techniques/"
HX = {"HX-Request": "true"}
TECHNIQUES_PATH = re.compile(r"/techniques$")


def catalog_names(html: str) -> list[str]:
    """The technique names on the cards, in page order."""
    return [unescape(n) for n in re.findall(r"<h3>([^<]+)</h3>", html)]


def catalog_next_url(html: str) -> str | None:
    """The "Load more" link, or None on the last page."""
    match = re.search(r'<a class="button" href="([^"]+)"\s+hx-get=', html)
    return unescape(match.group(1)) if match else None


def catalog_expected(workspace, *, takes: str = "", makes: str = "") -> list[str]:
    """The names the catalog shows for the sandbox's techniques in this workspace, filtered by
    input/output type, in the catalog's default order (by name, ignoring case, then id)."""
    techniques = sandbox_catalog.visible([workspace])
    matching = [
        t
        for t in techniques
        if (not takes or takes in {io.type for io in t.inputs})
        and (not makes or makes in {io.type for io in t.outputs})
    ]
    return [t.name for t in sorted(matching, key=lambda t: (t.name.casefold(), t.technique_id))]
