"""Grow a generated PostgreSQL database to 1,000,000 or 10,000,000 cases by copying it (by hand only).

    .venv/bin/python bench/generate.py --cases 100000          # the template: real lives, ~850 cases/s
    .venv/bin/petitiondesk counts rebuild                     # its counts, by the real code
    .venv/bin/python bench/scale.py --total 1000000            # 10 copies in all
    .venv/bin/python bench/scale.py --total 10000000           # 100 copies (adds 90 more)
    .venv/bin/python bench/scale.py --total 20000 --verify     # check the counts against a rebuild

bench/generate.py replays every case's life in Python (about 850 cases/s on an idle 2-core machine):
10,000,000 cases would take 3.3 hours. This script copies what it generated, server-side, with
`INSERT … SELECT` over `generate_series`: copy k of template case i is case m + i × 128 + k (m the
template's largest id: copies sit beside each other, in order of receipt), with its events, clocks, petitioners, links, accused organs, supervision records and
counts tally. Copies are moved back in time so that a day holds the mix of many template days:

* A case with no running clock (every clock met, missed or void; done matters) is moved back
  k mod --spread days (default 30), all its dates with it. Its life stays consistent: every
  event is still in the past, every clock settled.
* A case with a clock still running keeps its dates (moving it back would leave clocks due in the
  past that the daily sweep never claimed), so "today" keeps the generated share of open and
  overdue cases.

Tracking numbers keep the template's first seven random characters, then "U" (not in the
alphabet, so no generated number is taken) and the copy number in two; payload dates other than `deadline_id` are left as generated (nothing counts them).

The counts (`DailyCount`) of the copies are those of the template, shifted and multiplied: the
template's per-case contributions are expanded with the roll-up's own `_expand` (so the rows are
what `counts_rebuild` writes), then summed over the copies' shifts in one `INSERT … SELECT … GROUP
BY`. `--verify` runs `counts_rebuild()` afterwards and compares the two tables row by row; only
sensible on small totals (the rebuild does ~330-850 cases/s).

While copying, the secondary indexes of the copied tables are dropped and FK triggers are off
(`session_replication_role = replica`); the indexes are rebuilt at the end, and the unique
constraints stay in place throughout, so a clash fails the run instead of storing it.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from petitiondesk.analytics import rollup  # noqa: E402
from petitiondesk.analytics.models import CaseTally  # noqa: E402
from petitiondesk.intake.services import TRACKING_ALPHABET  # noqa: E402

# table → (id stride key, {column: stride key of the table it points to}, date columns, timestamps)
# "case" rows are joined to `bench_shift` on the column named in CASE_COL.
TABLES: dict[str, dict[str, Any]] = {
    "cases_case": {
        "ids": "case",
        "fks": {},
        "dates": ["received_on", "last_effective_on"],
        "stamps": ["created_at", "updated_at"],
    },
    "cases_caseevent": {
        "ids": "event",
        "fks": {"case_id": "case"},
        "dates": ["effective_on"],
        "stamps": ["created_at"],
    },
    "cases_deadline": {
        "ids": "deadline",
        "fks": {"case_id": "case"},
        "dates": ["start_on", "due_on", "done_on"],
        "stamps": [],
    },
    "cases_petitioner": {
        "ids": "petitioner",
        "fks": {"case_id": "case"},
        "dates": [],
        "stamps": [],
    },
    "cases_caselink": {
        "ids": "link",
        "fks": {"case_id": "case", "other_id": "case"},
        "dates": [],
        "stamps": ["created_at"],
    },
    "cases_case_accused_orgs": {
        "ids": "accused",
        "fks": {"case_id": "case"},
        "dates": [],
        "stamps": [],
    },
    "supervision_supervisionrecord": {
        "ids": "record",
        "fks": {"case_id": "case", "deadline_id": "deadline"},
        "dates": ["answer_by", "answered_on", "closed_on", "issued_on", "listed_on"],
        "stamps": ["opened_at"],
    },
}
STRIDES = {
    "case": "cases_case",
    "event": "cases_caseevent",
    "deadline": "cases_deadline",
    "petitioner": "cases_petitioner",
    "link": "cases_caselink",
    "accused": "cases_case_accused_orgs",
    "record": "supervision_supervisionrecord",
}
# Tables that point at cases and must be empty in the template (nothing here copies them).
NOT_COPIED = (
    "routing_routingadvice",
    "supervision_backlogcase",
    "notices_notice",
    "cases_attachment",
)
INDEXED = [*TABLES, "analytics_casetally", "analytics_dailycount", "analytics_monthlycount"]
CASES_A_STATEMENT = 10_000  # template cases whose copies one statement inserts
# Copy k of template row i gets id (template's largest id) + i x SLOTS + k: the copies of a row sit
# next to each other, so the tables stay in order of receipt as in real data (cases with clocks
# due on one day share pages), at most SLOTS - 1 copies.
SLOTS = 128


def q(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def say(msg: str, t0: float | None = None) -> None:
    took = f" ({time.perf_counter() - t0:.1f} s)" if t0 is not None else ""
    print(f"scale: {msg}{took}", flush=True)


def columns(table: str) -> list[str]:
    return [
        r[0]
        for r in q(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            [table],
        )
    ]


def template() -> dict[str, Any]:
    """The template's id ranges and how many copies exist (copy 0 is the template itself)."""
    q("CREATE TABLE IF NOT EXISTS bench_template (key text PRIMARY KEY, value bigint NOT NULL)")
    found = dict(q("SELECT key, value FROM bench_template"))
    if found:
        return found
    for table in NOT_COPIED:
        if q(f"SELECT 1 FROM {table} LIMIT 1"):
            raise SystemExit(f"scale: {table} has rows; this script copies a generated database")
    cases = q("SELECT count(*) FROM cases_case")[0][0]
    if not cases:
        raise SystemExit("scale: no cases: run bench/generate.py first")
    tallies = q("SELECT count(*) FROM analytics_casetally")[0][0]
    if tallies != cases:
        raise SystemExit(
            f"scale: {tallies:,} tallies for {cases:,} cases: run `petitiondesk counts rebuild`"
        )
    found = {"cases": cases, "copies": 1}
    for key, table in STRIDES.items():
        found[key] = q(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0] or 1
    q(
        "INSERT INTO bench_template VALUES " + ",".join(["(%s, %s)"] * len(found)),
        [x for kv in found.items() for x in kv],
    )
    # Which cases may move back in time: no clock still running (see the docstring).
    q(
        "CREATE TABLE bench_shift AS SELECT c.id AS case_id, NOT EXISTS (SELECT 1 FROM "
        "cases_deadline d WHERE d.case_id = c.id AND d.state = 'open') AND NOT c.is_overdue "
        "AS movable FROM cases_case c"
    )
    q("ALTER TABLE bench_shift ADD PRIMARY KEY (case_id)")
    return found


