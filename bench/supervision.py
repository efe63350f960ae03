"""Time the supervision sweep and the board's supervision sections (by hand only).

    export PETITIONDESK_DATA_DIR=var/bench-sup DATABASE_URL=sqlite:///var/bench-sup/bench.sqlite3
    .venv/bin/petitiondesk migrate && .venv/bin/python bench/generate.py --cases 20000
    .venv/bin/python bench/supervision.py

Runs `supervision_sweep()` until nothing fires (the catch-up of a first run), then reports medians
of the steady state. Results: docs/supervision.md "Cost".
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def timed(fn: Callable[[], Any], n: int = 5) -> float:
    runs = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main() -> None:
    import django

    django.setup()
    from petitiondesk.accounts.models import User
    from petitiondesk.cases.models import Case
    from petitiondesk.cases.worklists import board
    from petitiondesk.supervision import selectors, services
    from petitiondesk.supervision.models import BacklogCase, Notification, SupervisionRecord

    print(
        f"cases {Case.objects.count():,}, supervision records {SupervisionRecord.objects.count():,}"
    )
    start, rounds = time.perf_counter(), 0
    while rounds < 100:
        rounds += 1
        if not any(services.supervision_sweep().values()):
            break
    print(
        f"catch-up: {rounds} sweep(s), {time.perf_counter() - start:.1f} s; backlog cases "
        f"{BacklogCase.objects.count():,}, notifications {Notification.objects.count():,}"
    )
    print(f"steady-state supervision_sweep: {timed(services.supervision_sweep):.1f} ms")
    for part in ("reminders_sweep", "listing_sweep", "backlog_sweep"):
        print(f"  {part}: {timed(getattr(services, part)):.1f} ms")
    supervisor = User.objects.filter(role="supervisor").order_by("id").first()
    if supervisor is None:
        sys.exit("bench/supervision.py: error: no supervisor in this database")
    print(
        f"board sections ({supervisor.username}): {timed(lambda: selectors.supervision_board(supervisor)):.1f} ms"
    )
    print(f"existing board(): {timed(lambda: board(supervisor)):.1f} ms")
    print(f"unread count: {timed(lambda: selectors.unread_count(supervisor), n=20):.2f} ms")


if __name__ == "__main__":
    main()
