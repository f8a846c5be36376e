"""The status box in flight is rendered once per state of the run and kept per process
(runs.views.status.in_flight_html): the kept render must be the template's own answer for
every state, show a change at the next poll, and still tell each viewer the elapsed time."""

from __future__ import annotations

import copy
import itertools
from datetime import datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.http import HttpResponse
from django.template import Template
from django.template.loader import get_template
from django.test import RequestFactory
from django.utils import timezone
from django.utils.http import parse_http_date
from django.views.decorators.cache import never_cache
from django.views.decorators.vary import vary_on_headers

from runs.models import IN_FLIGHT_STATUSES, Run
from runs.templatetags.run_live import run_box
from runs.views import status as status_views
from runs.views.status import IN_FLIGHT_RENDERS, STATUS_FIELDS, box_key, in_flight_html
from tests.runs.live_helpers import plain_run

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _empty_cache():
    status_views._kept.clear()
    yield
    status_views._kept.clear()


@pytest.fixture
def renders():
    """Counts the renders (run_box is asked only when the kept render is missing)."""
    with mock.patch.object(status_views, "run_box", wraps=run_box) as spy:
        yield spy


@pytest.fixture
def frozen_now(monkeypatch):
    """timezone.now() fixed at a moment the test moves (elapsed time is counted from it)."""
    moment = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: moment[0])
    return moment


def _watched_run(team, user) -> Run:
    """A run at 42 % whose refresh another viewer holds: polls read it, none asks FLORA."""
    return plain_run(
        team,
        user,
        status="running",
        progress=42,
        flora_run_id="run_x",
        submitted_at=timezone.now(),
        refresh_claimed_until=timezone.now() + timedelta(hours=1),
    )


def _as_polled(run: Run) -> Run:
    """The run as the poll reads it: only the status columns."""
    return Run.objects.only(*STATUS_FIELDS).get(pk=run.pk)


def _rendered_whole(run: Run) -> str:
    """What the template renders for the run itself, without the kept render."""
    context = {"run": run, "status_title": True, "status_oob_outputs": False}
    return get_template("runs/_status.html").render(context)


def test_the_kept_render_is_the_templates_answer_in_every_state(team_a, bob, frozen_now, renders):
    start = frozen_now[0] - timedelta(seconds=75)
    names = ["Tarot Pull", '<img src=x onerror="alert(1)"> & Co']
    states = list(
        itertools.product(
            sorted(IN_FLIGHT_STATUSES), [0.0, 0.5, 42.0], [False, True], [0, 1, 3], names
        )
    )
    for status, progress, stale, failures, name in states:
        run = plain_run(
            team_a,
            bob,
            status=status,
            progress=progress,
            stale=stale,
            refresh_failures=failures,
            technique_name=name,
            submitted_at=start,
        )
        polled = _as_polled(run)
        expected = _rendered_whole(polled)
        assert in_flight_html(polled) == expected  # rendered, then kept
        assert in_flight_html(_as_polled(run)) == expected  # from the kept render
        assert "\x00" not in expected
        assert "<img src=x" not in expected
        if name != "Tarot Pull":
            assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; Co" in expected
    assert renders.call_count == len(states)


def _other_value(field: str, value: object) -> list[object]:
    """Values of a run's column other than `value`, of its type."""
    if field == "status":
        return sorted(set(IN_FLIGHT_STATUSES) - {value})
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int | float):
        return [value + 1, value + 0.4]
    if isinstance(value, str):
        return [value + "x"]
    if isinstance(value, datetime):
        return [value - timedelta(minutes=5), None]
    if value is None:
        return [timezone.now() - timedelta(minutes=5)]
    raise AssertionError(f"no other value for {field}={value!r}")


def test_the_key_holds_every_column_the_box_shows(team_a, bob, frozen_now):
    """Any change of a polled column that changes the box (all but the elapsed time) changes
    the key: the kept render of one state is never served for another."""
    run = _as_polled(
        plain_run(
            team_a,
            bob,
            status="running",
            progress=42,
            flora_run_id="run_x",
            submitted_at=frozen_now[0] - timedelta(seconds=90),
            refresh_failures=1,
        )
    )
    template = get_template("runs/_status.html").template

    def shown(r: Run) -> dict[str, object]:
        return {k: v for k, v in run_box(r).items() if k != "elapsed"}

    checked = 0
    for field in STATUS_FIELDS:
        for value in _other_value(field, getattr(run, field)):
            variant = copy.copy(run)
            setattr(variant, field, value)
            if shown(variant) != shown(run):
                assert box_key(template, variant) != box_key(template, run), (field, value)
                checked += 1
    assert checked >= 8  # status, progress, name, code, stale, failures, the poll's pace...


