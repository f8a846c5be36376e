from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import get_commands
from django.utils import timezone
from django_tasks import default_task_backend, task
from django_tasks.base import Task

from florasite import periodic
from florasite.models import PeriodicJob, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_is_503_when_no_worker_ever_beat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["worker"] == "never seen"


def test_healthz_is_200_with_fresh_heartbeat_and_reports_its_age(client):
    periodic.beat("worker-1", now=timezone.now() - timedelta(seconds=3))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert 2 <= body["worker_heartbeat_age_seconds"] < 30


def test_healthz_is_503_when_heartbeat_is_stale(client, settings):
    settings.HEALTHZ_MAX_HEARTBEAT_AGE = 60
    periodic.beat("worker-1", now=timezone.now() - timedelta(minutes=5))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"] == "stale"


def test_healthz_needs_no_login_and_rejects_post(client):
    assert client.post("/healthz").status_code == 405


def test_beat_updates_one_row_per_worker():
    periodic.beat("w1")
    periodic.beat("w1")
    periodic.beat("w2")
    assert WorkerHeartbeat.objects.count() == 2


@task()
def _demo_job() -> None:
    """A periodic job for the claim test (the dummy backend records each enqueue)."""


class _FakeTask:
    """Counts the enqueues of _demo_job, as the fake task counted its own."""

    @property
    def calls(self) -> int:
        return sum(1 for result in default_task_backend.results if result.task == _demo_job)


def test_periodic_job_is_claimed_once_per_period(monkeypatch):
    fake = _FakeTask()
    monkeypatch.setattr(periodic, "_JOBS", {})
    default_task_backend.clear()
    periodic.register("demo", timedelta(seconds=30), _demo_job)
    now = timezone.now()
    assert periodic.tick("a", now=now) == ["demo"]
    # A second worker ticking at the same moment, or a bit later, loses the claim.
    assert periodic.tick("b", now=now) == []
    assert periodic.tick("b", now=now + timedelta(seconds=10)) == []
    assert periodic.tick("b", now=now + timedelta(seconds=31)) == ["demo"]
    assert fake.calls == 2
    assert PeriodicJob.objects.get(name="demo").last_worker_id == "b"


def test_every_periodic_job_is_registered_by_its_task():
    assert periodic._JOBS  # the apps registered theirs in ready()
    for job in periodic._JOBS.values():
        assert isinstance(job.task, Task), job.name


def test_a_job_named_by_a_dotted_path_is_refused_at_registration(monkeypatch):
    monkeypatch.setattr(periodic, "_JOBS", {})
    with pytest.raises(TypeError, match="expected a django-tasks Task"):
        periodic.register("typo", timedelta(minutes=1), "runs.tasks.sweep_runz")
    assert periodic._JOBS == {}


def test_db_worker_is_ours():
    assert get_commands()["db_worker"] == "florasite"


def test_request_id_header_and_log_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="florasite.request"):
        response = client.get("/accounts/login/")
    request_id = response["X-Request-ID"]
    assert request_id.startswith("fs_")
    lines = [r.getMessage() for r in caplog.records if r.name == "florasite.request"]
    assert any("GET /accounts/login/ 200" in line and request_id in line for line in lines)


def test_incoming_request_id_is_reused_only_when_well_formed(client):
    good = client.get("/accounts/login/", HTTP_X_REQUEST_ID="abc12345-proxy")
    assert good["X-Request-ID"] == "abc12345-proxy"
    bad = client.get("/accounts/login/", HTTP_X_REQUEST_ID="evil\nline injected")
    assert bad["X-Request-ID"].startswith("fs_")


def test_share_tokens_are_cut_from_the_request_log(client, caplog):
    with caplog.at_level(logging.INFO, logger="florasite.request"):
        client.get("/s/SECRETTOKENVALUE1234567890")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRETTOKENVALUE1234567890" not in text


def test_custom_404_page_in_product_look(client, django_user_model):
    user = django_user_model.objects.create_user("erin", password="pw-erin-123456")
    client.force_login(user)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Not found" in html and "css/site.css" in html


def test_production_like_settings_pass_the_deploy_checks(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from cryptography.fernet import Fernet

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLORA", "DATABASE_URL"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "florasite.settings",
            "DEBUG": "false",
            "SECRET_KEY": "k" * 20 + "Zq9!x" * 10,
            "FLORASITE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "PUBLIC_BASE_URL": "https://florasite.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


_LOGIN_AFTER_MIGRATE = """
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client

table = settings.CACHES["default"]["LOCATION"]
print("cache table:", table in connection.introspection.table_names())
cache.set("probe", 1)
print("cache works:", cache.get("probe") == 1)
User.objects.create_user("erin", password="correct horse battery")
client = Client()
wrong = client.post("/accounts/login/", {"username": "erin", "password": "nope"})
print("wrong password:", wrong.status_code)
right = client.post("/accounts/login/", {"username": "erin", "password": "correct horse battery"})
print("right password:", right.status_code)
"""


def test_a_database_set_up_by_migrate_alone_has_the_cache_table_and_login_works(tmp_path):
    # The usual Django deploy step is `migrate`; a forgotten `createcachetable` made every
    # log-in a 500 (the lock-out counts lived in the database cache).
    import os
    import subprocess
    import sys
    from pathlib import Path

    from cryptography.fernet import Fernet

    root = Path(__file__).resolve().parent.parent
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLORA", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "florasite.settings",
            # DEBUG keeps static files out of the way (no collected manifest needed).
            "DEBUG": "true",
            "SECRET_KEY": "k" * 50,
            "FLORASITE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "FLORASITE_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
        }
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "--noinput", "-v0")
    out = manage("shell", "-c", _LOGIN_AFTER_MIGRATE)
    assert "cache table: True" in out
    assert "cache works: True" in out
    assert "wrong password: 200" in out
    assert "right password: 302" in out


def test_housekeeping_forgets_old_heartbeats_and_old_task_results():
    from django_tasks_db.models import DBTaskResult

    from florasite.tasks import prune

    periodic.beat("old-worker", now=timezone.now() - timedelta(days=2))
    periodic.beat("live-worker")
    old = DBTaskResult.objects.create(
        task_path="runs.tasks.sweep_runs",
        status="SUCCESSFUL",
        backend_name="default",
        args_kwargs={"args": [], "kwargs": []},
        run_after=timezone.now(),
        finished_at=timezone.now() - timedelta(days=8),
    )
    counts = prune()
    assert counts["worker heartbeats"] == 1
    assert counts["task results"] == 1
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["live-worker"]
    assert not DBTaskResult.objects.filter(pk=old.pk).exists()


def test_housekeeping_forgets_ended_rate_limit_windows():
    from florasite.lib import ratelimit
    from florasite.models import RateLimitCounter
    from florasite.tasks import prune

    ratelimit.hit("old", 5, timedelta(minutes=15), now=timezone.now() - timedelta(minutes=16))
    ratelimit.hit("live", 5, timedelta(minutes=15))
    assert prune()["rate-limit counters"] == 1
    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["live"]


def test_housekeeping_and_the_runs_jobs_are_registered():
    names = set(periodic._JOBS)
    assert {"florasite.housekeeping", "runs.sweep", "runs.sync", "runs.reconcile"} <= names


def test_favicon_ico_points_at_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith(".svg")
