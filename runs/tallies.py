"""Counts and spend of a team's runs per status, kept by the database as runs are written.

The history's counts box (and the manager's spend) must not scan the team's runs on every
page view. Database triggers on ``runs_run`` (created by migration 0008, for SQLite and for
PostgreSQL) append *delta rows* to ``runs_runtally`` for every insert, delete and change of
a counted column, whatever writes it: ``Run.save``, ``QuerySet.update``, ``bulk_create``,
deletes (a team's cascade too), the importer, ``runs.state``, raw SQL. A delta row says
"n runs (+1 or -1) and this much spend, in this status, for this key":

* the key ``""``: every run of the team;
* one dimension (``t`` technique_id, ``m`` created_by_id, ``o`` origin, ``w`` workspace_id,
  ``p`` project_id) with its value in ``v1``;
* two dimensions (``tm``, ``tw``, ... in DIMENSIONS order) with their values in ``v1``, ``v2``.

So any filter on at most two of those dimensions, with or without a status, is an exact
count from the tallies. Rows are only ever inserted (never updated), so transactions that
change several runs in any order never wait on each other for a tally (no hot row, no
deadlock). Reads sum the rows of a key (one statement: one snapshot). ``compact`` (the
periodic job ``runs.compact_tallies``) folds each key's rows into one, so a key has about
one row per status plus what was written since. ``rebuild`` recomputes everything from the
runs table (``manage.py rebuild_run_tallies``; after a restore or a bulk load).

Spend is kept in integer UNITS of $0.0001 (``charged_cost`` has 4 decimals), exact on both
databases. ``runs_techniquename`` keeps the name first seen for each technique of a team
(for the filter options): inserted by the same triggers when missing, never updated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from itertools import combinations
from typing import Any

from django.db import connection, transaction

__all__ = [
    "DIMENSIONS",
    "KEYS",
    "by_status",
    "check",
    "compact",
    "create_triggers",
    "drop_triggers",
    "bulk_load",
    "rebuild",
    "to_dollars",
]

TALLY = "runs_runtally"
NAMES = "runs_techniquename"
RUNS = "runs_run"

# dimension letter -> the run's column
DIMENSIONS = {
    "t": "technique_id",
    "m": "created_by_id",
    "o": "origin",
    "w": "workspace_id",
    "p": "project_id",
}
KEYS = ["", *DIMENSIONS, *("".join(pair) for pair in combinations(DIMENSIONS, 2))]
# Columns whose change moves a run between tallies (the UPDATE trigger watches these only,
# so a progress or refresh update costs nothing).
COUNTED = ["team_id", "status", "charged_cost", *DIMENSIONS.values()]
UNITS = Decimal("10000")


def to_dollars(units: int) -> Decimal:
    return (Decimal(int(units)) / UNITS).quantize(Decimal("0.0001"))


# -- SQL ----------------------------------------------------------------------------------


def _value(vendor: str, row: str, dim: str) -> str:
    column = f"{row}.{DIMENSIONS[dim]}"
    if dim == "m":  # nullable integer; "" when nobody (a run started elsewhere)
        return (
            f"COALESCE(CAST({column} AS TEXT), '')"
            if vendor == "postgresql"
            else (f"COALESCE({column}, '')")
        )
    return column


def _cost(vendor: str, row: str) -> str:
    if vendor == "postgresql":
        return f"ROUND(COALESCE({row}.charged_cost, 0) * 10000)::bigint"
    return f"CAST(ROUND(COALESCE({row}.charged_cost, 0) * 10000) AS INTEGER)"


def _delta_insert(vendor: str, row: str, sign: int) -> str:
    true = "TRUE" if vendor == "postgresql" else "1"
    values = []
    for key in KEYS:
        parts = [_value(vendor, row, dim) for dim in key] + ["''"] * (2 - len(key))
        values.append(
            f"({row}.team_id, {row}.status, '{key}', {parts[0]}, {parts[1]}, "
            f"{sign}, {sign} * {_cost(vendor, row)}, {true})"
        )
    return (
        f"INSERT INTO {TALLY} (team_id, status, dims, v1, v2, n, spend_units, delta) VALUES\n  "
        + ",\n  ".join(values)
        + ";"
    )


def _name_insert(row: str) -> str:
    # No unique constraint, on purpose: a conditional insert never waits on another
    # transaction (two writers may both add a name; the reader keeps the first).
    return (
        f"INSERT INTO {NAMES} (team_id, technique_id, name) "
        f"SELECT {row}.team_id, {row}.technique_id, {row}.technique_name "
        f"WHERE NOT EXISTS (SELECT 1 FROM {NAMES} WHERE team_id = {row}.team_id "
        f"AND technique_id = {row}.technique_id);"
    )


def _changed(vendor: str) -> str:
    op = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in COUNTED)


def trigger_sql(vendor: str) -> list[str]:
    """The statements that create the triggers (migration 0008, bulk_load)."""
    cols = ", ".join(COUNTED + ["technique_name"])
    if vendor == "postgresql":
        function = f"""
