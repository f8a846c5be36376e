"""gunicorn settings for florasite; each can be overridden from the environment.

Read with florasite.env's strict readers: a malformed value (GUNICORN_WORKERS=two) stops
gunicorn at start-up with a message naming the variable.
"""

from __future__ import annotations

import sys
from pathlib import Path

# gunicorn reads this file before it moves to --chdir: florasite is found from here.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from florasite.env import env_int, env_str  # noqa: E402

bind = env_str("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = env_int("GUNICORN_WORKERS", 2, minimum=1)
threads = env_int("GUNICORN_THREADS", 8, minimum=1)
# 0 turns gunicorn's worker timeout off.
timeout = env_int("GUNICORN_TIMEOUT", 60, minimum=0)
graceful_timeout = 10
keepalive = 5
# Our own request log (with request ids) replaces gunicorn's access log.
accesslog = env_str("GUNICORN_ACCESSLOG") or None
errorlog = "-"
wsgi_app = "florasite.wsgi:application"