def secondary_indexes() -> list[tuple[str, str]]:
    """(name, definition) of the indexes that back no constraint, on the tables written."""
    return q(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
        "AND i.schemaname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
        [INDEXED],
    )


def select_list(table: str, spec: dict[str, Any], tmpl: dict[str, Any], spread: int) -> str:
    shift = f"(CASE WHEN s.movable THEN k %% {spread} ELSE 0 END)"
    out = []
    for col in columns(table):
        if col == "id":
            out.append(f"{tmpl[spec['ids']]} + t.id * {SLOTS} + k")
        elif col in spec["fks"]:
            out.append(f"{tmpl[spec['fks'][col]]} + t.{col} * {SLOTS} + k")
        elif col in spec["dates"]:
            out.append(f"t.{col} - {shift}")
        elif col in spec["stamps"]:
            out.append(f"t.{col} - {shift} * interval '1 day'")
        elif table == "cases_case" and col == "tracking_number":
            a = f"'{TRACKING_ALPHABET}'"
            out.append(
                f"'XF' || to_char(t.received_on - {shift}, 'YYYYMMDD') || substr(t.tracking_number, 11, 7)"
                # "U" is outside the alphabet, so a copy never takes a generated number.
                f" || 'U' || substr({a}, (k / 32) %% 32 + 1, 1) || substr({a}, k %% 32 + 1, 1)"
            )
        elif table == "cases_caseevent" and col == "payload":
            out.append(
                "CASE WHEN t.payload ? 'deadline_id' THEN jsonb_set(t.payload, '{deadline_id}', "
                f"to_jsonb({tmpl['deadline']} + (t.payload->>'deadline_id')::bigint * {SLOTS} + k)) "
                "ELSE t.payload END"
            )
        else:
            out.append(f"t.{col}")
    return ", ".join(out)


