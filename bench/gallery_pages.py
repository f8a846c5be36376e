"""The gallery at 1,000, 10,000 and 100,000 kept outputs: first page, deep page, OFFSET.

Each team also has one upload per ten outputs, interleaved in time, so every page merges
both kinds (gallery.listing.page).

Fills a temporary SQLite database with three teams (1k, 10k and 100k kept outputs, one
per run), then asks the gallery view in process (Django's test client: middleware, view,
template) for each team's first page and for a page 90 % deep through the `?after=`
cursor, in interleaved rounds (every size once per round, so drift hits all alike), and
prints medians side by side. Beside the keyset page it times the same page's query with
OFFSET to the same depth: the way that grows with depth, which the cursor avoids. Last,
two filters that match rarely (20 stars; a search that matches nothing) walk the team's
index to the end: they grow with the team's size, and the table shows by how much.

CPU ms is time.process_time() around each request: the CPU this process spent serving it
(Django, the template and SQLite's own work, which runs in this process), not wall time.

    .venv/bin/python bench/gallery_pages.py               # 1k, 10k, 100k
    .venv/bin/python bench/gallery_pages.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Server, make_team, session_cookies  # noqa: E402

ROUNDS = 15
# The pages asked for, and how many tiles each shows (None: a full page).
PAGES = {"first": None, "deep": None, "favourites": 20, "search miss": 0}


def fill(team, user, n: int) -> None:
    from django.utils import timezone

    from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus

    start = timezone.now() - timedelta(seconds=n * 60)
    for first in range(0, n, 5000):
        count = min(5000, n - first)
        runs = Run.objects.bulk_create(
            [
                Run(
                    team=team,
                    created_by=user,
                    technique_id=f"tech_{(first + i) % 20}",
                    technique_name=f"Technique {(first + i) % 20}",
                    status=RunStatus.COMPLETED,
                    search_text=f"a lemon number {first + i}",
                    created_at=start + timedelta(seconds=(first + i) * 60),
                    code=f"g{team.pk}x{first + i:09d}",
                )
                for i in range(count)
            ]
        )
        RunOutput.objects.bulk_create(
            [
                RunOutput(
                    run=run,
                    team=team,
                    created_at=run.created_at,
                    output_id="image",
                    type="imageUrl",
                    content_type="image/png",
                    file=f"outputs/bench/{run.code}.png",
                    sha256=f"{run.pk:064x}",
                    keep_status=OutputKeepStatus.KEPT,
                    thumb_status="made",
                    thumb_small=f"thumbs/{run.pk}-320.webp",
                    thumb_large=f"thumbs/{run.pk}-640.webp",
                    width=1024,
                    height=768,
                )
                for run in runs
            ]
        )
    # One upload per ten outputs, between them in time: every page merges both kinds.
    from uploads.models import Upload

    Upload.objects.bulk_create(
        [
            Upload(
                team=team,
                uploaded_by=user,
                file=f"uploads/bench/{team.pk}-{i}.png",
                sha256=f"{team.pk:08x}{i:056x}",
                size=1000,
                content_type="image/png",
                kind="image",
                width=1024,
                height=768,
                original_name=f"upload-{i}.png",
                created_at=start + timedelta(seconds=i * 600 + 30),
                thumb_status="made",
                thumb_small=f"thumbs/u{team.pk}-{i}-320.webp",
                thumb_large=f"thumbs/u{team.pk}-{i}-640.webp",
            )
            for i in range(n // 10)
        ],
        batch_size=2000,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()

    server = Server(log_level="WARNING")
    try:
        print(f"Filling a temporary database in {server.workdir} ...", flush=True)
        server.setup_django(collectstatic=True)
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.db.models import Q
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from gallery import listing
        from runs.models import RunOutput

        cases = {}
        began = time.perf_counter()
        for size in args.sizes:
            team = make_team(server)
            (cookie,) = session_cookies(team, 1)
            user = get_user_model().objects.get(team_memberships__team=team)
            fill(team, user, size)
            from gallery.models import Favourite

            stars = RunOutput.objects.filter(team=team).order_by("pk")[:: max(1, size // 20)]
            Favourite.objects.bulk_create(
                [
                    Favourite(user=user, team=team, output=o, output_created_at=o.created_at)
                    for o in stars[:20]
                ]
            )
            client = Client(HTTP_HOST="127.0.0.1")
            client.cookies["sessionid"] = cookie
            ordered = RunOutput.objects.filter(team=team, keep_status="kept").order_by(
                "-created_at", "-id"
            )
            depth = int(size * 0.9)
            cursor_row = ordered[depth - 1]
            cases[size] = {
                "client": client,
                "first": "/gallery/",
                "deep": f"/gallery/?after={listing.encode_cursor(cursor_row)}",
                "favourites": "/gallery/?favourites=on",
                "search miss": "/gallery/?q=no+such+words",
                "keyset_qs": ordered.filter(created_at__lte=cursor_row.created_at).filter(
                    Q(created_at__lt=cursor_row.created_at) | Q(pk__lt=cursor_row.pk)
                ),
                "ordered": ordered,
                "depth": depth,
            }
            client.get("/gallery/")  # the technique choices, cached for a minute
        total = sum(args.sizes)
        print(f"{total} kept outputs written in {time.perf_counter() - began:.1f} s", flush=True)

        wall: dict[tuple[int, str], list[float]] = {}
        cpu: dict[tuple[int, str], list[float]] = {}
        queries: dict[tuple[int, str], int] = {}
        for _ in range(args.rounds):
            for size, case in cases.items():
                for name, tiles in PAGES.items():
                    with CaptureQueriesContext(connection) as captured:
                        c0, t0 = time.process_time(), time.perf_counter()
                        response = case["client"].get(case[name])
                        t1, c1 = time.perf_counter(), time.process_time()
                    assert response.status_code == 200, (case[name], response.status_code)
                    expected = listing.PAGE_SIZE if tiles is None else tiles
                    assert response.content.count(b'class="gtile ') == expected, name
                    wall.setdefault((size, name), []).append((t1 - t0) * 1000)
                    cpu.setdefault((size, name), []).append((c1 - c0) * 1000)
                    queries[(size, name)] = len(captured.captured_queries)
                # The page's query alone, by the cursor and by OFFSET to the same depth.
                for name, qs in (
                    ("keyset query", case["keyset_qs"][: listing.PAGE_SIZE + 1]),
                    (
                        "offset query",
                        case["ordered"][case["depth"] : case["depth"] + listing.PAGE_SIZE + 1],
                    ),
                ):
                    t0 = time.perf_counter()
                    rows = list(qs.values_list("pk", flat=True))
                    wall.setdefault((size, name), []).append((time.perf_counter() - t0) * 1000)
                    assert rows

        sizes = list(cases)
        print()
        print(f"median of {args.rounds} interleaved rounds (ms); SQLite, in process")
        header = f"{'':<34}" + "".join(f" | {f'{s:,} outputs':>15}" for s in sizes)
        print(header)
        print("-" * len(header))
        rows = [
            ("first page: wall ms", "first", wall),
            ("first page: CPU ms", "first", cpu),
            ("page at 90 % (?after=): wall ms", "deep", wall),
            ("page at 90 % (?after=): CPU ms", "deep", cpu),
            ("  its query, keyset: ms", "keyset query", wall),
            ("  same depth by OFFSET: ms", "offset query", wall),
            ("favourites only (20 stars): wall", "favourites", wall),
            ("search, no match: wall ms", "search miss", wall),
        ]
        for label, name, table in rows:
            cells = "".join(f" | {statistics.median(table[(s, name)]):>15.2f}" for s in sizes)
            print(f"{label:<34}{cells}")
        counts = {s: f"{queries[(s, 'first')]} / {queries[(s, 'deep')]}" for s in sizes}
        cells = "".join(f" | {counts[s]:>15}" for s in sizes)
        print(f"{'SQL queries (first / deep page)':<34}{cells}")
        return 0
    finally:
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
