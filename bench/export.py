"""The run history's CSV export at 10,000 and 100,000 runs (1,000,000 with --million): per-row
time of today's in-request export beside the worker's export (exports.services.build), side
by side by size, with the time a web request is held by each.

    .venv/bin/python bench/export.py                  # 10k and 100k, 3 rounds
    .venv/bin/python bench/export.py --million        # and 1M (several minutes)
    .venv/bin/python bench/export.py --sizes 2000 20000 --rounds 5

A temporary SQLite database and media folder (FileSystemStorage, the default) under
/tmp/florasite-bench-*; everything runs in this process, so CPU (time.process_time) includes
SQLite's work. Columns, medians of the rounds (the paths take turns within each round):

* old, in request: `runs:export` as it was (tests/exports/old_export.py: model instances
  with select_related, reverse() per row), its StreamingHttpResponse consumed whole. A web
  thread is held for all of it.
* new, worker: exports.services.build, from the claim to the file in storage (values_list,
  keyset chunks, one URL prefix, a temporary file, storage.save).
* control: the old rows written the new way (the same temporary file and storage.save):
  it must stay near 1x, else the speed-up would come from the plumbing, not from reading
  the rows differently, and the bench says it cannot tell (exit 1).
* held: the web request of each: the old one streams the whole file; the new one (POST
  /exports/new through the test client: middleware, view, the row) returns at once.

Target (issue 19): new >= 3x old per row at every size, the control < 2x. Exit 1 otherwise.
The new file and the old response are compared byte for byte at every size.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import ROOT, Server, make_team, session_cookies  # noqa: E402

sys.path.insert(0, str(ROOT))
TARGET = 3.0
CONTROL_MAX = 2.0
BASE = "http://127.0.0.1"


def _fill(team, member, n: int, rng: random.Random) -> None:
    from django.utils import timezone

    from runs.models import Run, RunOrigin, RunStatus

    statuses = [RunStatus.COMPLETED] * 7 + [RunStatus.FAILED, RunStatus.RUNNING, "pending"]
    techniques = [(f"tech_{i}", f"Technique {i}") for i in range(30)]
    techniques.append(("tech_evil", '=HYPERLINK("http://evil")'))
    start = timezone.now() - timedelta(days=365)
    step = 365 * 86400 / n
    batch: list[Run] = []
    for i in range(n):
        technique_id, name = rng.choice(techniques)
        outside = rng.random() < 0.2
        status = rng.choice(statuses)
        created = start + timedelta(seconds=i * step)
        failed = status == RunStatus.FAILED
        batch.append(
            Run(
                team=team,
                created_by=None if outside else member,
                origin=RunOrigin.EXTERNAL if outside else RunOrigin.DASHBOARD,
                technique_id=technique_id,
                technique_name=name,
                status=status,
                progress=rng.random(),
                workspace_id=rng.choice(["ws_demo", "ws_brand"]),
                project_id=rng.choice(["prj_a", "prj_b", "prj_c", ""]),
                created_at=created,
                submitted_at=created + timedelta(seconds=1),
                completed_at=created + timedelta(seconds=rng.uniform(5, 90))
                if status in (RunStatus.COMPLETED, RunStatus.FAILED)
                else None,
                charged_cost=Decimal("0.06") if status == RunStatus.COMPLETED else None,
                error_code="provider_error" if failed else "",
                error_message='The provider said "no", then -1.\nTry again.' if failed else "",
                flora_run_id=None if rng.random() < 0.05 else f"run_{team.pk}_{i}",
                code=f"b{team.pk:03d}{i:08d}",
            )
        )
        if len(batch) == 5000:
            Run.objects.bulk_create(batch)
            batch.clear()
    Run.objects.bulk_create(batch)


class _Sink:
    """Where a streamed response goes: counted and hashed, as a socket would take it."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)


def _old_in_request(team) -> tuple[float, float, str]:
    """runs:export as it was: the response built and consumed whole (the web thread's time)."""
    from django.http import StreamingHttpResponse

    from tests.exports.old_export import old_csv_rows, old_queryset

    sink = _Sink()
    wall, cpu = time.perf_counter(), time.process_time()
    response = StreamingHttpResponse(
        old_csv_rows(old_queryset(team, ""), BASE), content_type="text/csv; charset=utf-8"
    )
    for chunk in response.streaming_content:
        sink.write(chunk)
    return time.perf_counter() - wall, time.process_time() - cpu, sink.digest.hexdigest()


def _control(team) -> tuple[float, float]:
    """The old rows, written as the worker writes: a temporary file, then storage.save."""
    from django.core.files import File
    from django.core.files.storage import default_storage

    from tests.exports.old_export import old_csv_rows, old_queryset

    wall, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        for line in old_csv_rows(old_queryset(team, ""), BASE):
            text.write(line)
        text.flush()
        text.detach()
        raw.seek(0)
        name = default_storage.save("exports/control.csv", File(raw, name="control.csv"))
    elapsed = time.perf_counter() - wall, time.process_time() - cpu
    default_storage.delete(name)
    return elapsed


