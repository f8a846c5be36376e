"""The refresh locks the run's row only, never its team's (found by tests/topology).

Applying FLORA's answer re-reads the run FOR UPDATE. With `select_related("team")` and no
`of=`, PostgreSQL locked the team's row too; every insert that references the team (a new
Run of a submission, a RunOutput, a budget Balance) checks its foreign key with FOR KEY
SHARE on that row, which FOR UPDATE blocks. A submission holding the team's balance rows
(its reservation) then waited at COMMIT for the refresh, and the refresh (settling the
ended run) waited for those balance rows: "deadlock detected", a 500 on the run form and an
unrecorded ledger entry. SQLite has no row locks; CI's PostgreSQL run covers this test.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from runs import refresh
from runs.models import Run, RunStatus
from tests.runs.live_helpers import dashboard_run, let_interval_pass

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks: PostgreSQL only (TEST_DATABASE_URL; CI's PostgreSQL run)",
    ),
]


def _other_connection() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"],
        port=s["PORT"] or None,
        autocommit=True,
    )


def _lockable(conn: psycopg.Connection, table: str, pk: int) -> bool:
    """Whether a foreign-key check on this row (FOR KEY SHARE) would go through now."""
    try:
        conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE NOWAIT", (pk,))
    except psycopg.errors.LockNotAvailable:
        return False
    return True


def test_applying_an_answer_leaves_the_team_row_free(team_a, bob, flora, clock, monkeypatch):
    run = dashboard_run(team_a, bob)
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)
    seen: dict[str, bool] = {}
    apply_remote = refresh.apply_remote

    def checking(fresh: Run, remote: object) -> Run:
        # Inside the refresh's transaction, its row lock taken: what can others do now?
        with _other_connection() as other:
            seen["team"] = _lockable(other, "teams_team", team_a.pk)
            seen["run"] = _lockable(other, "runs_run", run.pk)
        return apply_remote(fresh, remote)

    monkeypatch.setattr(refresh, "apply_remote", checking)

    assert refresh.refresh_in_background(run.pk) == "refreshed"

    # The run is locked (so the check is not vacuous), the team is not.
    assert seen == {"team": True, "run": False}
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED
