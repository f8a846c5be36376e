"""A member's memberships (their teams and FLORA connections), kept in each process between
requests, so that a logged-in request does not read them from the database every time.

Every entry is stamped with the *access token*, one random value in the shared cache
(settings.CACHES: Redis, or the database cache), read once per request. Any change to a
Membership, Team or FloraConnection makes a new token (signals in teams.apps; the few
queryset updates call ``changed()`` themselves), so every process's entries are stale from
the next request on: a removed member loses access at once, a new role applies at once. The
token is made new twice, when the change is made and again once its transaction has
committed, so a request that read the old rows just before the commit cannot keep them
under the new token.

One token for everything is coarse on purpose: these rows change rarely (an admin's edit, a
connection check), and the price of a change is one membership query per user and process.
Without a readable token (the cache is down, or the key was evicted and cannot be written)
nothing is kept and every request reads the rows, as before.

Entries hold the rows' column values, not instances: each request gets instances of its own
(Model.from_db, JSON values copied), so nothing a view does to ``request.team`` reaches
another request. Secrets stay as stored (encrypted).
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections import OrderedDict
from typing import Any

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, models, transaction

from teams.models import FloraConnection, Membership, Team

logger = logging.getLogger(__name__)

__all__ = ["changed", "memberships_of"]

TOKEN_KEY = "teams:access-token"
# Set to False by bench/bench_settings.py (BENCH_NO_MEMBERSHIP_CACHE) for the control round.
ENABLED = True
MAX_USERS = 5000  # per process; the least recently used go first

_lock = threading.Lock()
# One row's values, in its model's concrete field order.
Values = tuple[Any, ...]
# Per membership: its values, its team's, its team's connection's (None: no connection).
Snapshot = list[tuple[Values, Values, Values | None]]
_entries: OrderedDict[int, tuple[str, Snapshot]] = OrderedDict()


def load_memberships(user: Any) -> list[Membership]:
    """The user's memberships read from the database, current connections included, ordered
    by team name."""
    return list(
        Membership.objects.filter(user=user)
        .select_related("team", "team__connection")
        .order_by("team__name", "team__slug")
    )


def _own(value: Any) -> Any:
    # JSON columns hold lists and dicts: never shared between a request and an entry.
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


def _values(obj: models.Model) -> Values:
    return tuple(_own(getattr(obj, field.attname)) for field in obj._meta.concrete_fields)


def _snapshot(memberships: list[Membership]) -> Snapshot:
    taken = []
    for membership in memberships:
        team = membership.team
        connection = team._state.fields_cache.get("connection")  # None: the team has none
        taken.append(
            (_values(membership), _values(team), _values(connection) if connection else None)
        )
    return taken


def _instance(model: type[models.Model], values: Values) -> Any:
    return model.from_db(DEFAULT_DB_ALIAS, None, [_own(value) for value in values])


def _rebuild(snapshot: Snapshot) -> list[Membership]:
    """Instances as load_memberships returns them (relations cached both ways)."""
    memberships = []
    for membership_values, team_values, connection_values in snapshot:
        membership = _instance(Membership, membership_values)
        team = _instance(Team, team_values)
        connection = None
        if connection_values is not None:
            connection = _instance(FloraConnection, connection_values)
            connection._state.fields_cache["team"] = team
        team._state.fields_cache["connection"] = connection
        membership._state.fields_cache["team"] = team
        memberships.append(membership)
    return memberships


def _token() -> str | None:
    try:
        token = cache.get(TOKEN_KEY)
        if token is None:
            token = uuid.uuid4().hex
            if not cache.add(TOKEN_KEY, token, timeout=None):
                token = cache.get(TOKEN_KEY)
    except Exception:  # noqa: BLE001 - a cache outage only costs the queries
        logger.warning("The access token cannot be read: memberships are read every request")
        return None
    return token


def memberships_of(user: Any) -> list[Membership]:
    """The user's memberships as load_memberships reads them, from this process's entries
    while the access token has not changed."""
    if not ENABLED:
        return load_memberships(user)
    token = _token()  # before the rows: rows read after a change are never under an old token
    if token is None:
        return load_memberships(user)
    with _lock:
        entry = _entries.get(user.pk)
        if entry is not None and entry[0] == token:
            _entries.move_to_end(user.pk)
            kept = entry[1]
        else:
            kept = None
    if kept is not None:
        return _rebuild(kept)
    fresh = load_memberships(user)
    snapshot = _snapshot(fresh)
    with _lock:
        _entries[user.pk] = (token, snapshot)
        _entries.move_to_end(user.pk)
        while len(_entries) > MAX_USERS:
            _entries.popitem(last=False)
    return fresh


def _new_token() -> None:
    with _lock:
        _entries.clear()
    try:
        cache.set(TOKEN_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # noqa: BLE001
        logger.exception("The access token cannot be renewed")
        try:
            cache.delete(TOKEN_KEY)
        except Exception:  # noqa: BLE001
            logger.exception("The access token cannot be removed either")


def changed(**_signal_kwargs: Any) -> None:
    """Memberships, teams or connections changed: every process reads them again.

    A signal receiver too (it takes and ignores the signal's arguments).
    """
    _new_token()
    transaction.on_commit(_new_token)


def clear_local() -> None:
    """Forget this process's entries (tests)."""
    with _lock:
        _entries.clear()
