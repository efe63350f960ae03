"""Keeping `DailyCount` current from the case event log (docs/analytics.md).

`counts_rollup` reads the events past the stored high-water mark, recomputes the whole
contribution of every case they belong to (its daily counts, their monthly sums in `MonthlyCount`,
and its place in `InHandCount`) (`case_entries`: a pure function of the case, its
events and its clocks) and applies the difference against what that case contributed before
(`CaseTally`). Recomputing per case rather than adding per event makes a run idempotent, lets a
re-classified case move its counts, and makes `counts_rebuild` (the same function over every case)
give the same rows.

Two workers: each batch first writes the `RollupState` row, which takes its row lock on
PostgreSQL and the write lock on SQLite, and only then reads the high-water mark; the second
worker waits and continues after the first one's batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases.models import Case, CaseEvent, Deadline
from petitiondesk.core.db import write_transaction

from .models import CaseTally, DailyCount, InHandCount, MonthlyCount, RollupState

log = logging.getLogger("petitiondesk.analytics")

STATE = "counts"
# Events a roll-up batch reads: many cases of a day share their count rows (a day, an organ, a
# topic), so a bigger batch adds them up in memory and upserts each row once, not once a batch
# (a busy day of 31,000 events at 10M cases: 9.3 s in batches of 5,000, see benchmarks.md).
BATCH_EVENTS = 50_000
FLUSH_CASES = 500_000  # a rebuild adds up this many cases' counts in memory before writing
# Events are read only once they are this old: an event's id is taken at insert, so a transaction
# that commits late could otherwise hold an id below a mark already passed.
LAG_SECONDS = 30

# Clocks whose met/missed counts the KPIs need (organs' duties, not the petitioner's windows).
COUNTED_CLOCKS = frozenset(
    {
        "routing",
        "notice",
        "handling",
        "review_decision",
        "rereview_decision",
        "assignment",
        "urgent_report",
    }
)
# Verbs counted as themselves; other verbs get a metric of their own below, or none.
PLAIN_VERBS = {
    "route": "routed",
    "decline": "declined",
    "request_review": "review_requested",
    "decide_review": "review_decided",
    "request_rereview": "rereview_requested",
    "decide_rereview": "rereview_decided",
    "close": "closed",
    "extend": "extended",
}
OPINION_VERBS = frozenset({"reply", "decide_review", "decide_rereview"})
RESPONSE_VERBS = frozenset({"accept", "decline"})
DIMENSIONS = ("topic", "division", "channel", "category", "topic_division")

Entry = tuple[str, int, str]  # (day ISO, org id, metric)


def case_entries(
    case: Case,
    events: Sequence[CaseEvent],
    deadlines: Iterable[Deadline],
    org_by_code: dict[str, int],
) -> Counter[Entry]:
    """What one case contributes to the counts: (day, org id, metric) → n.

    `events` in id order. Each event counts at its effective date for the organisation it
    belongs to (see docs/analytics.md); clocks count once they are settled: met on the day the step
    was done, missed on the day after the due date (the day of the overdue event).
    """
    out: Counter[Entry] = Counter()
    opinion_org: int = case.org_id
    opinion_outcome = ""
    register_org: int | None = None
    responded = False
    for e in events:
        day = e.effective_on.isoformat()
        org = e.actor_org_id or case.org_id
        verb = e.verb
        if verb == "register":
            register_org = org_by_code.get(e.payload.get("org", ""), case.registered_by_org_id)
            out[(day, register_org, "registered")] += 1
        elif verb in PLAIN_VERBS:
            if verb in ("request_review", "request_rereview") and not e.actor_org_id:
                org = org_by_code.get(e.payload.get("to_org", ""), org)
            out[(day, org, PLAIN_VERBS[verb])] += 1
        elif verb == "accept":
            out[(day, org, "diverted" if e.to_status == "diverted" else "accepted")] += 1
        elif verb == "overdue":
            continue  # counted from the clock below, with the organ that owed it
        elif verb == "rate":
            rating = e.payload.get("rating", "")
            out[(day, opinion_org, "rated")] += 1
            out[(day, opinion_org, f"rated:{rating}")] += 1
            if opinion_outcome == Case.Outcome.SUPPORT:
                out[(day, opinion_org, "rated_resolved")] += 1
        if verb in OPINION_VERBS:
            opinion_org, opinion_outcome = org, e.payload.get("outcome", "")
            if verb == "reply":
                out[(day, org, "replied")] += 1
                out[(day, org, f"reply:{opinion_outcome}")] += 1
        if verb in RESPONSE_VERBS:
            responded = True
    if responded and register_org is not None:
        out[(case.received_on.isoformat(), register_org, "responded")] += 1
    for d in deadlines:
        if not d.duty or d.rule not in COUNTED_CLOCKS:
            continue
        org = d.org_id or case.org_id
        if d.state == Deadline.State.MET and d.done_on is not None:
            out[(d.done_on.isoformat(), org, f"clock_met:{d.rule}")] += 1
        elif d.state == Deadline.State.MISSED:
            missed_on = d.due_on + dt.timedelta(days=1)
            out[(missed_on.isoformat(), org, f"clock_missed:{d.rule}")] += 1
            out[(missed_on.isoformat(), org, "overdue")] += 1
    return out


def case_dims(case: Case | CaseTally) -> dict[str, str]:
    """The case dimensions the counts are kept by (the case's current classification)."""
    return {
        "topic": case.topic,
        "division": case.division_code,
        "channel": case.channel,
        "category": case.category,
        "topic_division": topic_division(case.topic, case.division_code),
    }


def topic_division(topic: str, division: str) -> str:
    """The value of the `topic_division` dimension: "topic|division", or "" without both (a
    spike is "this topic in this place", domain.md §8)."""
    return f"{topic}|{division}" if topic and division else ""


CountKey = tuple[str, int, str, str, str]  # (day, org id, metric, dimension, value)


def _expand(entries: Iterable[tuple[Entry, int]], dims: dict[str, str]) -> Counter[CountKey]:
    """Each entry as its total row and one row per dimension (see `DailyCount`)."""
    out: Counter[CountKey] = Counter()
    for (day, org, metric), n in entries:
        out[(day, org, metric, "", "")] += n
        for dim in DIMENSIONS:
            out[(day, org, metric, dim, dims[dim])] += n
    return out


def _tally_entries(tally: CaseTally) -> list[tuple[Entry, int]]:
    return [((day, org, metric), n) for day, org, metric, n in tally.entries]


def _sql(table: str) -> dict[str, str]:
    on_conflict = f"ON CONFLICT (day, org_id, metric, dimension, value) DO UPDATE SET n = {table}.n + excluded.n"
    return {
        # PostgreSQL: one statement with the rows as six arrays (each key once, as ON CONFLICT
        # needs).
        "upsert_pg": f"INSERT INTO {table} (day, org_id, metric, dimension, value, n) "
        "SELECT * FROM unnest(%s::date[], %s::bigint[], %s::text[], %s::text[], %s::text[], "
        f"%s::int[]) {on_conflict}",
        "copy": f"COPY {table} (day, org_id, metric, dimension, value, n) FROM STDIN",
        # SQLite: a statement a row; executemany runs them in-process, without a round trip each.
        "upsert_row": f"INSERT INTO {table} (day, org_id, metric, dimension, value, n) "
        f"VALUES (%s, %s, %s, %s, %s, %s) {on_conflict}",
    }


_SQL = {
    DailyCount: _sql(DailyCount._meta.db_table),
    MonthlyCount: _sql(MonthlyCount._meta.db_table),
}


def _by_month(delta: Counter[CountKey]) -> Counter[CountKey]:
    out: Counter[CountKey] = Counter()
    for (day, org, metric, dim, value), n in delta.items():
        out[(f"{day[:7]}-01", org, metric, dim, value)] += n
    return out


def _apply(delta: Counter[CountKey], *, empty: bool = False) -> None:
    """Add `delta` to the daily and the monthly counts; drop the rows that fall to zero. `empty`:
    the tables are empty (a rebuild's first write), so the rows are copied in without looking
    for existing ones."""
    for model, rows_of in ((DailyCount, delta), (MonthlyCount, _by_month(delta))):
        # In key order: the upsert then walks the unique index once, front to back.
        rows = sorted((*key, n) for key, n in rows_of.items() if n)
        if not rows:
            continue
        sql = _SQL[model]
        if empty and connection.vendor == "postgresql":
            with connection.cursor() as cur, cur.connection.cursor().copy(sql["copy"]) as copy:
                for row in rows:
                    copy.write_row(row)
            continue
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(sql["upsert_pg"], [list(column) for column in zip(*rows, strict=True)])
            else:
                cur.executemany(sql["upsert_row"], rows)
        if any(row[-1] < 0 for row in rows):
            days = {row[0] for row in rows if row[-1] < 0}
            model.objects.filter(day__in=days, n__lte=0).delete()


StockKey = tuple[int, str]  # (holder org id, status)


def _apply_stock(delta: Counter[tuple[int, str, bool]]) -> None:
    """Move cases between `InHandCount` rows: (org, status, overdue) → change in cases."""
    per_key: dict[StockKey, list[int]] = {}
    for (org, status, overdue), n in delta.items():
        if n:
            pair = per_key.setdefault((org, status), [0, 0])
            pair[0] += n
            pair[1] += n if overdue else 0
    if not per_key:
        return
    table = InHandCount._meta.db_table
    rows = [(org, status, n, over) for (org, status), (n, over) in per_key.items() if n or over]
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} (org_id, status, n, overdue) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (org_id, status) DO UPDATE SET n = {table}.n + excluded.n, "
            f"overdue = {table}.overdue + excluded.overdue",
            rows,
        )
    InHandCount.objects.filter(n__lte=0, overdue__lte=0).delete()