CREATE OR REPLACE FUNCTION runs_run_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN
    {_delta_insert(vendor, "OLD", -1)}
  END IF;
  IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
    {_delta_insert(vendor, "NEW", 1)}
    {_name_insert("NEW")}
  END IF;
  RETURN NULL;
END
$$;"""
        return [
            function,
            f"CREATE TRIGGER run_tally_insert_delete AFTER INSERT OR DELETE ON {RUNS} "
            "FOR EACH ROW EXECUTE FUNCTION runs_run_tally();",
            f"CREATE TRIGGER run_tally_update AFTER UPDATE OF {cols} ON {RUNS} "
            f"FOR EACH ROW WHEN ({_changed(vendor)}) EXECUTE FUNCTION runs_run_tally();",
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER run_tally_insert AFTER INSERT ON {RUNS} BEGIN\n"
            f"{_delta_insert(vendor, 'NEW', 1)}\n{_name_insert('NEW')}\nEND;",
            f"CREATE TRIGGER run_tally_delete AFTER DELETE ON {RUNS} BEGIN\n"
            f"{_delta_insert(vendor, 'OLD', -1)}\nEND;",
            f"CREATE TRIGGER run_tally_update AFTER UPDATE OF {cols} ON {RUNS} "
            f"WHEN {_changed(vendor)} BEGIN\n"
            f"{_delta_insert(vendor, 'OLD', -1)}\n{_delta_insert(vendor, 'NEW', 1)}\n"
            f"{_name_insert('NEW')}\nEND;",
        ]
    raise NotImplementedError(f"run tallies: no triggers for {vendor}")


def drop_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS run_tally_insert_delete ON {RUNS};",
            f"DROP TRIGGER IF EXISTS run_tally_update ON {RUNS};",
            "DROP FUNCTION IF EXISTS runs_run_tally();",
        ]
    return [
        "DROP TRIGGER IF EXISTS run_tally_insert;",
        "DROP TRIGGER IF EXISTS run_tally_delete;",
        "DROP TRIGGER IF EXISTS run_tally_update;",
    ]


def create_triggers(conn: Any = None) -> None:
    conn = conn or connection
    with conn.cursor() as cursor:
        for statement in trigger_sql(conn.vendor):
            cursor.execute(statement)


def triggers_present(conn: Any = None) -> bool:
    conn = conn or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND tgname IN ('run_tally_insert_delete', 'run_tally_update')",
                [RUNS],
            )
            return int(cursor.fetchone()[0]) == 2
        cursor.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
            "('run_tally_insert', 'run_tally_delete', 'run_tally_update')"
        )
        return int(cursor.fetchone()[0]) == 3


def drop_triggers(conn: Any = None) -> None:
    conn = conn or connection
    with conn.cursor() as cursor:
        for statement in drop_sql(conn.vendor):
            cursor.execute(statement)


# -- reading ----------------------------------------------------------------------------------


def key_of(where: dict[str, str]) -> tuple[str, str, str] | None:
    """(dims, v1, v2) for a filter on these dimensions; None when the tallies cannot answer
    (more than two dimensions)."""
    dims = "".join(d for d in DIMENSIONS if d in where)
    if len(dims) > 2 or len(dims) != len(where):
        return None
    values = [str(where[d]) for d in dims] + [""] * (2 - len(dims))
    return dims, values[0], values[1]


def by_status(team_id: int, where: dict[str, str]) -> dict[str, tuple[int, int]] | None:
    """{status: (runs, spend units)} of the team's runs matching `where` (dimension letter ->
    value); None when `where` has more than two dimensions. One query on the tallies."""
    key = key_of(where)
    if key is None:
        return None
    dims, v1, v2 = key
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, SUM(n), SUM(spend_units) FROM {TALLY} "
            "WHERE team_id = %s AND dims = %s AND v1 = %s AND v2 = %s GROUP BY status",
            [team_id, dims, v1, v2],
        )
        rows = cursor.fetchall()
    return {status: (int(n), int(units or 0)) for status, n, units in rows if n}


def values_present(team_id: int, dims: list[str]) -> dict[str, set[str]]:
    """For each one-letter dimension, the values the team has at least one run with."""
    found: dict[str, set[str]] = {d: set() for d in dims}
    if not dims:
        return found
    marks = ", ".join(["%s"] * len(dims))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT dims, v1 FROM {TALLY} WHERE team_id = %s AND dims IN ({marks}) "
            "GROUP BY dims, v1 HAVING SUM(n) > 0",
            [team_id, *dims],
        )
        for dim, value in cursor.fetchall():
            found[dim].add(value)
    return found


def technique_names(team_id: int) -> dict[str, str]:
    names: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT technique_id, name FROM {NAMES} WHERE team_id = %s ORDER BY id", [team_id]
        )
        for technique_id, name in cursor.fetchall():
            names.setdefault(technique_id, name)
    return names


# -- upkeep ----------------------------------------------------------------------------------

_KEY_COLUMNS = "team_id, status, dims, v1, v2"


COMPACT_BATCH = 20_000


def compact(limit: int = COMPACT_BATCH) -> int:
    """Fold each key that has new delta rows into one row (zero rows dropped). Returns the
    number of keys folded. Exact under concurrent writers on both databases."""
    vendor = connection.vendor
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql":
            # One statement, one snapshot: it deletes exactly the rows it sums. Rows of
            # transactions not committed when it started stay, and are counted by readers
            # once committed. Nothing waits on writers: they only insert.
            cursor.execute(
                f"""
