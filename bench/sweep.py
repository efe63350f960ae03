"""The periodic sweeps at scale (by hand only): `deadlines_sweep` and `supervision_sweep` for today,
tomorrow and the day after, each inside a transaction that is rolled back, on a database filled by
bench/generate.py.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_sweep PETITIONDESK_DATA_DIR=/work/var-sweep \\
        .venv/bin/python bench/sweep.py [--repeat 3]

For each day: the clocks `deadlines_sweep` claims (petitioner windows and duty clocks apart) and
its time, then the reminders, listings and backlog flags of `supervision_sweep` and its time, and
the SQL statements of each. The rollback restores the database, so the runs are repeatable; the
best of --repeat runs is printed, then every run's time. Inside the outer transaction each step's transaction is a
savepoint, so a step that commits once per row costs more in production (a commit each) than here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402

from petitiondesk.cases.models import Case, Deadline  # noqa: E402
from petitiondesk.core import clock  # noqa: E402
from petitiondesk.supervision.services import deadlines_sweep, supervision_sweep  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analytics import Rollback, machine  # noqa: E402  (bench/analytics.py)


def rolled_back(fn: Any, **kwargs: Any) -> tuple[float, int, Any, dict[str, int]]:
    """(seconds, SQL statements, result, claimed clocks by duty) of `fn(**kwargs)`, undone."""
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    out: dict[str, Any] = {}
    try:
        with transaction.atomic():
            day = kwargs["today"]
            before = open_past_due(day)
            with connection.execute_wrapper(count):
                t0 = time.perf_counter()
                out["result"] = fn(**kwargs)
                out["seconds"] = time.perf_counter() - t0
            after = open_past_due(day)
            out["split"] = {k: before[k] - after[k] for k in before}
            raise Rollback
    except Rollback:
        pass
    return out["seconds"], len(queries), out["result"], out["split"]


def open_past_due(day: dt.date) -> dict[str, int]:
    """Open clocks due before `day` (what a sweep on `day` claims), windows and duty apart."""
    counts = {"windows": 0, "duty": 0}
    for duty, n in (
        Deadline.objects.filter(state=Deadline.State.OPEN, due_on__lt=day)
        .order_by()
        .values_list("duty")
        .annotate(n=Count("id"))
    ):
        counts["duty" if duty else "windows"] = n
    return counts


def spread(runs: list[tuple[float, int, Any, dict[str, int]]]) -> str:
    """The other runs' times, when there were others (the first run reads colder pages)."""
    if len(runs) < 2:
        return ""
    return " (runs: " + ", ".join(f"{r[0] * 1000:.0f}" for r in runs) + ")"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="runs a measurement, best kept (3)")
    args = p.parse_args(argv)

    print(f"# {machine()}", flush=True)
    print(f"# {Case.objects.count():,} cases, {Deadline.objects.count():,} clocks", flush=True)
    print(f"# load average before: {os.getloadavg()[0]:.1f}", flush=True)
    today = clock.today()
    rows: list[tuple[str, str]] = []
    for label, offset in (("today", 0), ("tomorrow", 1), ("the day after", 2)):
        day = today + dt.timedelta(days=offset)
        runs = [rolled_back(deadlines_sweep, today=day) for _ in range(args.repeat)]
        seconds, statements, claimed, split = min(runs, key=lambda r: r[0])
        per_100 = f", {seconds * 1000 * 100 / claimed:.1f} ms per 100" if claimed else ""
        rows.append(
            (
                f"deadlines_sweep, {label} ({day})",
                f"{seconds * 1000:.0f} ms{spread(runs)}, {claimed:,} clocks claimed "
                f"({split['windows']:,} windows, {split['duty']:,} duty){per_100}, "
                f"{statements:,} statements",
            )
        )
        print(rows[-1], flush=True)
        runs = [rolled_back(supervision_sweep, today=day) for _ in range(args.repeat)]
        seconds, statements, result, _split = min(runs, key=lambda r: r[0])
        rows.append(
            (
                f"supervision_sweep, {label}",
                f"{seconds * 1000:.0f} ms{spread(runs)}, {result['reminded']} reminders, {result['listed']} "
                f"listings, {result['backlog']} backlog flags, {statements:,} statements",
            )
        )
        print(rows[-1], flush=True)
    print("\n| measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
