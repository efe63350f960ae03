"""Analytics at scale (by hand only): the counts rebuild, a day's roll-up, the dashboard's server
time and the overdue sweep, on a database filled by bench/generate.py.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_h4 PETITIONDESK_DATA_DIR=var/bench-h4 \\
        .venv/bin/python bench/analytics.py [--no-rebuild] [--requests 7]

1. `counts_rebuild()`: every case recounted from its events and clocks (the repair command).
2. A day's roll-up: the cases of the last E events, where E is the average number of events a
   day (events ÷ days between the first and the last effective date), are taken out of the
   counts as if never counted (their tallies subtracted and deleted), the high-water mark is set
   back E events, and `counts_rollup()` is timed: every case of that day is new to the counts,
   the worst case for a day's work.
3. The dashboard (/desk/analytics/) for the province analyst and the city supervisor of the demo
   tree, 90 days and a whole year ending on the last day with counts, and
   /api/v1/analytics/kpis over that year: django.test.Client
   through the whole WSGI handler (middleware, session, second factor, view, queries, template),
   one warm-up, then --requests timed requests (median, max) and the SQL statements of one.
4. The overdue sweep (`supervision.services.deadlines_sweep`) today, and for tomorrow inside a
   transaction that is rolled back (so the clocks due today are claimed, then restored).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.test import Client  # noqa: E402

from petitiondesk.accounts.models import User  # noqa: E402
from petitiondesk.analytics import rollup  # noqa: E402
from petitiondesk.analytics.models import CaseTally, DailyCount, RollupState  # noqa: E402
from petitiondesk.cases.models import Case, CaseEvent  # noqa: E402
from petitiondesk.core import clock  # noqa: E402
from petitiondesk.supervision.services import deadlines_sweep  # noqa: E402

PERSONAS = (("province analyst", "jn-gov-analyst"), ("city supervisor", "qh-gov-supervisor"))


class Rollback(Exception):
    pass


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    db = connection.vendor
    if db == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            db += " " + cur.fetchone()[0]
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {db}"


def forget_last_events(n_events: int) -> tuple[int, int]:
    """Take the cases of the last `n_events` events out of the counts; set the mark back."""
    last = CaseEvent.objects.aggregate(m=Max("id"))["m"] or 0
    rows = list(CaseEvent.objects.filter(id__gt=last - n_events).values_list("id", "case_id"))
    case_ids = sorted({c for _i, c in rows})
    with transaction.atomic():
        delta: Counter[Any] = Counter()
        stock: Counter[Any] = Counter()
        for tally in CaseTally.objects.filter(case_id__in=case_ids):
            delta.subtract(rollup._expand(rollup._tally_entries(tally), rollup.case_dims(tally)))
            if tally.holder_id is not None:
                stock[(tally.holder_id, tally.status, tally.overdue)] -= 1
        rollup._apply(delta)
        rollup._apply_stock(stock)
        CaseTally.objects.filter(case_id__in=case_ids).delete()
        RollupState.objects.filter(name=rollup.STATE).update(last_event_id=last - n_events)
    return len(rows), len(case_ids)


def login(username: str) -> Client:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def time_url(client: Client, url: str, requests: int, **headers: str) -> dict[str, Any]:
    r = client.get(url, headers=headers)
    if r.status_code != 200:
        raise SystemExit(f"{url}: HTTP {r.status_code}")
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url, headers=headers)
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
    return {"median": statistics.median(times), "max": max(times), "queries": len(queries)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--no-rebuild", action="store_true", help="keep the counts as they are")
    p.add_argument("--requests", type=int, default=7, help="timed requests a page (default 7)")
    args = p.parse_args(argv)

    cases = Case.objects.count()
    events = CaseEvent.objects.count()
    print(f"# {machine()}\n# {cases:,} cases, {events:,} events", flush=True)
    print(f"# load average before: {os.getloadavg()[0]:.1f}", flush=True)
    out: list[tuple[str, str]] = []

    if not args.no_rebuild:
        seconds, n = timed(rollup.counts_rebuild)
        out.append(("counts rebuild", f"{seconds:.1f} s for {n:,} cases ({n / seconds:,.0f}/s)"))
        print(out[-1], flush=True)
    out.append(("daily count rows", f"{DailyCount.objects.count():,}"))

    span = CaseEvent.objects.aggregate(a=Min("effective_on"), b=Max("effective_on"))
    days = max(1, (span["b"] - span["a"]).days + 1)
    per_day = max(1, events // days)
    _events, n_cases = forget_last_events(per_day)
    seconds, read = timed(rollup.counts_rollup, lag_seconds=0)
    out.append(
        (
            "a day's roll-up",
            f"{seconds:.2f} s: {read:,} events of {n_cases:,} cases new to the counts "
            f"(a day = {per_day:,} events, {days:,} days)",
        )
    )
    print(out[-1], flush=True)
    seconds, read = timed(rollup.counts_rollup, lag_seconds=0)
    out.append(("roll-up with nothing new", f"{seconds * 1000:.0f} ms ({read} events)"))

    # Periods end on the last day with counts: a database generated only in part (bench/generate.py
    # plans in order of receipt) has nothing in the last 90 days of the calendar.
    today = clock.today()
    last = DailyCount.objects.filter(dimension="").aggregate(m=Max("day"))["m"] or today
    last = min(last, today)
    quarter_ago = last - dt.timedelta(days=89)
    year_ago = last - dt.timedelta(days=364)
    from petitiondesk.accounts.services import token_create

    for label, username in PERSONAS:
        client = login(username)
        for what, url in (
            ("dashboard, 90 days", f"/desk/analytics/?date_from={quarter_ago}&date_to={last}"),
            ("dashboard, 1 year", f"/desk/analytics/?date_from={year_ago}&date_to={last}"),
        ):
            r = time_url(client, url, args.requests)
            out.append(
                (
                    f"{what} ({label})",
                    f"median {r['median']:.0f} ms, max {r['max']:.0f} ms, {r['queries']} queries",
                )
            )
            print(out[-1], flush=True)
        token = token_create(user=User.objects.get(username=username), name="bench-analytics")
        r = time_url(
            Client(),
            f"/api/v1/analytics/kpis?from={year_ago}&to={last}",
            args.requests,
            Authorization=f"Bearer {token}",
        )
        out.append(
            (
                f"API kpis, 1 year ({label})",
                f"median {r['median']:.0f} ms, max {r['max']:.0f} ms, {r['queries']} queries",
            )
        )
        print(out[-1], flush=True)

    seconds, claimed = timed(deadlines_sweep)
    out.append(("overdue sweep, today", f"{seconds * 1000:.0f} ms ({claimed} clocks claimed)"))
    tomorrow = today + dt.timedelta(days=1)
    result: dict[str, Any] = {}
    try:
        with transaction.atomic():
            result["seconds"], result["claimed"] = timed(deadlines_sweep, today=tomorrow)
            raise Rollback
    except Rollback:
        pass
    out.append(
        (
            "overdue sweep, tomorrow (rolled back)",
            f"{result['seconds'] * 1000:.0f} ms ({result['claimed']} clocks claimed)",
        )
    )
    print("\n| measurement | result |\n|---|---|")
    for name, value in out:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
