"""gunicorn settings for florasite; each can be overridden from the environment."""

from __future__ import annotations

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 10
keepalive = 5
# Our own request log (with request ids) replaces gunicorn's access log.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
wsgi_app = "florasite.wsgi:application"
