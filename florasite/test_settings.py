"""Settings for the test suite: the real settings, with test-only secrets filled in.

The database and cache are chosen on purpose, never inherited: DATABASE_URL, REDIS_URL and
CACHE_KEY_PREFIX (a developer's shell may export them for their own database) are ignored
here, and TEST_DATABASE_URL, TEST_REDIS_URL and TEST_CACHE_KEY_PREFIX take their place (CI
sets those for its PostgreSQL and Redis run). Without them: a throwaway SQLite file and the
database cache.
"""

from __future__ import annotations

import os
import warnings

for _name in ("DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX"):
    # Replaced in the environment, not only ignored, so that the processes tests start (a
    # worker, a server) make the same choice.
    _exported = os.environ.pop(_name, "")
    _chosen = os.environ.get(f"TEST_{_name}", "")
    if _exported and _exported != _chosen:
        warnings.warn(
            f"florasite.test_settings: ignoring {_name} from the environment "
            f"(set TEST_{_name} to run the tests with one).",
            stacklevel=1,
        )
    if _chosen:
        os.environ[_name] = _chosen

# Test-only secrets, unless the environment brings its own (either form of the setting).
if not os.environ.get("SECRET_KEY_FILE"):
    os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
if not os.environ.get("FLORASITE_ENCRYPTION_KEYS_FILE"):
    # A fixed key so that encrypted fixtures are reproducible; never used outside tests.
    os.environ.setdefault(
        "FLORASITE_ENCRYPTION_KEYS", "dGVzdC1lbmNyeXB0aW9uLWtleS0xMjM0NTY3ODkwMTI="
    )
os.environ.setdefault("FLORA_SANDBOX_ENABLED", "true")
os.environ.setdefault("FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS", "true")
os.environ.setdefault("PUBLIC_BASE_URL", "http://testserver")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from florasite.settings import *  # noqa: E402,F403
from florasite.settings import VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"
# Tests run background work by calling the task functions directly.
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.dummy.DummyBackend",
        "QUEUES": ["default", "outputs"],
    }
}
# Static files come from the finders in tests; there is no collected folder.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's shared-cache memory database: there, concurrent writers get
    # "database is locked" at once instead of queueing as they do in production (WAL with a
    # busy timeout), and the tests of double submissions from several threads need queueing.
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"florasite-test-{os.getpid()}.sqlite3")
    }
    # Durability is worthless for a throwaway test database; speed is not.
    DATABASES["default"]["OPTIONS"]["init_command"] = (  # noqa: F405
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
    )