def _org_codes() -> dict[str, int]:
    return dict(Organisation.objects.values_list("code", "id"))


def _recount(
    case_ids: Sequence[int],
    org_by_code: dict[str, int],
    *,
    fresh: bool,
    delta: Counter[CountKey] | None = None,
) -> int:
    """Recompute the cases' contributions and apply the difference (or add it to `delta`, for
    the caller to apply). `fresh`: no tallies exist."""
    cases = {
        c.pk: c
        for c in Case.objects.filter(pk__in=case_ids).only(
            "org_id",
            "registered_by_org_id",
            "received_on",
            "status",
            "is_overdue",
            "topic",
            "division_code",
            "channel",
            "category",
        )
    }
    events: dict[int, list[CaseEvent]] = {}
    for e in (
        CaseEvent.objects.filter(case_id__in=case_ids)
        .only("case_id", "verb", "actor_org_id", "effective_on", "to_status", "payload")
        .order_by("id")
    ):
        events.setdefault(e.case_id, []).append(e)
    deadlines: dict[int, list[Deadline]] = {}
    for d in Deadline.objects.filter(case_id__in=case_ids, duty=True).exclude(
        state__in=(Deadline.State.OPEN, Deadline.State.VOID)
    ):
        deadlines.setdefault(d.case_id, []).append(d)
    old = {} if fresh else {t.case_id: t for t in CaseTally.objects.filter(case_id__in=case_ids)}
    apply_now = delta is None
    if delta is None:
        delta = Counter()
    new_tallies, changed_tallies = [], []
    stock: Counter[tuple[int, str, bool]] = Counter()
    for case_id, case in cases.items():
        entries = case_entries(
            case, events.get(case_id, []), deadlines.get(case_id, []), org_by_code
        )
        dims = case_dims(case)
        tally = old.get(case_id)
        stored = sorted([day, org, metric, n] for (day, org, metric), n in entries.items() if n)
        place = (case.org_id, case.status, case.is_overdue)
        if tally is not None:
            before = (tally.holder_id, tally.status, tally.overdue)
            if tally.entries == stored and case_dims(tally) == dims and before == place:
                continue
            if before != place:
                if tally.holder_id is not None:
                    stock[(tally.holder_id, tally.status, tally.overdue)] -= 1
                stock[place] += 1
            if tally.entries != stored or case_dims(tally) != dims:
                delta.subtract(_expand(_tally_entries(tally), case_dims(tally)))
                delta.update(_expand(entries.items(), dims))
        else:
            stock[place] += 1
            delta.update(_expand(entries.items(), dims))
        values = {
            "topic": case.topic,
            "division_code": case.division_code,
            "channel": case.channel,
            "category": case.category,
            "entries": stored,
            "holder_id": case.org_id,
            "status": case.status,
            "overdue": case.is_overdue,
        }
        if tally is None:
            new_tallies.append(CaseTally(case_id=case_id, **values))
        else:
            for name, value in values.items():
                setattr(tally, name, value)
            changed_tallies.append(tally)
    CaseTally.objects.bulk_create(new_tallies, batch_size=2000)
    CaseTally.objects.bulk_update(
        changed_tallies,
        [
            "topic",
            "division_code",
            "channel",
            "category",
            "entries",
            "holder_id",
            "status",
            "overdue",
        ],
        batch_size=2000,
    )
    _apply_stock(stock)
    if apply_now:
        _apply(delta)
    return len(new_tallies) + len(changed_tallies)