WITH keys AS (
  SELECT DISTINCT {_KEY_COLUMNS} FROM {TALLY} WHERE delta LIMIT %s
), gone AS (
  DELETE FROM {TALLY} t USING keys k
  WHERE t.team_id = k.team_id AND t.status = k.status AND t.dims = k.dims
    AND t.v1 = k.v1 AND t.v2 = k.v2
  RETURNING t.team_id, t.status, t.dims, t.v1, t.v2, t.n, t.spend_units
), folded AS (
  INSERT INTO {TALLY} ({_KEY_COLUMNS}, n, spend_units, delta)
  SELECT {_KEY_COLUMNS}, SUM(n), SUM(spend_units), FALSE FROM gone
  GROUP BY {_KEY_COLUMNS} HAVING SUM(n) <> 0 OR SUM(spend_units) <> 0
  RETURNING 1
)
SELECT (SELECT COUNT(*) FROM keys)""",
                [limit],
            )
            return int(cursor.fetchone()[0])
        # SQLite: transactions are BEGIN IMMEDIATE (settings), so this one holds the write
        # lock from its first statement: no delta row can arrive in between.
        cursor.execute(f"SELECT MAX(id) FROM {TALLY}")
        top = cursor.fetchone()[0]
        if top is None:
            return 0
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS run_tally_keys (team_id, status, dims, v1, v2)"
        )
        cursor.execute("DELETE FROM run_tally_keys")
        cursor.execute(
            f"INSERT INTO run_tally_keys SELECT DISTINCT {_KEY_COLUMNS} FROM {TALLY} "
            "WHERE delta AND id <= %s LIMIT %s",
            [top, limit],
        )
        cursor.execute("SELECT COUNT(*) FROM run_tally_keys")
        keys = int(cursor.fetchone()[0])
        # Driven from the (few) keys into run_tally_key, never a walk of the whole table.
        joined = (
            f"FROM run_tally_keys k JOIN {TALLY} t ON t.team_id = k.team_id "
            "AND t.dims = k.dims AND t.v1 = k.v1 AND t.v2 = k.v2 AND t.status = k.status "
            "WHERE t.id <= %s"
        )
        cursor.execute(
            f"INSERT INTO {TALLY} ({_KEY_COLUMNS}, n, spend_units, delta) "
            "SELECT t.team_id, t.status, t.dims, t.v1, t.v2, SUM(t.n), SUM(t.spend_units), 0 "
            f"{joined} GROUP BY t.team_id, t.status, t.dims, t.v1, t.v2 "
            "HAVING SUM(t.n) <> 0 OR SUM(t.spend_units) <> 0",
            [top],
        )
        cursor.execute(f"DELETE FROM {TALLY} WHERE id IN (SELECT t.id {joined})", [top])
        cursor.execute("DELETE FROM run_tally_keys")
        return keys


def _lock_runs(cursor: Any) -> None:
    # No run may be written while the tallies are recomputed from the runs table (its
    # deltas would be counted twice or not at all). Readers go on.
    if connection.vendor == "postgresql":
        cursor.execute(f"LOCK TABLE {RUNS} IN SHARE MODE")
    # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE).


def _grouped_sql(where: str) -> list[str]:
    vendor = connection.vendor
    cost = _cost(vendor, RUNS).replace(f"{RUNS}.", "")
    false = "FALSE" if vendor == "postgresql" else "0"
    statements = []
    for key in KEYS:
        exprs = [_value(vendor, RUNS, d).replace(f"{RUNS}.", "") for d in key]
        values = exprs + ["''"] * (2 - len(key))
        group = ", ".join(["team_id", "status", *exprs])
        statements.append(
            f"INSERT INTO {TALLY} ({_KEY_COLUMNS}, n, spend_units, delta) "
            f"SELECT team_id, status, '{key}', {values[0]}, {values[1]}, COUNT(*), "
            f"SUM({cost}), {false} FROM {RUNS} {where} GROUP BY {group}"
        )
    return statements


def rebuild(team_id: int | None = None) -> None:
    """Recompute the tallies (and technique names) from the runs table, for one team or all."""
    where, params = ("WHERE team_id = %s", [team_id]) if team_id is not None else ("", [])
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_runs(cursor)
        cursor.execute(f"DELETE FROM {TALLY} {where}", params)
        cursor.execute(f"DELETE FROM {NAMES} {where}", params)
        for statement in _grouped_sql(where):
            cursor.execute(statement, params)
        cursor.execute(
            f"INSERT INTO {NAMES} (team_id, technique_id, name) "
            f"SELECT team_id, technique_id, MIN(technique_name) FROM {RUNS} {where} "
            "GROUP BY team_id, technique_id",
            params,
        )


def check(team_id: int | None = None) -> list[str]:
    """Every key whose tally differs from a GROUP BY over the runs, in words (empty: exact)."""
    where, params = ("WHERE team_id = %s", [team_id]) if team_id is not None else ("", [])
    vendor = connection.vendor
    problems = []
    with connection.cursor() as cursor:
        for key in KEYS:
            exprs = [_value(vendor, RUNS, d).replace(f"{RUNS}.", "") for d in key]
            values = exprs + ["''"] * (2 - len(key))
            group = ", ".join(["team_id", "status", *exprs])
            cost = _cost(vendor, RUNS).replace(f"{RUNS}.", "")
            cursor.execute(
                f"SELECT team_id, status, {values[0]}, {values[1]}, COUNT(*), SUM({cost}) "
                f"FROM {RUNS} {where} GROUP BY {group}",
                params,
            )
            real = {tuple(map(str, r[:4])): (int(r[4]), int(r[5] or 0)) for r in cursor}
            # Teams that exist: a deleted team's rows sum to zero (and are gone at the next
            # compaction or rebuild); rows of a table emptied without its runs' order (a
            # test database flushed) are no team's.
            cursor.execute(
                f"SELECT team_id, status, v1, v2, SUM(n), SUM(spend_units) FROM {TALLY} "
                f"WHERE dims = %s {where.replace('WHERE', 'AND')} "
                "AND team_id IN (SELECT id FROM teams_team) "
                "GROUP BY team_id, status, v1, v2",
                [key, *params],
            )
            kept = {
                tuple(map(str, r[:4])): (int(r[4]), int(r[5] or 0)) for r in cursor if r[4] or r[5]
            }
            for k in sorted(real.keys() | kept.keys()):
                if real.get(k, (0, 0)) != kept.get(k, (0, 0)):
                    problems.append(
                        f"key {key or '(all)'} {k}: runs say {real.get(k, (0, 0))}, "
                        f"tallies say {kept.get(k, (0, 0))}"
                    )
    return problems


@contextmanager
def bulk_load() -> Iterator[None]:
    """Write many runs without the triggers (a restore, a benchmark's fill), then rebuild
    the tallies once. Nothing else may write runs meanwhile: their deltas would be lost
    until the rebuild, which then counts them anyway."""
    drop_triggers()
    try:
        yield
    finally:
        create_triggers()
        rebuild()
