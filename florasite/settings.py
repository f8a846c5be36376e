"""florasite settings: every value comes from the environment (see README, "Deployment").

Helpers in florasite.env parse strictly; a malformed value stops the process with a message
naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

import florasite
from florasite.env import env_bool, env_float, env_int, env_list, env_secret, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FLORASITE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# `manage.py <command> --help` needs the settings but no secret (see florasite.HELP_ONLY): the
# web server, the worker and every command that does something still refuse without them.
_SECRETS_REQUIRED = not DEBUG and not florasite.HELP_ONLY

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if _SECRETS_REQUIRED:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY or SECRET_KEY_FILE "
            "(`make run` generates one in var/secret_key)."
        )
    SECRET_KEY = "django-insecure-debug-only-key-never-used-in-production"

PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
_public = urlsplit(PUBLIC_BASE_URL)
PUBLIC_BASE_URL_IS_HTTPS = _public.scheme == "https"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", _public.hostname or ""])
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", [f"{_public.scheme}://{_public.netloc}"] if PUBLIC_BASE_URL else []
)
for _origin in CSRF_TRUSTED_ORIGINS:
    if urlsplit(_origin).scheme not in ("http", "https"):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries must start with http:// or https://, got {_origin!r}."
        )

# Secrets of teams' FLORA connections are encrypted with these (newest first). They are
# independent of SECRET_KEY so that rotating one never makes the other unreadable.
FLORASITE_ENCRYPTION_KEYS = [
    key.strip() for key in env_secret("FLORASITE_ENCRYPTION_KEYS").split(",") if key.strip()
]
for _position, _key in enumerate(FLORASITE_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"FLORASITE_ENCRYPTION_KEYS: key #{_position} is not a valid Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from None
if not FLORASITE_ENCRYPTION_KEYS and _SECRETS_REQUIRED:
    raise ImproperlyConfigured(
        "FLORASITE_ENCRYPTION_KEYS is not set. Set it (or FLORASITE_ENCRYPTION_KEYS_FILE) to a "
        "comma-separated list of Fernet keys, newest first (`make run` generates one in var/)."
    )

FLORA_SANDBOX_ENABLED = env_bool("FLORA_SANDBOX_ENABLED", False)
FLORA_SANDBOX_SPEEDUP = env_float("FLORA_SANDBOX_SPEEDUP", 1.0, minimum=0.001)
FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS = env_bool("FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS", False)
FLORA_CATALOG_TTL = env_int("FLORA_CATALOG_TTL", 300, minimum=0)
# A FLORA call made while a person waits ends within FLORA_PAGE_DEADLINE seconds (connect to
# last byte); at most FLORA_PAGE_CALLS_PER_TEAM of one team's such calls wait at once in one
# web process (teams.upstream), so a slow FLORA holds only that many threads.
FLORA_PAGE_DEADLINE = env_float("FLORA_PAGE_DEADLINE", 8.0, minimum=0.1)
FLORA_PAGE_CALLS_PER_TEAM = env_int("FLORA_PAGE_CALLS_PER_TEAM", 2, minimum=1)
HEALTHZ_MAX_HEARTBEAT_AGE = env_int("HEALTHZ_MAX_HEARTBEAT_AGE", 60, minimum=1)
# Runs still unfinished this many seconds after they started are flagged stale (shown in the
# UI) and asked about every 10 minutes instead of every few seconds.
FLORA_RUN_STALE_AFTER = env_int("FLORA_RUN_STALE_AFTER", 2 * 60 * 60, minimum=60)
# Kept run outputs: the largest file the worker copies from FLORA (bytes), and how many
# share pages one client may open per minute.
FLORASITE_OUTPUT_MAX_BYTES = env_int("FLORASITE_OUTPUT_MAX_BYTES", 200 * 1024 * 1024, minimum=1)
FLORASITE_SHARE_VIEWS_PER_MINUTE = env_int("FLORASITE_SHARE_VIEWS_PER_MINUTE", 60, minimum=1)
# Reverse proxies in front of gunicorn that append to X-Forwarded-For (a TLS proxy, a load
# balancer: count each). Per-client limits then count the address they forward; 0 (direct
# exposure) trusts no header.
FLORASITE_PROXY_COUNT = env_int("FLORASITE_PROXY_COUNT", 0, minimum=0)
# Batches (batches/): a batch of more runs than this needs a manager's approval before it
# starts, and the worker keeps at most this many of a team's batch runs in flight at once.
FLORASITE_BATCH_APPROVAL_OVER = env_int("FLORASITE_BATCH_APPROVAL_OVER", 100, minimum=1)
FLORASITE_BATCH_CONCURRENCY = env_int("FLORASITE_BATCH_CONCURRENCY", 4, minimum=1)
# CSV exports of the run history (exports/): a ready file is kept this many days, then deleted.
FLORASITE_EXPORT_KEEP_DAYS = env_int("FLORASITE_EXPORT_KEEP_DAYS", 7, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    # florasite before django_tasks_db: its db_worker command (heartbeat, periodic jobs)
    # shadows the upstream one.
    "florasite",
    "django_tasks",
    "django_tasks_db",
    "teams",
    "uploads",
    "techniques",
    "runs",
    "boards",
    "budgets",
    "batches",
    "gallery",
    "exports",
    "sandbox",
]

MIDDLEWARE = [
    "florasite.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Times in the viewer's zone (the `tz` cookie of static/js/tz.js), else TIME_ZONE.
    "florasite.middleware.ViewerTimeZoneMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.team / request.membership, checked against membership on every request.
    "teams.middleware.CurrentTeamMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, building its header once per response (florasite.csp).
    "florasite.csp.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "florasite.urls"
WSGI_APPLICATION = "florasite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "florasite.context_processors.site",
                "teams.context_processors.current_team",
            ],
        },
    }
]

_default_db = f"sqlite:///{VAR_DIR / 'florasite.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL") or _default_db, conn_max_age=60, conn_health_checks=True
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool per process instead of persistent connections with CONN_HEALTH_CHECKS (one
    # SELECT 1 per request): a dead idle connection is found without a round trip
    # (florasite.lib.db_pool; the backend florasite.lib.postgresql is Django's, checking
    # each connection the pool lends). The pool needs CONN_MAX_AGE 0 (a borrowed connection goes
    # back at the request's end). Size: a web process's threads, plus one for its jobs.
    from florasite.lib.db_pool import pool_options

    DATABASES["default"].update(
        ENGINE="florasite.lib.postgresql", CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False
    )
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = pool_options(
        env_int("DATABASE_POOL_SIZE", env_int("GUNICORN_THREADS", 8, minimum=1) + 1, minimum=1)
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and the writer work side by side; IMMEDIATE transactions take the write
    # lock up front, so concurrent writers queue (up to the timeout) instead of failing.
    # Connections persist per thread (as for PostgreSQL): opening one and setting its pragmas
    # on every request cost more than the request's own queries.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "florasite"),
        }
    }
else:
    # A database cache is shared by every gunicorn worker and the background worker.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "florasite_cache",
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "florasite"),
        }
    }

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        # "outputs": copies of run outputs (runs.tasks.OUTPUTS_QUEUE), kept apart from the rest.
        "QUEUES": ["default", "outputs"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# One backend, which claims a log-in attempt slot before checking the password (florasite.auth):
# every way in (our page, the admin's, any authenticate() call) is throttled the same.
AUTHENTICATION_BACKENDS = ["florasite.auth.ThrottledModelBackend"]
LOGIN_URL = "login"
# Failed log-ins allowed in 15 minutes before a username, or a client address, must wait.
# No more passwords than this are ever checked, also for simultaneous attempts.
LOGIN_FAILURES_PER_USER = env_int("LOGIN_FAILURES_PER_USER", 5, minimum=1)
LOGIN_FAILURES_PER_CLIENT = env_int("LOGIN_FAILURES_PER_CLIENT", 30, minimum=1)
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")

# Email (budget alerts to the team's managers). The console backend writes them to stdout;
# SMTP (or any backend, e.g. django-anymail's) is chosen by EMAIL_BACKEND.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "florasite@localhost")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Media (kept outputs, uploads, thumbnails): a folder (MEDIA_ROOT), or a private S3-compatible
# bucket through django-storages. Either way every file is read through the dashboard's
# checks (florasite.lib.media): from a bucket the browser is sent a short-lived signed URL
# (FLORASITE_MEDIA_DELIVERY=redirect) or the dashboard streams the bytes itself (proxy).
FLORASITE_MEDIA_STORAGE = env_str("FLORASITE_MEDIA_STORAGE", "filesystem").strip().lower()
FLORASITE_MEDIA_DELIVERY = env_str("FLORASITE_MEDIA_DELIVERY", "redirect").strip().lower()
# How long a signed URL works: also how long one handed out before a share link was revoked
# (or a member removed) still works. SigV4 allows at most 7 days.
FLORASITE_MEDIA_URL_EXPIRY = env_int("FLORASITE_MEDIA_URL_EXPIRY", 300, minimum=10)
if FLORASITE_MEDIA_STORAGE not in ("filesystem", "s3"):
    raise ImproperlyConfigured(
        f"FLORASITE_MEDIA_STORAGE must be 'filesystem' or 's3', got {FLORASITE_MEDIA_STORAGE!r}."
    )
if FLORASITE_MEDIA_DELIVERY not in ("redirect", "proxy"):
    raise ImproperlyConfigured(
        f"FLORASITE_MEDIA_DELIVERY must be 'redirect' or 'proxy', got {FLORASITE_MEDIA_DELIVERY!r}."
    )
if FLORASITE_MEDIA_URL_EXPIRY > 7 * 24 * 3600:
    raise ImproperlyConfigured("FLORASITE_MEDIA_URL_EXPIRY must be at most 604800 (7 days).")
# Origins the browser loads media from besides ours (the CSP below allows them).
MEDIA_ORIGINS: list[str] = []
_media_storage: dict[str, object] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if FLORASITE_MEDIA_STORAGE == "s3":
    from botocore.config import Config as _BotoConfig

    _bucket = env_str("AWS_STORAGE_BUCKET_NAME").strip()
    if not _bucket:
        raise ImproperlyConfigured(
            "FLORASITE_MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (the bucket's name)."
        )
    _s3_endpoint = env_url("AWS_S3_ENDPOINT_URL")  # empty: AWS itself
    _s3_style = env_str("AWS_S3_ADDRESSING_STYLE", "auto").strip().lower()
    if _s3_style not in ("auto", "path", "virtual"):
        raise ImproperlyConfigured(
            f"AWS_S3_ADDRESSING_STYLE must be 'auto', 'path' or 'virtual', got {_s3_style!r}."
        )
    _s3_key_id = env_secret("AWS_ACCESS_KEY_ID")
    _s3_secret = env_secret("AWS_SECRET_ACCESS_KEY")
    if bool(_s3_key_id) != bool(_s3_secret):
        raise ImproperlyConfigured(
            "Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or their _FILE forms), or "
            "neither (boto3 then finds credentials itself: an instance or task role)."
        )
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": _s3_endpoint or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "us-east-1").strip() or "us-east-1",
            "access_key": _s3_key_id or None,
            "secret_key": _s3_secret or None,
            "location": env_str("AWS_LOCATION", "").strip().strip("/"),
            # Private: no ACL is set on objects, and URLs are always signed.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": FLORASITE_MEDIA_URL_EXPIRY,
            # Two outputs whose names collide get two objects, as on the filesystem.
            "file_overwrite": False,
            # A file opened whole (a thumbnail's source) spills to disk past 10 MB.
            "max_memory_size": 10 * 1024 * 1024,
            "client_config": _BotoConfig(
                signature_version="s3v4",
                s3={"addressing_style": _s3_style},
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
                # S3-compatible stores (MinIO, R2, Ceph) do not all take boto3's new
                # default checksums.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        },
    }
    if FLORASITE_MEDIA_DELIVERY == "redirect":
        # The origin of the signed URLs, as boto3 builds them (a bucket's virtual host or the
        # endpoint's, by region and addressing style); signed with dummy keys, no request.
        import boto3 as _boto3

        _sample = (
            _boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x")
            .client(
                "s3",
                endpoint_url=_s3_endpoint or None,
                region_name=_media_storage["OPTIONS"]["region_name"],
                config=_media_storage["OPTIONS"]["client_config"],
            )
            .generate_presigned_url("get_object", Params={"Bucket": _bucket, "Key": "k"})
        )
        MEDIA_ORIGINS.append("{0.scheme}://{0.netloc}".format(urlsplit(_sample)))
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# A strict Content Security Policy: scripts and styles only from our own origin, no inline
# code anywhere (htmx is configured for it in base.html). Images and media may come from any
# https origin because run inputs are https URLs chosen by members and shown as previews.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],
        "media-src": [SELF, "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
    }
}
# Signed media URLs load from the bucket's origin (the storage block above).
for _directive in ("img-src", "media-src", "frame-src"):
    CONTENT_SECURITY_POLICY["DIRECTIVES"][_directive] += MEDIA_ORIGINS

# Django's database sessions, loaded by one prepared query per request (florasite.sessions).
SESSION_ENGINE = "florasite.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PUBLIC_BASE_URL_IS_HTTPS
CSRF_COOKIE_SECURE = PUBLIC_BASE_URL_IS_HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PUBLIC_BASE_URL_IS_HTTPS:
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    # The dashboard holds a company's paid API key: HTTPS everywhere under its domain.
    # The preload flag only takes effect if the domain is submitted to the browsers' list.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    if env_bool("SECURE_PROXY_SSL_HEADER", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR: {LOG_LEVEL!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"redact_tokens": {"()": "florasite.logging.RedactTokensFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.request": {"filters": ["redact_tokens"]},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