def _locked_state() -> RollupState:
    """The state row, locked for this transaction (must run inside one)."""
    RollupState.objects.filter(name=STATE).update(ran_at=timezone.now())
    return RollupState.objects.select_for_update().get(name=STATE)


def counts_rollup(
    *,
    lag_seconds: int = LAG_SECONDS,
    batch: int = BATCH_EVENTS,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Bring the counts up to the events older than `lag_seconds`; returns the number of events
    read. Safe to run from several workers at once, and to run again (a no-op then)."""
    RollupState.named(STATE)
    cutoff = timezone.now() - dt.timedelta(seconds=lag_seconds)
    org_by_code = _org_codes()
    done = 0
    while True:
        with write_transaction():
            state = _locked_state()
            rows = list(
                CaseEvent.objects.filter(id__gt=state.last_event_id, created_at__lte=cutoff)
                .order_by("id")
                .values_list("id", "case_id")[:batch]
            )
            if not rows:
                return done
            _recount(sorted({case_id for _id, case_id in rows}), org_by_code, fresh=False)
            state.last_event_id = rows[-1][0]
            state.save(update_fields=["last_event_id", "ran_at"])
        done += len(rows)
        if progress:
            progress(done)
        if len(rows) < batch:
            return done


def counts_rebuild(*, batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Recount everything from the event log and the clocks (repair); returns the number of cases.
    Runs as one transaction holding the roll-up's lock: readers see the old counts until it
    commits, and no roll-up runs meanwhile."""
    RollupState.named(STATE)
    org_by_code = _org_codes()
    done = 0
    with write_transaction():
        state = _locked_state()
        last_event = CaseEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        DailyCount.objects.all().delete()
        MonthlyCount.objects.all().delete()
        InHandCount.objects.all().delete()
        CaseTally.objects.all().delete()
        after = 0
        pending: Counter[CountKey] = Counter()
        while True:
            ids = list(
                Case.objects.filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            # Counts are written every FLUSH_CASES cases: many cases share a row (a day, an
            # organisation, a topic), so adding them up first writes each row fewer times.
            _recount(ids, org_by_code, fresh=True, delta=pending)
            if done % FLUSH_CASES + len(ids) >= FLUSH_CASES:
                _apply(pending, empty=done < FLUSH_CASES)
                pending = Counter()
            after = ids[-1]
            done += len(ids)
            if progress:
                progress(done)
        _apply(pending, empty=done <= FLUSH_CASES)
        state.last_event_id = last_event
        state.rebuilt_at = timezone.now()
        state.save(update_fields=["last_event_id", "ran_at", "rebuilt_at"])
    return done


def stderr_progress(label: str, total: int | None = None) -> Callable[[int], None] | None:
    """A progress printer for the commands: None (quiet) when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int) -> None:
        of = f"/{total:,}" if total else ""
        print(f"\r{label}: {done:,}{of}", end="", file=sys.stderr, flush=True)

    return show


def rollup_status() -> dict[str, Any]:
    state = RollupState.objects.filter(name=STATE).first()
    return {
        "last_event_id": state.last_event_id if state else 0,
        "ran_at": state.ran_at if state else None,
        "rebuilt_at": state.rebuilt_at if state else None,
    }
