"""Two gunicorns, two workers, PostgreSQL and Redis; one worker SIGKILLed mid-way (issue 19).

Production's shape on one machine: two gunicorn processes (2 workers x 8 threads each, the
project's config) serve the dashboard and the built-in FLORA sandbox on different ports, two
`manage.py db_worker` processes (every queue, the periodic jobs, 2 threads each) share one
PostgreSQL database and Redis as the cache. One team, on the sandbox of the first gunicorn,
with a webhook secret, so each run's signed webhook comes back through that gunicorn
(PUBLIC_BASE_URL).

200 Tarot Pull runs (an image and a text each) are started as members start them, over HTTP
with CSRF: 100 through the run form (50 on each gunicorn, four members, each submission its
own rendered form and so its own intent key), and one batch of 100 through the batch form.
Both paths on purpose: the form's create call is made by a web thread, the batch's by a
worker, so the SIGKILL can land in the middle of a create as well as of a refresh, a copy,
a thumbnail, a webhook delivery or a periodic tick.

Once a third of the runs have ended, one worker is killed with SIGKILL while it holds a
task (a django-tasks-db result RUNNING under its id), and restarted (a new process, a new
worker id, as a supervisor restarts it). Then the test waits, bounded, until the work is
done and checks what a lost or doubled piece of work would break; see each assertion.

Skipped unless TOPOLOGY_DATABASE_URL (a database the test creates and drops, on a
PostgreSQL server it may CREATE DATABASE on) and TOPOLOGY_REDIS_URL are set: `make topology`
sets both; CI runs it as its own step (.ci/run). TOPOLOGY_KEEP=1 keeps the folder (logs,
media) and the database for a look; TOPOLOGY_KILL_TASK=batches.tasks.start_batch_rows (any
task path) kills w1 the first time it holds that task, to see one case on purpose.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.topology.harness import (
    API_KEY,
    DATABASE_ENV,
    REDIS_ENV,
    WEBHOOK_SECRET,
    Member,
    Topology,
    wait_for,
)

pytestmark = [
    pytest.mark.topology,
    pytest.mark.skipif(
        not (os.environ.get(DATABASE_ENV) and os.environ.get(REDIS_ENV)),
        reason=f"the topology test needs PostgreSQL and Redis: set {DATABASE_ENV} and "
        f"{REDIS_ENV} (make topology does)",
    ),
]

FORM_RUNS = 100
BATCH_RUNS = 100
RUNS = FORM_RUNS + BATCH_RUNS
MEMBERS = 4
# Bounds, not expectations: recovery waits out the dead worker's leases (60 s for an output
# copy, 90 s for a batch pass, WORKER_DEAD_AFTER = 60 s plus the minute job for its task
# results, 2 min for a create whose answer it never recorded).
SUBMIT_TIMEOUT = 120
KILL_TIMEOUT = 90
DONE_TIMEOUT = 300
KILL_TASK = os.environ.get("TOPOLOGY_KILL_TASK", "")
TRACEBACK = "Traceback (most recent call last)"
WORKER_DIED = "florasite.tasks.WorkerDied"


@pytest.fixture
def topology():
    site = Topology(
        database_url=os.environ[DATABASE_ENV],
        redis_url=os.environ[REDIS_ENV],
        speedup=float(os.environ.get("TOPOLOGY_SPEEDUP", "5")),
    )
    keep = os.environ.get("TOPOLOGY_KEEP") == "1"
    try:
        site.prepare()
        yield site
    finally:
        site.cleanup(keep=keep)
        if keep:
            print(f"\ntopology kept: {site.workdir} and database {site.database_url}")


def _progress(site: Topology) -> dict[str, int]:
    row = site.query(
        """
        SELECT
          (SELECT count(*) FROM runs_run),
          (SELECT count(*) FROM runs_run
            WHERE status IN ('completed', 'failed', 'failed_to_start')),
          (SELECT count(*) FROM runs_runoutput WHERE keep_status <> 'kept'),
          (SELECT count(*) FROM runs_runoutput WHERE thumb_status = 'pending'),
          (SELECT count(*) FROM batches_batchrow WHERE state IN ('queued', 'starting')),
          (SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'),
          (SELECT count(*) FROM runs_run WHERE status IN ('submitting', 'checking'))
        """
    )[0]
    names = ("runs", "ended", "outputs_not_kept", "thumbs_pending", "rows_waiting")
    return dict(zip((*names, "tasks_running", "unresolved"), row, strict=True))


def _held_by(site: Topology, worker_id: str) -> list[tuple[str, str]]:
    """Task results RUNNING whose last claim is this worker's: the tasks it holds."""
    return site.query(
        """SELECT id::text, task_path FROM django_tasks_database_dbtaskresult
           WHERE status = 'RUNNING' AND worker_ids ->> -1 = %s""",
        (worker_id,),
    )


def _time_to_kill(site: Topology) -> bool:
    """Once a third of the runs have ended and w1 holds a task; or, with TOPOLOGY_KILL_TASK
    (a task path, to see one case on purpose), as soon as w1 holds that task."""
    held = _held_by(site, site.workers["w1"].worker_id)
    if KILL_TASK:
        return any(path == KILL_TASK for _, path in held)
    return bool(held) and _progress(site)["ended"] >= RUNS // 3


def _submit_everything(site: Topology, members: list[Member]) -> list[str]:
    """The batch first (its rows start in the workers while the forms are posted), then
    FORM_RUNS run forms from MEMBERS members at once, half on each gunicorn."""
    batch_questions = [f"Batch question {i}?" for i in range(BATCH_RUNS)]
    members[1].start_batch(batch_questions)
    per_member = FORM_RUNS // MEMBERS

    def submit(member: Member, index: int) -> list[str]:
        return [member.start_run(f"Form question {index}-{i}?") for i in range(per_member)]

    with ThreadPoolExecutor(MEMBERS) as pool:
        codes = [c for batch in pool.map(submit, members, range(MEMBERS)) for c in batch]
    return codes


def test_two_gunicorns_two_workers_one_killed(topology: Topology) -> None:
    site = topology
    started = time.monotonic()
    timings = {"database made, migrated (before the clock)": site.prepared_in}

    passwords = {f"member{i}": secrets.token_urlsafe(16) for i in range(MEMBERS)}
    with ThreadPoolExecutor(2) as pool:
        made = pool.submit(site.create_team, "topology", list(passwords.items()))
        site.start_servers()
        made.result()
    for name in ("w1", "w2"):
        site.start_worker(name)
    # Members 0 and 2 use the first gunicorn, 1 and 3 the second (which posts the batch).
    members = [
        Member(site.urls[i % 2], username, password)
        for i, (username, password) in enumerate(passwords.items())
    ]
    for member in members:
        member.log_in()
    timings["set-up done"] = time.monotonic() - started

    # -- submit, and kill w1 while it holds a task ------------------------------------
    submitted: list[str] = []
    submit_error: list[BaseException] = []

    def submit_all() -> None:
        try:
            submitted.extend(_submit_everything(site, members))
        except BaseException as exc:  # reported below, in the test's thread
            submit_error.append(exc)

    submitter = threading.Thread(target=submit_all, name="members")
    submitter.start()

    kill_started = time.monotonic()
    held: list[tuple[str, str]] = []
    killed_ids: list[str] = []
    while not held:
        if time.monotonic() - kill_started > KILL_TIMEOUT:
            raise AssertionError(
                f"w1 never held {KILL_TASK or 'a task once a third of the runs had ended'} "
                f"({KILL_TIMEOUT} s; {_progress(site)}; killed: {killed_ids})"
            )
        if not _time_to_kill(site):
            time.sleep(0.05)
            continue
        victim = site.kill("w1")
        killed_ids.append(victim.worker_id)
        # Whatever is RUNNING under its id now is held by a dead process.
        held = _held_by(site, victim.worker_id)
        site.start_worker("w1")  # the restart: a new process, a new id
    timings["kill (after start)"] = time.monotonic() - started

    submitter.join(SUBMIT_TIMEOUT)
    assert not submitter.is_alive(), "the members' submissions did not finish"
    if submit_error:
        raise submit_error[0]
    assert len(submitted) == FORM_RUNS and len(set(submitted)) == FORM_RUNS
    timings["submissions done"] = time.monotonic() - started

    # -- wait until everything is done ------------------------------------------------

    def not_done() -> str:
        state = _progress(site)
        missing = {k: v for k, v in state.items() if k not in ("runs", "ended") and v}
        if state["runs"] != RUNS or state["ended"] != RUNS:
            missing["runs ended"] = f"{state['ended']}/{state['runs']} of {RUNS}"
        return ", ".join(f"{k}: {v}" for k, v in missing.items())

    wait_for("every run ended, every output kept, every task finished", not_done, DONE_TIMEOUT)
    timings["all done"] = time.monotonic() - started
    # The sandbox's webhook tasks and periodic jobs may still be queued: stop cleanly first,
    # so the logs are complete and nothing moves while the checks read.
    site.stop()
    timings["stopped"] = time.monotonic() - started
    print("\n" + "\n".join(f"{what:>45}: {t:6.1f} s" for what, t in timings.items()))
    print(f"{'killed':>45}: {killed_ids}, holding {held}")

    _check_runs_and_creates(site)
    _check_outputs(site, held)
    _check_tasks(site, killed_ids, held)
    _check_claims(site)
    _check_webhooks(site, held)
    _check_logs(site, passwords)


# -- what is checked, and what fault each would catch -----------------------------------


def _check_runs_and_creates(site: Topology) -> None:
    """Every run terminal (completed: Tarot Pull never fails without "[fail]"), and exactly
    one FLORA run per Run row: a create sent twice under two keys (a lost claim, a resend on
    a new key) makes a second SandboxRun; a key reused for another row shows as two rows
    on one key."""
    statuses = dict(site.query("SELECT status, count(*) FROM runs_run GROUP BY status"))
    assert statuses == {"completed": RUNS}, statuses
    flora_ids = site.query(
        """SELECT r.flora_run_id, r.intent_key, s.id IS NOT NULL
           FROM runs_run r LEFT JOIN sandbox_sandboxrun s ON s.run_id = r.flora_run_id"""
    )
    assert all(found for _, _, found in flora_ids), "a run links to no FLORA run"
    assert len({flora_id for flora_id, _, _ in flora_ids}) == RUNS
    assert site.scalar("SELECT count(*) FROM sandbox_sandboxrun") == RUNS
    # One FLORA run per question: the sandbox's record of what it was asked.
    questions = Counter(
        q for (q,) in site.query("SELECT inputs -> 0 ->> 'value' FROM sandbox_sandboxrun")
    )
    assert len(questions) == RUNS and set(questions.values()) == {1}, questions.most_common(3)
    # Per idempotency key (the row's intent key): one key row at FLORA, holding one run, and
    # one create answered 201. Other answers (409 for a resend on the same key) are allowed.
    keys = site.query(
        """SELECT r.intent_key, count(k.id), count(k.run_id),
                  (SELECT count(*) FROM sandbox_sandboxrequestlog l
                    WHERE l.idempotency_key = r.intent_key AND l.status_code = 201)
           FROM runs_run r LEFT JOIN sandbox_sandboxidempotencykey k ON k.key = r.intent_key
           GROUP BY r.intent_key"""
    )
    wrong = [row for row in keys if row[1:] != (1, 1, 1)]
    assert len(keys) == RUNS and not wrong, wrong[:5]
    rows = dict(site.query("SELECT state, count(*) FROM batches_batchrow GROUP BY state"))
    assert rows == {"started": BATCH_RUNS}, rows
    assert site.scalar("SELECT count(DISTINCT run_id) FROM batches_batchrow") == BATCH_RUNS


def _stored_files(site: Topology) -> dict[str, bytes]:
    root = site.media_root
    return {
        str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


COPY_TASKS = ("runs.tasks.keep_outputs", "runs.tasks.retry_keeping_outputs")


def _check_outputs(site: Topology, held: list[tuple[str, str]]) -> None:
    """Every output kept exactly once. The unique (run, output_id) constraint already makes
    a second row impossible, so the copies are what is checked:

    * each image is a file in storage with the recorded size and checksum;
    * storage holds exactly the files the rows name (outputs and thumbnails) and nothing
      else: a copy made twice leaves a second file (`..._AbC123.png`), one interrupted by
      the kill a partial file;
    * FLORA served each image file exactly as many times as the output was claimed
      (RunOutput.attempts counts claims), and it was claimed once unless the killed worker
      held it: two workers copying one output would show two downloads, two claims. The
      copy the kill interrupted is claimed twice and downloaded once or twice (the kill may
      land before its download began).
    """
    # Each worker thread copies one output at a time.
    interrupted = sum(1 for _, path in held if path in COPY_TASKS)
    outputs = site.query(
        """SELECT o.id, r.flora_run_id, o.type, o.keep_status, o.file, o.size, o.sha256,
                  o.thumb_status, o.thumb_small, o.thumb_large, o.attempts, o.text
           FROM runs_runoutput o JOIN runs_run r ON r.id = o.run_id"""
    )
    assert len(outputs) == 2 * RUNS, len(outputs)
    assert Counter(row[2] for row in outputs) == {"imageUrl": RUNS, "text": RUNS}
    assert {row[3] for row in outputs} == {"kept"}
    files = _stored_files(site)
    named: Counter[str] = Counter()
    downloads = _media_downloads(site)
    for (
        _pk,
        flora_run_id,
        kind,
        _,
        name,
        size,
        sha256,
        thumb,
        small,
        large,
        attempts,
        text,
    ) in outputs:
        if kind == "text":
            assert text and not name, "a text output is kept in its row"
            continue
        assert name in files, f"output file {name} is not in storage"
        data = files[name]
        assert len(data) == size and hashlib.sha256(data).hexdigest() == sha256, name
        assert thumb == "made" and small in files and large in files, (name, thumb)
        named.update([name, small, large])
        served = downloads.get(flora_run_id, 0)
        allowed = {attempts} if attempts == 1 else {attempts - 1, attempts}
        assert served in allowed, (
            f"FLORA served {flora_run_id}'s image {served} times for {attempts} claim(s)"
        )
    assert set(files) == set(named), f"files no row names: {sorted(set(files) - set(named))}"
    assert all(n == 1 for n in named.values()), [n for n, c in named.items() if c > 1][:5]
    claimed_again = sum(1 for row in outputs if row[2] == "imageUrl" and row[10] != 1)
    # Only an output whose copy the dead worker held is claimed a second time.
    assert claimed_again <= interrupted, f"{claimed_again} outputs were claimed more than once"


MEDIA_LINE = re.compile(
    r"florasite\.request GET /sandbox/media/(?P<run>run_[^/]+)/\S+ (?P<st>\d+) "
)


def _media_downloads(site: Topology) -> Counter[str]:
    """Output files FLORA (the sandbox) answered with 200, per FLORA run id, from the
    request logs of both gunicorns."""
    counts: Counter[str] = Counter()
    for name, text in site.logs().items():
        if name.startswith("gunicorn"):
            for match in MEDIA_LINE.finditer(text):
                if match["st"] == "200":
                    counts[match["run"]] += 1
    return counts


def _check_tasks(site: Topology, killed_ids: list[str], held: list[tuple[str, str]]) -> None:
    """No task run twice, the killed worker's recovered once.

    django-tasks-db appends the claiming worker's id to a result's `worker_ids` at every
    claim, under a row lock. So: every result claimed at all was claimed exactly once
    (worker_ids of length 1); none is left RUNNING; the only failures are WorkerDied, and
    they are exactly the tasks the killed worker held, each failed once by the
    housekeeping (its UPDATE only matches RUNNING) and never run again (still one claim).
    Their work is then done by the periodic jobs, which the other checks see: every run
    ended, every output kept once, every batch row started.
    """
    results = site.query(
        """SELECT id::text, task_path, status, jsonb_array_length(worker_ids),
                  worker_ids ->> -1, exception_class_path
           FROM django_tasks_database_dbtaskresult"""
    )
    statuses = Counter(row[2] for row in results)
    assert "RUNNING" not in statuses, statuses
    claimed_twice = [row for row in results if row[3] > 1]
    assert not claimed_twice, claimed_twice[:5]
    failed = {(row[0], row[1]) for row in results if row[2] == "FAILED"}
    assert failed == set(held), f"failed tasks {sorted(failed)} != held by the killed {held}"
    for row in results:
        if row[2] == "FAILED":
            assert row[5] == WORKER_DIED and row[4] in killed_ids, row
    print(f"{'task results':>45}: {dict(statuses)}")


def _check_claims(site: Topology) -> None:
    """Nothing left claimed: no batch pass held, no batch row starting, no run in flight
    (only in-flight runs can be claimed for a refresh), no output claimed or waiting."""
    # A dead worker's pass keeps its (expired) busy_until until the team's next pass.
    busy = site.scalar("SELECT count(*) FROM batches_teampass WHERE busy_until > now()")
    assert busy == 0, "a batch pass is still held"
    assert (
        site.scalar("SELECT count(*) FROM batches_batchrow WHERE claimed_until IS NOT NULL") == 0
    ), "a batch row still carries a claim"
    in_flight = site.scalar(
        "SELECT count(*) FROM runs_run WHERE status NOT IN ('completed', 'failed', "
        "'failed_to_start') OR next_refresh_at IS NOT NULL"
    )
    assert in_flight == 0, "a run is still due for a refresh"
    assert site.scalar("SELECT count(*) FROM runs_run WHERE stale") == 0, "a run was flagged stale"
    pending = site.scalar(
        "SELECT count(*) FROM runs_runoutput WHERE keep_status = 'pending' "
        "OR next_attempt_at IS NOT NULL"
    )
    assert pending == 0, "an output is still claimed or due"


def _check_webhooks(site: Topology, held: list[tuple[str, str]]) -> None:
    """The runs were started with a callback (webhook_expected) and FLORA's webhooks came
    back through the first gunicorn, each recorded once (unique per team and delivery id).
    A delivery the kill interrupted is FLORA losing a webhook (the sweep ends that run), or
    one the dashboard received before the sandbox could note it sent.

    A run whose create the kill interrupted (the batch's create landed at FLORA, its answer
    was never saved) is linked later by the reconciler from FLORA's history, which does not
    say whether the run carries a callback (and its webhook may already have come, as an
    unknown run): such a run is polled at the normal pace, so it may be the one without
    webhook_expected, and only if the reconciler's log says it linked it."""
    interrupted = sum(1 for _, path in held if path == "sandbox.webhooks.deliver_task")
    unexpected = [pk for (pk,) in site.query("SELECT id FROM runs_run WHERE NOT webhook_expected")]
    assert len(unexpected) <= 4, (unexpected, held)
    worker_logs = "\n".join(text for name, text in site.logs().items() if name.startswith("worker"))
    for pk in unexpected:
        assert re.search(rf"Reconciled run {pk}: linked\b", worker_logs), (
            f"run {pk} was started without a callback but not linked by the reconciler"
        )
    delivered = site.scalar(
        "SELECT count(*) FROM sandbox_sandboxwebhookdelivery WHERE delivered_at IS NOT NULL"
    )
    received = site.scalar("SELECT count(*) FROM runs_webhookdelivery")
    assert delivered <= received <= delivered + interrupted, (received, delivered)
    assert delivered >= RUNS - 4, f"only {delivered} webhooks delivered"
    print(f"{'webhooks delivered and received':>45}: {delivered}")
    print(f"{'linked by the reconciler, no callback known':>45}: {unexpected}")


def _check_logs(site: Topology, passwords: dict[str, str]) -> None:
    """No secret in any log (the API key, the webhook secret, a password, the secret key),
    no traceback and no ERROR line: the kill itself writes nothing (SIGKILL), and the
    housekeeping reports the dead worker's tasks as warnings."""
    secrets_ = [API_KEY, WEBHOOK_SECRET, site.secret_key, site.encryption_key, *passwords.values()]
    for name, text in site.logs().items():
        for secret in secrets_:
            assert secret not in text, f"a secret is in {name}"
        assert TRACEBACK not in text, f"a traceback in {name}:\n{_around(text, TRACEBACK)}"
        errors = [line for line in text.splitlines() if " ERROR " in line or " CRITICAL " in line]
        assert not errors, f"{name}: {errors[:5]}"


def _around(text: str, needle: str) -> str:
    at = text.index(needle)
    return text[max(0, at - 1500) : at + 2500]