def copy_rows(
    tmpl: dict[str, Any], first: int, last: int, spread: int, cases: tuple[int, int]
) -> None:
    """Copies first..last of the template cases with ids in `cases` (inclusive), every table,
    inserted in order of template row then copy: the heap keeps the order of receipt, so the
    cases (and clocks) of a day share pages as they do in real data."""
    case_key = {"cases_case": "t.id"}
    for table, spec in [*TABLES.items(), ("analytics_casetally", None)]:
        t0 = time.perf_counter()
        key = case_key.get(table, "t.case_id")
        if spec is None:
            cols = columns(table)
            shift = f"(CASE WHEN s.movable THEN k %% {spread} ELSE 0 END)"
            exprs = {
                "case_id": f"{tmpl['case']} + t.case_id * {SLOTS} + k",
                "entries": f"CASE WHEN {shift} = 0 THEN t.entries ELSE coalesce((SELECT "
                "jsonb_agg(jsonb_build_array(to_char((e->>0)::date - "
                f"{shift}, 'YYYY-MM-DD'), e->1, e->2, e->3) ORDER BY o) FROM "
                "jsonb_array_elements(t.entries) WITH ORDINALITY AS x(e, o)), '[]'::jsonb) END",
            }
            select = ", ".join(exprs.get(c, f"t.{c}") for c in cols)
            order = "t.case_id, k"
        else:
            cols = columns(table)
            select = select_list(table, spec, tmpl, spread)
            order = "t.id, k"
        q(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} "
            f"FROM {table} t JOIN bench_shift s ON s.case_id = {key} "
            f"CROSS JOIN generate_series(%s, %s) k "
            f"WHERE {key} BETWEEN %s AND %s ORDER BY {order}",
            [first, last, *cases],
        )
        say(f"  {table}: copies {first}-{last} of template cases {cases[0]}-{cases[1]}", t0)


def template_counts() -> None:
    """The template's contributions, expanded by the roll-up's own code, into `bench_counts`."""
    movable = dict(q("SELECT case_id, movable FROM bench_shift"))
    sums: dict[bool, Counter[Any]] = {True: Counter(), False: Counter()}
    for tally in CaseTally.objects.filter(case_id__lte=max(movable)).iterator(chunk_size=5000):
        sums[movable[tally.case_id]].update(
            rollup._expand(rollup._tally_entries(tally), rollup.case_dims(tally))
        )
    q("DROP TABLE IF EXISTS bench_counts")
    q(
        "CREATE UNLOGGED TABLE bench_counts (movable boolean, day date, org_id bigint, "
        "metric text, dimension text, value text, n integer)"
    )
    with (
        connection.cursor() as cur,
        cur.connection.cursor().copy("COPY bench_counts FROM STDIN") as copy,
    ):
        for flag, counter in sums.items():
            for (day, org, metric, dim, value), n in counter.items():
                if n:
                    copy.write_row((flag, day, org, metric, dim, value, n))


def write_counts(copies: int, spread: int) -> None:
    """DailyCount = Σ over copies of the template's counts shifted by the copy's days."""
    q("TRUNCATE analytics_dailycount")
    q(
        "INSERT INTO analytics_dailycount (day, org_id, metric, dimension, value, n) "
        "SELECT day - j, org_id, metric, dimension, value, sum(n * m)::int FROM ("
        "  SELECT c.day, m.j, c.org_id, c.metric, c.dimension, c.value, c.n, m.m "
        "  FROM bench_counts c JOIN (SELECT k %% %s AS j, count(*) AS m "
        "    FROM generate_series(0, %s) k GROUP BY 1) m ON c.movable"
        "  UNION ALL SELECT c.day, 0, c.org_id, c.metric, c.dimension, c.value, c.n, %s "
        "  FROM bench_counts c WHERE NOT c.movable"
        ") x GROUP BY 1, 2, 3, 4, 5",
        [spread, copies - 1, copies],
    )