def test_viewers_share_one_render_and_each_sees_the_elapsed_time(
    bob_client, team_a, bob, frozen_now, renders
):
    run = plain_run(
        team_a,
        bob,
        status="running",
        progress=42,
        flora_run_id="run_x",
        submitted_at=frozen_now[0] - timedelta(seconds=12),
        refresh_claimed_until=frozen_now[0] + timedelta(hours=1),  # another viewer asks FLORA
    )
    first = bob_client.get(f"/runs/{run.code}/status", headers=HX).content.decode()
    frozen_now[0] += timedelta(seconds=33)
    second = bob_client.get(f"/runs/{run.code}/status", headers=HX).content.decode()
    assert "12 s elapsed" in first
    assert "45 s elapsed" in second
    assert first.replace("12 s", "45 s") == second
    assert renders.call_count == 1


def test_a_change_of_the_run_shows_at_the_next_poll(bob_client, team_a, bob):
    run = _watched_run(team_a, bob)
    url = f"/runs/{run.code}/status"
    assert "42 %" in bob_client.get(url, headers=HX).content.decode()
    Run.objects.filter(pk=run.pk).update(progress=43)
    assert "43 %" in bob_client.get(url, headers=HX).content.decode()
    Run.objects.filter(pk=run.pk).update(refresh_failures=2)
    assert "our last 2 checks" in bob_client.get(url, headers=HX).content.decode()
    Run.objects.filter(pk=run.pk).update(stale=True)
    body = bob_client.get(url, headers=HX).content.decode()
    assert "FLORA may have lost this run" in body
    assert 'hx-trigger="every 60000ms"' in body  # a stale run polls slowly


def test_a_run_of_another_team_is_never_served_from_the_kept_render(
    bob_client, dave_client, team_a, bob
):
    run = _watched_run(team_a, bob)
    url = f"/runs/{run.code}/status"
    assert bob_client.get(url, headers=HX).status_code == 200
    assert dave_client.get(url, headers=HX).status_code == 404


def test_the_kept_renders_are_bounded(team_a, bob):
    run = plain_run(team_a, bob, status="running", submitted_at=timezone.now())
    for n in range(IN_FLIGHT_RENDERS + 50):
        Run.objects.filter(pk=run.pk).update(progress=n % 101, refresh_failures=n)
        in_flight_html(_as_polled(run))
    assert len(status_views._kept) == IN_FLIGHT_RENDERS
    # The oldest went first: the newest states are still kept.
    assert "our last 1073 checks" in next(reversed(status_views._kept.values()))


def test_an_edited_template_is_a_new_key(team_a, bob):
    """Under runserver's reloader an edited template is a new Template object: the kept
    render of the old one is not served for it."""
    run = _as_polled(plain_run(team_a, bob, status="running", submitted_at=timezone.now()))
    in_flight_html(run)
    edited = SimpleNamespace(template=Template("edited {{ box.code }}"))
    with mock.patch.object(status_views, "get_template", return_value=edited):
        assert in_flight_html(run) == f"edited {run.code}"


def test_an_older_runs_render_lasts_while_its_poll_pace_holds(team_a, bob, frozen_now, renders):
    """After its first minute a run's refresh interval grows with every millisecond of
    age; its box polls in whole seconds, so the kept render still serves the next polls."""
    run = plain_run(
        team_a,
        bob,
        status="running",
        progress=5,
        submitted_at=frozen_now[0] - timedelta(seconds=75),
    )
    first = in_flight_html(_as_polled(run))
    assert 'hx-trigger="every 3000ms"' in first  # 2.5 s and 10 %, rounded up to 3 s
    frozen_now[0] += timedelta(seconds=5)
    assert 'hx-trigger="every 3000ms"' in in_flight_html(_as_polled(run))
    assert renders.call_count == 1


def test_polls_are_never_cached_as_with_djangos_decorators(bob_client, team_a, bob):
    run = plain_run(team_a, bob, status="running", submitted_at=timezone.now())
    polled = bob_client.get(f"/runs/{run.code}/status", headers=HX)
    row = bob_client.get(f"/runs/{run.code}/status/row", headers=HX)
    django_way = never_cache(vary_on_headers("HX-Request")(lambda r: HttpResponse("x")))(
        RequestFactory().get("/")
    )
    for response in (polled, row):
        assert response.status_code == 200
        assert response["Cache-Control"] == django_way["Cache-Control"]
        assert parse_http_date(response["Expires"]) <= parse_http_date(django_way["Expires"])
        assert {"HX-Request", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}
