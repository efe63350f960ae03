"""Profile of the intake hot path (by hand only; see docs/benchmarks.md).

Submits petitions through Django's test Client (the full middleware + django-ninja stack, no
HTTP server) against a fresh PostgreSQL database `petitiondesk_profile` (or SQLite with
--sqlite) and reports, per submission: the SQL statements (CaptureQueriesContext), the
connection health checks Django runs outside them, the server-side transactions
(pg_stat_database), wall and CPU time, the time spent waiting on the database, and a cProfile of
the whole request.

    .venv/bin/python bench/profile_intake.py [--n 1000] [--sqlite] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake import ORGS  # noqa: E402

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "petitiondesk_profile"

_seq = itertools.count(1)


def body(kind: str) -> str:
    n = next(_seq)
    data: dict[str, Any] = {
        "title": f"孩子入学学位分配问题（profile-{n}）",
        "content": f"来信编号{n}。户籍在本学区却被分配到十公里外的学校，请求重新分配学位。",
        "division_code": "990101",
        "petitioners": [{"name": f"王小明{n}", "phone": "13800000000"}],
    }
    if kind == "staff":
        data |= {"category": "claim", "channel": "letter"}
    return json.dumps(data, ensure_ascii=False)


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
        con.execute(sql)  # type: ignore[arg-type]


LAYERS = (
    ("psycopg (driver)", "/psycopg"),
    ("django.db (ORM, SQL compiler)", "/django/db/"),
    ("pydantic", "/pydantic"),
    ("django-ninja", "/ninja/"),
    ("django (request, middleware, other)", "/django/"),
    ("whitenoise", "/whitenoise/"),
    ("petitiondesk", "/petitiondesk/"),
    ("stdlib / builtins", ""),
)


def print_layers(prof: cProfile.Profile, n: int) -> None:
    """Own (tottime) CPU per request, grouped by the package of the function."""
    stats = pstats.Stats(prof)
    totals: Counter[str] = Counter()
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for layer, marker in LAYERS:
            if marker in filename or not marker:
                totals[layer] += tottime
                break
    grand = sum(totals.values())
    print(
        f"=== CPU per staff submission by layer (cProfile on process time: {1000 * grand / n:.2f}"
        " ms with the profiler's overhead, which inflates functions called often)"
    )
    for layer, t in totals.most_common():
        print(f"  {1000 * t / n:6.2f} ms  {100 * t / grand:4.1f}%  {layer}")
    print()


def single_statement_write(actor: Any) -> Callable[[], object]:
    """What-if for the write path: duplicate lookup, case, petitioner, deadline, event and links
    in one INSERT ... RETURNING statement (one round trip, atomic on its own, no ORM compiling).
    Experiment only: the application does not do this."""
    from django.db import connection
    from django.utils import timezone

    from petitiondesk.calendar.engine import compute_due
    from petitiondesk.calendar.profiles import profile_for_received
    from petitiondesk.calendar.sources import current_calendar
    from petitiondesk.intake.services import (
        content_fingerprint,
        hash_access_key,
        new_access_key,
        new_tracking_number,
    )

    sql = """
    WITH dup AS (
      SELECT id FROM cases_case WHERE content_hash = %(h)s ORDER BY id DESC LIMIT 5
    ), c AS (
      INSERT INTO cases_case (tracking_number, access_key_hash, title, content, content_hash,
        category, topic, division_code, channel, status, profile, received_on, last_effective_on,
        anonymous, confidential, people_count, representatives, outcome, rating, extension_days,
        is_overdue, version, created_at, updated_at, org_id, registered_by_id,
        registered_by_org_id)
      VALUES (%(tn)s, %(akh)s, %(title)s, %(content)s, %(h)s, 'claim', '', '990101', 'letter',
        'registered', %(profile)s, %(d)s, %(d)s, false, false, 1, 0, '', '', 0, false, 1,
        %(now)s, %(now)s, %(org)s, %(user)s, %(org)s)
      RETURNING id
    ), p AS (
      INSERT INTO cases_petitioner (case_id, name, phone, id_number, address, email)
      SELECT id, %(name)s, %(phone)s, '', '', '' FROM c
    ), dl AS (
      INSERT INTO cases_deadline (case_id, rule, org_id, start_on, days, extension_days,
        hearing_days, due_on, method, calendar_version, provisional, statutory, duty, state)
      SELECT id, 'routing', %(org)s, %(d)s, %(days)s, 0, 0, %(due)s, %(method)s, %(cv)s,
        %(prov)s, true, true, 'open' FROM c
    ), ev AS (
      INSERT INTO cases_caseevent (case_id, verb, actor_id, actor_org_id, by_petitioner,
        effective_on, created_at, from_status, to_status, payload)
      SELECT id, 'register', %(user)s, %(org)s, false, %(d)s, %(now)s, '', 'registered',
        %(payload)s::jsonb FROM c
    ), lk AS (
      INSERT INTO cases_caselink (case_id, other_id, relation, created_at)
      SELECT c.id, dup.id, 'duplicate', %(now)s FROM c, dup ON CONFLICT DO NOTHING
    )
    SELECT c.id, ARRAY(SELECT id FROM dup) FROM c
    """

    def write() -> object:
        data = json.loads(body("staff"))
        today = timezone.localdate()
        profile = profile_for_received(today)
        spec = profile.clock("routing")
        due = compute_due(start=today, spec=spec, calendar=current_calendar())
        key = new_access_key()
        now = timezone.now()
        params = {
            "h": content_fingerprint(data["title"], data["content"]),
            "tn": new_tracking_number(today),
            "akh": hash_access_key(key),
            "title": data["title"],
            "content": data["content"],
            "profile": profile.name,
            "d": today,
            "now": now,
            "org": actor.org_id,
            "user": actor.pk,
            "name": data["petitioners"][0]["name"],
            "phone": data["petitioners"][0]["phone"],
            "days": spec.days,
            "due": due.due_on,
            "method": str(due.method),
            "cv": due.calendar_version,
            "prov": due.provisional,
            "payload": json.dumps(
                {"channel": "letter", "org": "K-XF", "registered_at": now.isoformat()}
            ),
        }
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    return write


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=1000, help="submissions per measurement")
    p.add_argument("--sqlite", action="store_true", help="profile on SQLite instead")
    p.add_argument("--top", type=int, default=30)
    p.add_argument(
        "--server-side-binding",
        action="store_true",
        help="what-if: psycopg server-side binding (prepared statements after 5 uses)",
    )
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pd-profile-"))
    os.environ["PETITIONDESK_DATA_DIR"] = str(work)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if args.sqlite:
        os.environ.pop("DATABASE_URL", None)
    else:
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {PG_DB}")
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.sqlite:
            pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    if args.server_side_binding:
        from django.conf import settings

        settings.DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from petitiondesk.accounts.services import orgs_load, token_create, user_add

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    orgs_load(records=ORGS)
    token = token_create(user=user_add(username="prof_clerk", org_code="K-XF", role="clerk"))
    client = Client()
    headers = {"staff": {"Authorization": f"Bearer {token}"}, "public": {}}
    vendor = connection.vendor

    def submit(kind: str) -> None:
        r = client.post(
            "/api/v1/petitions", data=body(kind), content_type="application/json",
            headers=headers[kind],
        )  # fmt: skip
        if r.status_code != 201:
            raise SystemExit(f"{kind}: {r.status_code} {r.content[:300]!r}")

    # Health checks (CONN_HEALTH_CHECKS) run on the raw connection: count them separately.
    health = Counter[str]()
    wrapper_class = type(connections["default"])
    original_is_usable = wrapper_class.is_usable

    def counting_is_usable(self: Any) -> bool:
        health["is_usable"] += 1
        return original_is_usable(self)  # type: ignore[no-any-return]

    wrapper_class.is_usable = counting_is_usable  # type: ignore[method-assign]

    def xacts() -> int:
        if vendor != "postgresql":
            return 0
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            row = con.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (PG_DB,),
            ).fetchone()
            return int(row[0]) if row else 0

    for kind in ("staff", "public"):
        for _ in range(50):  # warm: imports, calendar cache, prepared paths
            submit(kind)

    print(f"database: {vendor}  n={args.n}\n")
    for kind in ("staff", "public"):
        health.clear()
        with CaptureQueriesContext(connection) as ctx:
            submit(kind)
        print(f"--- {kind}: {len(ctx.captured_queries)} statements captured by Django "
              f"+ {health['is_usable']} connection health check(s)")  # fmt: skip
        for q in ctx.captured_queries:
            print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:150]}")
        print()

    # Wall, CPU and database-wait time per request; server-side transactions per request.
    db_wait = [0.0]
    db_cpu = [0.0]
    statements = [0]

    def timing(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        t, c = time.perf_counter(), time.thread_time()
        try:
            return execute(sql, params, many, ctx)
        finally:
            db_wait[0] += time.perf_counter() - t
            db_cpu[0] += time.thread_time() - c
            statements[0] += 1

    for kind in ("staff", "public"):
        db_wait[0], db_cpu[0], statements[0] = 0.0, 0.0, 0
        health.clear()
        x0 = xacts()
        t0 = os.times()
        w0, c0 = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(timing):
            for _ in range(args.n):
                submit(kind)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        t1 = os.times()
        x1 = xacts()
        n = args.n
        print(
            f"{kind}: {1000 * wall / n:.2f} ms wall/request ({n / wall:.0f}/s on one thread); "
            f"CPU {1000 * cpu / n:.2f} ms/request ({1000 * (t1.user - t0.user) / n:.2f} user + "
            f"{1000 * (t1.system - t0.system) / n:.2f} system); "
            f"{statements[0] / n:.1f} cursor.execute/request taking {1000 * db_wait[0] / n:.2f} ms "
            f"wall, of which {1000 * db_cpu[0] / n:.2f} ms CPU here; "
            f"+{health['is_usable'] / n:.1f} health check; "
            f"{(x1 - x0) / n:.1f} server transactions/request"
        )

    # The parts on their own: what each costs, and what a leaner write path could cost.
    from petitiondesk.accounts.models import User
    from petitiondesk.accounts.services import token_authenticate
    from petitiondesk.intake.services import PetitionerData, Submission, petition_submit

    actor = User.objects.select_related("org").get(username="prof_clerk")

    def backend_ms() -> float:
        """CPU ms used so far by this connection's PostgreSQL backend (0 on SQLite)."""
        if vendor != "postgresql":
            return 0.0
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    def cost(label: str, fn: Callable[[], object]) -> None:
        d0 = backend_ms()
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.n):
            fn()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        db = (backend_ms() - d0) / args.n
        print(
            f"  {1000 * wall / args.n:6.2f} ms wall {1000 * cpu / args.n:6.2f} ms CPU "
            f"{db:5.2f} ms PostgreSQL CPU  {label}"
        )

    def service() -> None:
        data = json.loads(body("staff"))
        data["petitioners"] = [PetitionerData(**pp) for pp in data["petitioners"]]
        petition_submit(submission=Submission(**data), actor=actor)

    def refused() -> None:  # the whole stack up to ninja's validation; no database
        r = client.post(
            "/api/v1/petitions", data='{"content": "x"}', content_type="application/json"
        )
        assert r.status_code == 400, r.status_code

    print("\ncomponents, per call:")
    cost("full request, staff letter (Client -> middleware -> ninja -> service)",
         lambda: submit("staff"))  # fmt: skip
    cost("request refused by validation (middleware + ninja + pydantic, no SQL)", refused)
    cost("token_authenticate(token) alone (select_related query)",
         lambda: token_authenticate(token))  # fmt: skip
    cost("petition_submit alone (ORM: 5 statements in a transaction)", service)
    if vendor == "postgresql":
        cost("same rows in ONE SQL statement (CTE, autocommit) + the Python it needs",
             single_statement_write(actor))  # fmt: skip
    print()

    # CPU-time profile: time blocked on the database does not count, only work in this process.
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for _ in range(args.n):
        submit("staff")
    prof.disable()
    print_layers(prof, args.n)
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats(key).print_stats(args.top)
        print(f"=== cProfile, {args.n} staff submissions, sorted by {key}")
        print(out.getvalue().split("\n", 4)[-1])
    prof.dump_stats(str(Path(tempfile.gettempdir()) / "pd-intake.prof"))
    print(f"(raw profile: {Path(tempfile.gettempdir()) / 'pd-intake.prof'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
