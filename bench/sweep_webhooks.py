"""The sweep with webhooks: FLORA status calls per run nobody watches, with and without.

Starts gunicorn serving florasite and its sandbox on a temporary SQLite database, and the
two workers of `make run` (bin/serve.py: every queue but outputs with the periodic jobs,
and the copier), so the sweep (`runs.sweep`, every 5 s) and the webhook receiver do what
they do in production. Nobody opens a run page: every status call comes from the worker.

    .venv/bin/python bench/sweep_webhooks.py              # N = 50 and 200, then late webhooks
    .venv/bin/python bench/sweep_webhooks.py --sizes 50   # quicker

Rounds (each its own team; within a round the two teams' runs are in flight together, so
whatever else the machine does weighs on both alike):

* N runs with webhooks (the team has a webhook secret, so each run is started with the
  dashboard's callback URL and `webhook_expected`), beside N runs of a team without one
  (the control: no callback, so the sweep asks at the normal pace). Target: at most 1.5
  FLORA status GETs per run with webhooks; the control must exceed it.
* late webhooks: N runs with webhooks, of which the sandbox drops a tenth (their callback
  is removed at the sandbox after the create: FLORA never sends it) and delays a tenth by
  5 s (their delivery task waits; they still arrive before the catch-up). Target: every
  run ends; the dropped ones through the sweep's catch-up (their one status GET comes
  WEBHOOK_EXPECTED_WITHIN after submission, runs.state.background_interval, within
  CATCH_UP_SLACK past it); the delayed ones through their webhook; at most 1.5 GETs per
  run overall.

Status GETs are counted where FLORA receives them: the sandbox's
`GET /sandbox/api/v1/techniques/{id}/runs/{run_id}` lines in the server's request log, per
run. Runs are Tarot Pulls at sandbox speedup 0.15: 7 s pending and 40 s running, so each is
in flight for about 47 s, several sweeps, and ends before WEBHOOK_EXPECTED_WITHIN (60 s).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, start_worker, stop_processes  # noqa: E402

TARGET = 1.5
SPEEDUP = 0.15
# The sweep runs every 5 s on a worker that does everything else too: on a loaded machine
# its catch-up comes this much after WEBHOOK_EXPECTED_WITHIN.
CATCH_UP_SLACK = 30
GET_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO florasite\.request "
    r"GET /sandbox/api/v1/techniques/[^/ ]+/runs/(?P<run_id>run_\w+) 200 "
)
# Delayed, but still within WEBHOOK_EXPECTED_WITHIN: a run ends ~47 s after submission.
DELAY_SECONDS = 5


@dataclass
class Round:
    label: str
    webhooks: bool
    runs: list = field(default_factory=list)  # runs.models.Run
    dropped: set[str] = field(default_factory=set)  # FLORA run ids
    delayed: set[str] = field(default_factory=set)
    seconds: float = 0.0


def _team(server: Server, *, webhooks: bool, workspace: str):
    """A team on its own sandbox workspace: the history sync (every 2 min) imports a
    workspace's runs into every team connected to it, and another team's copy of a run in
    flight would be refreshed on its own, adding GETs to that FLORA run."""
    from teams.models import FloraConnection, Team
    from teams.services import save_connection

    team = Team.objects.create(name="Sweep", slug=f"sweep-{uuid.uuid4().hex[:6]}")
    connection = FloraConnection(
        team=team, base_url=f"{server.base_url}/sandbox/api/v1", workspace_ids=[workspace]
    )
    save_connection(
        connection,
        actor="bench",
        api_key="sk_sandbox_demo",
        webhook_secret="whsec_sandbox_demo" if webhooks else None,
    )
    return team


def _start(server: Server, rounds: list[tuple[str, bool]], n: int) -> list[Round]:
    """N runs per round through runs.submit, the run form's own path (rows, create, callback
    URL), the rounds' submissions alternating so that their runs are in flight together."""
    from django.contrib.auth import get_user_model

    from flora import Flora
    from runs.submit import submit
    from teams.models import FloraConnection
    from teams.services import flora_client

    with Flora(api_key="sk_sandbox_demo", base_url=f"{server.base_url}/sandbox/api/v1") as c:
        technique = c.techniques.retrieve("tech_tarot-pull")  # GET /techniques/{id}
    # The rounds before are done: their teams are disconnected, so that no sync of theirs
    # imports these runs (a team without a connection is not synced).
    FloraConnection.objects.all().delete()
    workspaces = ["ws_demo", "ws_brand"]
    teams = [
        _team(server, webhooks=webhooks, workspace=workspaces[i])
        for i, (_, webhooks) in enumerate(rounds)
    ]
    made = [Round(label, webhooks) for label, webhooks in rounds]
    clients = [flora_client(team) for team in teams]
    users = [get_user_model().objects.create_user(f"bench-{team.slug}") for team in teams]
    for i in range(n):
        for team, client, user, round_ in zip(teams, clients, users, made, strict=True):
            outcome = submit(
                client=client,
                connection=team.connection,
                team=team,
                user=user,
                technique=technique,
                workspace_id=team.connection.workspace_ids[0],
                intent_key=uuid.uuid4().hex,
                plan=[[{"id": "question", "type": "text", "value": f"{team.slug} {i}?"}]],
            )
            (run,) = outcome.runs
            assert run.flora_run_id and run.webhook_expected == round_.webhooks, run.status
            round_.runs.append(run)
    return made


