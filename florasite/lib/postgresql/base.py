"""Django's PostgreSQL backend; a connection the pool lends is first checked by
florasite.lib.db_pool.check_idle_connection (no I/O), and replaced if the server ended it.

Not the pool's own ``check`` option: Django passes that one itself (a round trip per
checkout with CONN_HEALTH_CHECKS, nothing without).
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db.backends.postgresql import base

from florasite.lib.db_pool import check_idle_connection


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool
        attempts = (pool.max_size + 1) if pool is not None else 1
        for _ in range(attempts):
            connection = super().get_new_connection(conn_params)
            if pool is None:
                return connection
            try:
                check_idle_connection(connection)
            except psycopg.OperationalError:
                connection.close()
                pool.putconn(connection)  # a closed connection is dropped, not kept
                continue
            return connection
        # Every one failed: a fresh connection of the pool's, or its error, as Django's own.
        return super().get_new_connection(conn_params)
