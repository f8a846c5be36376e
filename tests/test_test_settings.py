"""florasite.test_settings picks the tests' database and cache on purpose, never from a shell.

A developer who exports DATABASE_URL for their own database must not run the suite against
it: the test settings ignore DATABASE_URL, REDIS_URL and CACHE_KEY_PREFIX, and read
TEST_DATABASE_URL, TEST_REDIS_URL and TEST_CACHE_KEY_PREFIX instead (CI's PostgreSQL run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL_DATABASE = "postgres://me:secret@db.example.com:5432/production"
REAL_REDIS = "redis://cache.example.com:6379/0"

_SHOW = """
import json
from django.conf import settings
db, cache = settings.DATABASES["default"], settings.CACHES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "cache": cache["BACKEND"], "location": cache.get("LOCATION", ""),
    "prefix": cache.get("KEY_PREFIX", ""),
}))
"""


def _test_settings(extra_env: dict[str, str]) -> tuple[dict[str, str], str]:
    names = ("DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX")
    clean = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("TEST_")}
    clean.update({"DJANGO_SETTINGS_MODULE": "florasite.test_settings", **extra_env})
    result = subprocess.run(
        [sys.executable, "-c", _SHOW],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_an_exported_database_url_does_not_change_the_test_database():
    seen, stderr = _test_settings(
        {"DATABASE_URL": REAL_DATABASE, "REDIS_URL": REAL_REDIS, "CACHE_KEY_PREFIX": "mine"}
    )

    assert seen["engine"] == "django.db.backends.sqlite3"
    assert "production" not in seen["name"]
    assert seen["host"] == ""
    assert seen["cache"] == "django.core.cache.backends.db.DatabaseCache"
    assert seen["prefix"] != "mine"
    assert "ignoring DATABASE_URL" in stderr
    assert "ignoring REDIS_URL" in stderr


def test_the_test_variables_choose_the_database_and_cache(tmp_path):
    database = tmp_path / "chosen.sqlite3"
    seen, stderr = _test_settings(
        {
            "DATABASE_URL": REAL_DATABASE,
            "TEST_DATABASE_URL": f"sqlite:///{database}",
            "TEST_REDIS_URL": "redis://127.0.0.1:6379/9",
            "TEST_CACHE_KEY_PREFIX": "florasite-ci",
        }
    )

    assert seen["name"] == str(database)
    assert seen["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert seen["location"] == "redis://127.0.0.1:6379/9"
    assert seen["prefix"] == "florasite-ci"
    assert "ignoring DATABASE_URL" in stderr