def _lose_some(round_: Round) -> None:
    """The sandbox drops a tenth of the webhooks and delays another tenth."""
    from django.db.models import F
    from django_tasks_db.models import DBTaskResult

    from sandbox.models import SandboxRun

    tenth = max(1, len(round_.runs) // 10)
    ids = [run.flora_run_id for run in round_.runs]
    round_.dropped = set(ids[:tenth])
    round_.delayed = set(ids[tenth : 2 * tenth])
    SandboxRun.objects.filter(run_id__in=round_.dropped).update(callback_url="")
    pending = DBTaskResult.objects.filter(
        task_path="sandbox.webhooks.deliver_task", status="READY"
    ).values_list("pk", "args_kwargs")
    delayed = [pk for pk, args in pending if args["args"][0] in round_.delayed]
    assert len(delayed) == len(round_.delayed), "a delivery to delay was already sent"
    DBTaskResult.objects.filter(pk__in=delayed).update(
        run_after=F("run_after") + timedelta(seconds=DELAY_SECONDS)
    )


def _wait(rounds: list[Round], timeout: float) -> None:
    from runs.models import Run

    started = time.monotonic()
    pending = {r.label: [run.pk for run in r.runs] for r in rounds}
    while pending:
        for label in list(pending):
            ended = Run.objects.filter(
                pk__in=pending[label], status__in=("completed", "failed")
            ).count()
            if ended == len(pending[label]):
                next(r for r in rounds if r.label == label).seconds = time.monotonic() - started
                del pending[label]
        if time.monotonic() - started > timeout:
            raise SystemExit(f"runs still in flight after {timeout:.0f} s: {sorted(pending)}")
        time.sleep(0.5)


def _gets(server: Server) -> dict[str, list[datetime]]:
    calls: dict[str, list[datetime]] = {}
    for line in server.log_path.read_text(errors="replace").splitlines():
        if match := GET_LINE.match(line):
            at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
            calls.setdefault(match["run_id"], []).append(at)
    return calls


def _per_run(round_: Round, gets: dict[str, list[datetime]], ids: set[str] | None = None):
    runs = [r for r in round_.runs if ids is None or r.flora_run_id in ids]
    return sum(len(gets.get(r.flora_run_id, [])) for r in runs) / max(1, len(runs))


def _late_verdicts(round_: Round, gets: dict[str, list[datetime]]) -> list[tuple[str, bool]]:
    """Every dropped run ended through the sweep's catch-up: its first status GET came no
    earlier than WEBHOOK_EXPECTED_WITHIN after submission (the sweep waited for the
    webhook), and within CATCH_UP_SLACK past it."""
    from runs.models import Run, WebhookDelivery
    from runs.state import WEBHOOK_EXPECTED_WITHIN

    within = WEBHOOK_EXPECTED_WITHIN.total_seconds()
    rows = {r.flora_run_id: r for r in Run.objects.filter(pk__in=[r.pk for r in round_.runs])}
    received = set(
        WebhookDelivery.objects.filter(flora_run_id__in=rows).values_list("flora_run_id", flat=True)
    )
    waits = []
    for flora_id in round_.dropped:
        run = rows[flora_id]
        first = min(gets.get(flora_id, [datetime.max]))
        waits.append((first - run.submitted_at.replace(tzinfo=None)).total_seconds())
    ended = all(r.status == "completed" for r in rows.values())
    print(
        f"  late webhooks: {len(round_.dropped)} dropped, first status GET "
        f"{min(waits):.1f}-{max(waits):.1f} s after submission (catch-up due at {within:.0f} s); "
        f"{len(round_.delayed)} delayed {DELAY_SECONDS} s, webhooks received for "
        f"{len(received & round_.delayed)} of them"
    )
    return [
        ("every run of the round ended", ended),
        ("dropped: no webhook received", not (received & round_.dropped)),
        (
            "dropped: ended by the sweep's catch-up",
            all(within - 1 <= w <= within + 20 for w in waits),
        ),
        ("delayed: ended by their webhook", received >= round_.delayed),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--late", type=int, default=50, help="runs of the late-webhook round")
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    server = Server(speedup=SPEEDUP)
    workers = []
    rows: list[tuple[str, float, float, float]] = []
    verdicts: list[tuple[str, bool]] = []
    try:
        server.setup_django()
        server.start()
        env = server.env()
        log = server.workdir / "workers.log"
        workers = [
            start_worker(env, log, "bench-worker", "--exclude-queues=outputs"),
            start_worker(env, log, "bench-copier", "--no-periodic", "--threads=4"),
        ]
        for n in args.sizes:
            pair = _start(server, [(f"N={n} webhooks", True), (f"N={n} control", False)], n)
            _wait(pair, args.timeout)
            gets = _gets(server)
            with_hooks, control = (_per_run(r, gets) for r in pair)
            rows.append((f"N={n}", with_hooks, control, max(r.seconds for r in pair)))
            verdicts += [
                (f"N={n}: with webhooks <= {TARGET}", with_hooks <= TARGET),
                (f"N={n}: control > {TARGET}", control > TARGET),
            ]
        (late,) = _start(server, [("late", True)], args.late)
        _lose_some(late)
        _wait([late], args.timeout)
        gets = _gets(server)
        late_per_run = _per_run(late, gets)
        verdicts += _late_verdicts(late, gets)
        verdicts.append((f"late: <= {TARGET} per run", late_per_run <= TARGET))
    finally:
        stop_processes(workers)
        server.cleanup(keep=args.keep)

    print(
        "\nFLORA status GETs per run (Tarot Pull, ~47 s in flight, sweep every 5 s, "
        "nobody watching)"
    )
    print(f"{'runs':>8} | {'with webhooks':>13} | {'control: none':>13} | {'all ended in':>12}")
    for label, hooks, control, seconds in rows:
        print(f"{label:>8} | {hooks:>13.2f} | {control:>13.2f} | {seconds:>10.1f} s")
    print(
        f"{'late':>8} | {late_per_run:>13.2f} | {'':>13} | {late.seconds:>10.1f} s"
        f"   ({len(late.dropped)} dropped, {len(late.delayed)} delayed webhooks)"
    )
    print()
    for what, ok in verdicts:
        print(f"  {'PASS' if ok else 'MISS'}  {what}")
    if args.keep:
        print(f"kept: {server.workdir}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
