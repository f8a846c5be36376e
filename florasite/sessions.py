"""The session engine (settings.SESSION_ENGINE): Django's database sessions, whose load on
every request is one prepared query (florasite.lib.prepared) instead of an ORM compilation.

Same table, same semantics: an expired or unknown key loads nothing (and the session gets a
new key when it is saved), the data is decoded (and its signature checked) by Django;
saving, cycle_key, flush and logout are Django's, unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import SuspiciousOperation
from django.db import router
from django.utils import timezone

from florasite.lib.prepared import PreparedGet

__all__ = ["SessionStore"]

_BY_KEY = PreparedGet(Session, ("session_key", "expire_date__gt"), ("session_key", "session_data"))


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        try:
            session = _BY_KEY.get(
                self.session_key, timezone.now(), using=router.db_for_read(self.model)
            )
        except SuspiciousOperation as exc:
            logging.getLogger(f"django.security.{exc.__class__.__name__}").warning(str(exc))
            session = None
        if session is None:
            self._session_key = None
        return session