def derive_months_and_in_hand() -> None:
    """MonthlyCount and InHandCount from the rows just written, by the migration that introduced
    them (it derives both from the daily counts and the tallies)."""
    q("TRUNCATE analytics_monthlycount, analytics_inhandcount")
    fill = importlib.import_module(
        "petitiondesk.analytics.migrations.0003_monthly_counts_in_hand"
    ).fill
    fill(None, SimpleNamespace(connection=connection))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--total", type=int, required=True, help="cases wanted in all")
    p.add_argument("--spread", type=int, default=30, help="days copies move back (default 30)")
    p.add_argument("--verify", action="store_true", help="compare the counts with a rebuild")
    args = p.parse_args(argv)
    if connection.vendor != "postgresql":
        raise SystemExit("scale: PostgreSQL only (DATABASE_URL)")
    if args.spread < 1:
        p.error("--spread must be positive")
    t_all = time.perf_counter()
    tmpl = template()
    have = int(tmpl["copies"])
    want = max(have, math.ceil(args.total / tmpl["cases"]))
    if want > SLOTS:
        raise SystemExit(
            f"scale: at most {SLOTS} copies of the template ({SLOTS * tmpl['cases']:,} cases)"
        )
    say(
        f"template {tmpl['cases']:,} cases; {have} copies now, {want} wanted "
        f"({want * tmpl['cases']:,} cases)"
    )
    if want > have:
        q("SET session_replication_role = replica")
        q("SET maintenance_work_mem = '1GB'")
        q("SET work_mem = '256MB'")
        dropped = secondary_indexes()
        for name, _definition in dropped:
            q(f"DROP INDEX {name}")
        say(f"dropped {len(dropped)} secondary indexes")
        try:
            # All the new copies of a range of template cases at a time (see copy_rows); a run
            # that stops half-way leaves a database to drop, not to continue.
            for a in range(1, tmpl["case"] + 1, CASES_A_STATEMENT):
                b = min(tmpl["case"], a + CASES_A_STATEMENT - 1)
                t0 = time.perf_counter()
                copy_rows(tmpl, have, want - 1, args.spread, (a, b))
                say(f"template cases {a:,}-{b:,}: copies {have}-{want - 1} done", t0)
            q("UPDATE bench_template SET value = %s WHERE key = 'copies'", [want])
            copies = int(q("SELECT value FROM bench_template WHERE key = 'copies'")[0][0])
            t0 = time.perf_counter()
            template_counts()
            q("SET work_mem = '1GB'")
            write_counts(copies, args.spread)
            say(f"daily counts for {copies} copies", t0)
            t0 = time.perf_counter()
            derive_months_and_in_hand()
            say("monthly and in-hand counts", t0)
        finally:
            for name, definition in dropped:
                t0 = time.perf_counter()
                q(definition)
                say(f"index {name} rebuilt", t0)
            q("SET session_replication_role = DEFAULT")
        for table in STRIDES.values():
            q(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        last_event = q("SELECT max(id) FROM cases_caseevent")[0][0]
        q(
            "UPDATE analytics_rollupstate SET last_event_id = %s WHERE name = %s",
            [last_event, rollup.STATE],
        )
        t0 = time.perf_counter()
        q("ANALYZE")
        say("ANALYZE", t0)
    n = q("SELECT count(*) FROM cases_case")[0][0]
    say(
        f"{n:,} cases, {q('SELECT count(*) FROM cases_caseevent')[0][0]:,} events, "
        f"{q('SELECT count(*) FROM analytics_dailycount')[0][0]:,} daily-count rows",
        t_all,
    )
    if args.verify:
        for table in ("analytics_dailycount", "analytics_monthlycount", "analytics_inhandcount"):
            q(f"DROP TABLE IF EXISTS bench_copied_{table}")
            q(f"CREATE TABLE bench_copied_{table} AS SELECT * FROM {table}")
        t0 = time.perf_counter()
        rollup.counts_rebuild()
        say("counts_rebuild()", t0)
        differ = 0
        for table in ("analytics_dailycount", "analytics_monthlycount", "analytics_inhandcount"):
            cols = [c for c in columns(table) if c != "id"]
            a, b = (f"SELECT {', '.join(cols)} FROM {t}" for t in (f"bench_copied_{table}", table))
            only_rebuilt = q(f"SELECT count(*) FROM ({b} EXCEPT {a}) x")[0][0]
            only_copied = q(f"SELECT count(*) FROM ({a} EXCEPT {b}) x")[0][0]
            say(
                f"verify {table}: {only_rebuilt} rows only in the rebuild, {only_copied} only in the copy"
            )
            differ += only_rebuilt + only_copied
        if differ:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