def _new_in_worker(client, serial: int) -> tuple[float, float, float, str]:
    """POST /exports/new (the held request), then the worker's build; returns
    (held s, build wall s, build CPU s, sha256 of the stored file)."""
    from django.core.files.storage import default_storage

    from exports import services
    from exports.models import Export

    intent = f"bench-{serial}"
    t0 = time.perf_counter()
    response = client.post("/exports/new", {"query": "", "intent": intent})
    held = time.perf_counter() - t0
    assert response.status_code == 302, response.status_code
    export = Export.objects.get(intent_key=intent)
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = services.build(export.pk)
    build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert outcome == "ready", outcome
    export.refresh_from_db()
    digest = hashlib.sha256()
    with default_storage.open(export.file.name, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    default_storage.delete(export.file.name)
    export.delete()
    return held, build_wall, build_cpu, digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="add 1,000,000 runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes + ([1_000_000] if args.million else [])))
    if sizes[0] < 100 or args.rounds < 1:
        parser.error("--sizes must be at least 100, --rounds at least 1")

    server = Server(log_level="WARNING")
    try:
        print(f"Filling a temporary database in {server.workdir} ...", flush=True)
        server.setup_django(collectstatic=True)
        from django.contrib.auth import get_user_model
        from django.test import Client

        rng = random.Random(19)
        teams = {}
        for n in sizes:
            team = make_team(server)
            (cookie,) = session_cookies(team, 1)
            member = get_user_model().objects.get(team_memberships__team=team)
            began = time.perf_counter()
            _fill(team, member, n, rng)
            print(f"{n:,} runs written in {time.perf_counter() - began:.1f} s", flush=True)
            client = Client(HTTP_HOST="127.0.0.1")
            client.cookies["sessionid"] = cookie
            client.get("/runs/")  # the filter choices computed once, as on a real page
            teams[n] = (team, client)

        samples: dict[int, dict[str, list[float]]] = {
            n: {k: [] for k in ("old", "old_cpu", "new", "new_cpu", "ctl", "held_old", "held")}
            for n in sizes
        }
        same: dict[int, bool] = {}
        serial = 0
        for round_no in range(1, args.rounds + 1):
            for n in sizes:
                team, client = teams[n]
                serial += 1
                # The paths take turns, in a different order each round.
                order = ["old", "new", "ctl"] if round_no % 2 else ["ctl", "new", "old"]
                for path in order:
                    s = samples[n]
                    if path == "old":
                        wall, cpu, old_sha = _old_in_request(team)
                        s["old"].append(wall)
                        s["old_cpu"].append(cpu)
                        s["held_old"].append(wall)
                    elif path == "new":
                        held, wall, cpu, new_sha = _new_in_worker(client, serial)
                        s["new"].append(wall)
                        s["new_cpu"].append(cpu)
                        s["held"].append(held)
                    else:
                        s["ctl"].append(_control(team)[0])
                same[n] = same.get(n, True) and old_sha == new_sha
            print(f"round {round_no}/{args.rounds} done", flush=True)

        def us(n: int, key: str) -> float:
            return statistics.median(samples[n][key]) / n * 1e6

        print()
        cols = "".join(f" | {f'{n:,} runs':>14}" for n in sizes)
        header = f"{f'median of {args.rounds} rounds':<38}{cols}"
        print(header)
        print("-" * len(header))
        lines = [
            ("old, in request: µs/row", lambda n: f"{us(n, 'old'):.1f}"),
            ("old, CPU µs/row", lambda n: f"{us(n, 'old_cpu'):.1f}"),
            ("new, worker: µs/row", lambda n: f"{us(n, 'new'):.1f}"),
            ("new, CPU µs/row", lambda n: f"{us(n, 'new_cpu'):.1f}"),
            ("control (old rows, new file): µs/row", lambda n: f"{us(n, 'ctl'):.1f}"),
            ("old / new (target >= 3x)", lambda n: f"{us(n, 'old') / us(n, 'new'):.2f}x"),
            ("old / control (want ~1x)", lambda n: f"{us(n, 'old') / us(n, 'ctl'):.2f}x"),
            (
                "web request held, old (s)",
                lambda n: f"{statistics.median(samples[n]['held_old']):.2f}",
            ),
            (
                "web request held, new (ms)",
                lambda n: f"{statistics.median(samples[n]['held']) * 1000:.1f}",
            ),
            ("same bytes, old and new", lambda n: "yes" if same[n] else "NO"),
        ]
        for label, cell in lines:
            print(f"{label:<38}" + "".join(f" | {cell(n):>14}" for n in sizes))
        print()
        failures = []
        for n in sizes:
            ratio = us(n, "old") / us(n, "new")
            control = us(n, "old") / us(n, "ctl")
            if ratio < TARGET:
                failures.append(f"{n:,} runs: new is {ratio:.2f}x old, under {TARGET:.0f}x")
            if control >= CONTROL_MAX:
                failures.append(
                    f"{n:,} runs: the control is {control:.2f}x old: the bench cannot tell "
                    "the rows' reading from the file's plumbing"
                )
            if not same[n]:
                failures.append(f"{n:,} runs: the new file differs from the old response")
        if failures:
            print("MISSED: " + "; ".join(failures))
            return 1
        worst = min(us(n, "old") / us(n, "new") for n in sizes)
        print(f"MET: the worker's export is at least {worst:.2f}x today's per row at every size")
        print("(target 3x), and a web request is held for milliseconds instead of the file.")
        return 0
    finally:
        server.cleanup(keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
