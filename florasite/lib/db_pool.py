"""PostgreSQL connections from a pool (Django's psycopg pool), checked without a round trip.

``CONN_HEALTH_CHECKS`` made every request that used the database send a ``SELECT 1`` first.
With the pool (florasite.settings: ``OPTIONS["pool"]``), a request borrows a connection and
gives it back at its end; before one is used, ``check_idle_connection`` (called by the
backend, florasite.lib.postgresql) looks at its socket
without sending anything: an idle connection has nothing to read, so a readable socket
means the server ended it (a restart, ``pg_terminate_backend``, an idle timeout: the server
sends its FATAL message or closes the socket). Such a connection is thrown away and the
pool lends, or opens, another, so the request never sees it. Connections idle longer than
``max_idle`` are closed by the pool itself. What this cannot see is a peer that vanished
without a word (a cut network path): the first query then fails as it would have with the
health check's connection a moment after it passed, and the pool drops the broken one.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg

__all__ = ["check_idle_connection", "pool_options"]


def check_idle_connection(conn: psycopg.Connection[Any]) -> None:
    """Raise if this idle connection is closed or the server has spoken on it (no I/O)."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("The connection is closed.")
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        # Nothing was asked on an idle connection: anything to read is the server's goodbye
        # (or end of file). A false alarm would only cost a new connection.
        raise psycopg.OperationalError("The server ended this idle connection.")


def pool_options(max_size: int) -> dict[str, Any]:
    """Options for Django's ``OPTIONS["pool"]`` (psycopg_pool.ConnectionPool)."""
    return {
        "min_size": 1,
        "max_size": max_size,
        # A request waits this long for a connection when all are lent, then fails.
        "timeout": 10.0,
        # Idle connections beyond min_size close after this (as CONN_MAX_AGE did).
        "max_idle": 60.0,
    }
