"""PostgreSQL: a connection pool, no per-request health-check round trip (florasite.lib.db_pool)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from florasite.lib.db_pool import check_idle_connection

ROOT = Path(__file__).resolve().parent.parent


def _database_settings(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "GUNICORN"))}
    clean.update({"DJANGO_SETTINGS_MODULE": "florasite.settings", "DEBUG": "true", **env})
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "d = settings.DATABASES['default']; pool = d['OPTIONS'].get('pool'); "
        "print(json.dumps({'age': d['CONN_MAX_AGE'], 'checks': d['CONN_HEALTH_CHECKS'], "
        "'engine': d['ENGINE'], 'pool': pool}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_uses_a_pool_without_health_check_queries():
    found = _database_settings({"DATABASE_URL": "postgres://u:p@db.example:5432/florasite"})
    assert found["checks"] is False  # no SELECT 1 per request
    assert found["age"] == 0  # the pool's rule: borrowed per request, given back
    assert found["engine"] == "florasite.lib.postgresql"  # dead ones found, no I/O
    assert found["pool"]["max_size"] == 9  # the default 8 threads, and one
    assert found["pool"]["max_idle"] == 60.0


def test_the_pool_size_follows_the_threads_or_its_own_variable():
    url = {"DATABASE_URL": "postgres://u:p@db.example:5432/florasite"}
    assert _database_settings({**url, "GUNICORN_THREADS": "16"})["pool"]["max_size"] == 17
    assert _database_settings({**url, "DATABASE_POOL_SIZE": "4"})["pool"]["max_size"] == 4


def test_sqlite_keeps_persistent_connections():
    found = _database_settings({"DATABASE_URL": "sqlite:////tmp/florasite-pool-test.sqlite3"})
    assert found["pool"] is None
    assert found["age"] == 60


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs TEST_DATABASE_URL=postgres://..."
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_request_sends_no_select_1(client):
    from django.test.utils import CaptureQueriesContext

    client.get("/healthz")
    with CaptureQueriesContext(connection) as queries:
        client.get("/accounts/login/")
    assert not [q for q in queries.captured_queries if q["sql"].strip().upper() == "SELECT 1"]
    assert connection.pool is not None


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_idle_connection_the_server_ended_is_refused_and_replaced():
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as victim:
        check_idle_connection(victim)  # a live idle connection passes, and nothing was sent
        pid = victim.info.backend_pid
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        import time

        for _ in range(50):  # the server's goodbye arrives in a moment
            try:
                check_idle_connection(victim)
            except psycopg.OperationalError:
                break
            time.sleep(0.02)
        else:
            pytest.fail("a terminated connection passed the check")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_backend_replaces_a_pooled_connection_the_server_ended():
    import psycopg
    from django.db import connection as django_connection

    django_connection.ensure_connection()
    pool = django_connection.pool
    pid = django_connection.connection.info.backend_pid
    django_connection.close()  # back to the pool, idle
    params = django_connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("pool", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %s", [pid]
        )
    import time

    time.sleep(0.2)
    with django_connection.cursor() as cursor:  # no error: another connection was lent
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
    assert django_connection.pool is pool
