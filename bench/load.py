"""Load benchmark: submissions **and reads**, with idempotent retries, on PostgreSQL (2 app
processes) and embedded SQLite; a peer (django-helpdesk's public ticket form) on the same machine;
and the raw single-row insert ceiling of the same PostgreSQL (pgbench).

Run by hand (`make bench-load`, or `.venv/bin/python bench/load.py --help`); never in the test
suite. Results and how to read them: docs/benchmarks.md "Load: submissions and reads".

It reuses bench/intake.py (set-up, server start-up, wrk driving through bench/intake.lua, the
stored-vs-acknowledged checks) with the staff kind plus two options of intake.lua:
PD_READ_EVERY (every Nth request reads back a case the same wrk thread created) and
PD_RETRY_EVERY (every Nth submission is sent twice with the same Idempotency-Key). After each level:
rows added == new 201s; every retried key answered once "created" and once "replayed" with the
same case id (so the retry created nothing); at the end of a set-up, every acknowledged case is
stored with deadline and event and nothing else is stored. 5xx answers are counted by status (on
SQLite a "database is locked" must never reach a client).

Set-ups (--setups):
  pg        gunicorn config.wsgi -w 2 (sync workers), PostgreSQL database petitiondesk_bench
  sqlite    `petitiondesk serve` (embedded: 1 process x 8 threads, SQLite in WAL mode)
  helpdesk  the peer: a throwaway venv with django-helpdesk==HELPDESK_VERSION and gunicorn -w 2,
            PostgreSQL database helpdesk_bench; wrk posts its public ticket form
  pgbench   one INSERT of a case-like row per transaction, 1/8/32 clients (database pgbench_load)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# bench/intake.py: the shared set-up, server start-up, wrk driver and checks.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import intake
from intake import HOST, BenchError, Level

SETUPS = ("pg", "sqlite", "helpdesk", "pgbench")
HELPDESK_VERSION = "2.6.1"
HELPDESK_DB = "helpdesk_bench"
PGBENCH_DB = "pgbench_load"
TARGET_RATE = 1000.0
TARGET_P99_MS = 100.0


# --- petitiondesk: submissions + reads + retries ---------------------------------------------


def level_extras(work: Path, setup: str, tag: str) -> dict[str, Any]:
    return json.loads((work / setup / tag / "summary.json").read_text())


def bench_petitiondesk(name: str, args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """One set-up of bench/intake.py ("pg-sync" or "sqlite"), driven with reads and retries."""
    intake_name = "pg-sync" if name == "pg" else "sqlite"
    print(f"\n== {name}: preparing ({intake_name} of bench/intake.py)", flush=True)
    prep = intake.prepare(intake_name, work)
    os.environ["PD_READ_EVERY"] = str(args.read_every)
    os.environ["PD_RETRY_EVERY"] = str(args.retry_every)
    rows: list[dict[str, Any]] = []
    acknowledged: list[int] = []
    log = work / intake_name / "server.log"
    try:
        with intake.server(prep.cmd, prep.env, log, prep.port) as pgid:
            print(f"== {name}: {' '.join(prep.cmd)}  (log {log})", flush=True)
            for clients, seconds, tag in [
                (8, args.warmup, "warm"),
                *[(c, args.seconds, f"c{c}") for c in args.clients],
            ]:
                intake.wait_quiet(args.quiet_wait)
                level = intake.run_level(
                    setup=intake_name,
                    kind="staff",
                    clients=clients,
                    seconds=seconds,
                    drain=args.drain,
                    budget=args.max_requests,
                    port=prep.port,
                    server_pgid=pgid,
                    token=prep.token,
                    store=prep.store,
                    work=work,
                    tag=tag,
                )
                acknowledged.extend(level.ids)
                summary = level_extras(work, intake_name, tag)
                row = petitiondesk_row(name, level, summary, seconds)
                if tag != "warm":
                    rows.append(row)
                print("   " + ("(warm-up) " if tag == "warm" else "") + row_text(row), flush=True)
    finally:
        for var in ("PD_READ_EVERY", "PD_RETRY_EVERY"):
            os.environ.pop(var, None)
    problems = prep.store.verify(acknowledged)
    print(
        f"== {name}: {len(acknowledged)} acknowledged, "
        + ("all stored with deadline and event, nothing else stored" if not problems else "")
        + "; ".join(problems),
        flush=True,
    )
    if problems:
        rows.append({"setup": name, "clients": 0, "check": "MISMATCH: " + "; ".join(problems)})
    return rows


def petitiondesk_row(
    name: str, level: Level, summary: dict[str, Any], seconds: int
) -> dict[str, Any]:
    retries = int(summary.get("retries", 0))
    problems = [] if level.ok else [level.check.removeprefix("MISMATCH: ")]
    if level.replayed != retries and level.errors == 0:
        problems.append(f"{retries} retried key(s) but {level.replayed} replayed answer(s)")
    fives = {s: n for s, n in level.statuses.items() if s.startswith("5")}
    elapsed = float(summary.get("elapsed_s") or seconds) or 1.0
    return {
        "setup": name,
        "clients": level.clients,
        "requests": level.sent,
        "created": level.created,
        "subm_s": level.rate,
        "reads": level.reads,
        "reads_s": level.reads / elapsed,
        "retries": retries,
        "replayed": level.replayed,
        "errors": level.errors,
        "5xx": fives,
        "p50": level.p50_ms,
        "p95": level.p95_ms,
        "p99": level.p99_ms,
        "max": level.max_ms,
        "cpu": level.cpu_busy,
        "other_cpu": level.other_cpu,
        "target": "met"
        if level.rate >= TARGET_RATE and level.p99_ms < TARGET_P99_MS
        else "not met",
        "check": "ok" if not problems else "MISMATCH: " + "; ".join(problems),
    }


# --- the peer: django-helpdesk's public ticket form ------------------------------------------

HELPDESK_SETTINGS = """\
# Generated by petitiondesk bench/load.py: the smallest project around django-helpdesk.
SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.sites", "django.contrib.messages",
    "django.contrib.staticfiles", "django.contrib.humanize",
    "rest_framework", "helpdesk",
]
HELPDESK_TEAMS_MODE_ENABLED = False  # no pinax-teams: not needed for the public form
# CSRF is left out of the middleware so that wrk can post the public form without first reading
# a token (one GET per submission would halve the peer's figure); everything else is default.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hdproject.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": "%(db)s", "USER": "postgres",
    "HOST": "127.0.0.1", "PORT": "5432", "CONN_MAX_AGE": 60,
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
MEDIA_ROOT = "%(media)s"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
HELPDESK_PUBLIC_ENABLED = True
HELPDESK_SUBMIT_A_TICKET_PUBLIC = True
HELPDESK_VIEW_A_TICKET_PUBLIC = True
HELPDESK_REDIRECT_TO_LOGIN_BY_DEFAULT = False
LOGIN_URL = "/helpdesk/login/"
"""

HELPDESK_URLS = """\
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
]
"""

HELPDESK_LUA = r"""
-- Generated by bench/load.py: posts django-helpdesk's public ticket form, one distinct ticket per
-- request, for PD_SECONDS; counts answers by status into PD_OUT/summary.json.
local SECONDS = tonumber(os.getenv("PD_SECONDS") or "10")
local OUT = os.getenv("PD_OUT") or "."
local QUEUE = os.getenv("PD_QUEUE") or "1"
local threads = {}
function setup(thread) thread:set("tid", #threads + 1); table.insert(threads, thread) end
tid = 0; sent = 0; received = 0; counts = {}; samples = {}
local deadline = nil
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
function delay()
  if deadline == nil then deadline = os.time() + SECONDS end
  if os.time() >= deadline then return 1e9 end
  return 0
end
function request()
  if deadline == nil then return wrk.format(nil, nil, nil, "") end
  sent = sent + 1
  local body = "queue=" .. QUEUE .. "&title=Heating+complaint+" .. tid .. "-" .. sent
    .. "&body=Indoor+temperature+below+16C+since+November+" .. tid .. "-" .. sent
    .. "&priority=3&submitter_email=citizen" .. sent .. "%40example.org"
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  received = received + 1
  counts[status] = (counts[status] or 0) + 1
  if status ~= 302 and #samples < 3 then samples[#samples + 1] = status end
end
function done(summary, latency, requests)
  local s, r, st = 0, 0, {}
  for _, t in ipairs(threads) do
    s = s + t:get("sent"); r = r + t:get("received")
    for k, n in pairs(t:get("counts")) do st[k] = (st[k] or 0) + n end
  end
  local parts = {}
  for k, n in pairs(st) do parts[#parts + 1] = string.format('"%d":%d', k, n) end
  local f = assert(io.open(OUT .. "/summary.json", "w"))
  f:write(string.format('{"sent":%d,"received":%d,"statuses":{%s},"duration_us":%d,'
    .. '"latency_us":{"p50":%d,"p95":%d,"p99":%d,"max":%d}}\n', s, r, table.concat(parts, ","),
    summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
  f:close()
end
"""


def helpdesk_prepare(work: Path) -> tuple[dict[str, str], Path, Path]:
    """The throwaway venv and project; returns (env, venv bin, project dir)."""
    hd = work / "helpdesk"
    venv = hd / "venv"
    print(f"== helpdesk: venv with django-helpdesk=={HELPDESK_VERSION} in {venv}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            f"django-helpdesk=={HELPDESK_VERSION}",
            "gunicorn",
            "psycopg[binary]",
        ],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        raise BenchError(f"pip install django-helpdesk failed: {pip.stderr.strip()[-800:]}")
    project = hd / "project"
    (project / "hdproject").mkdir(parents=True)
    (project / "hdproject" / "__init__.py").write_text("")
    (project / "hdproject" / "settings.py").write_text(
        HELPDESK_SETTINGS % {"db": HELPDESK_DB, "media": hd / "media"}
    )
    (project / "hdproject" / "urls.py").write_text(HELPDESK_URLS)
    (project / "hdproject" / "wsgi.py").write_text(
        "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env["DJANGO_SETTINGS_MODULE"] = "hdproject.settings"
    env["PYTHONPATH"] = str(project)
    intake.pg_admin(f"DROP DATABASE IF EXISTS {HELPDESK_DB} WITH (FORCE)")
    intake.pg_admin(f"CREATE DATABASE {HELPDESK_DB}")
    py = str(venv / "bin" / "python")
    for step in (
        [py, "-m", "django", "migrate", "--noinput", "-v", "0"],
        [
            py,
            "-m",
            "django",
            "shell",
            "-c",
            "from helpdesk.models import Queue; "
            "q = Queue.objects.create(title='Complaints', slug='complaints', allow_public_submission=True); "
            "print(q.id)",
        ],
    ):
        proc = subprocess.run(step, env=env, cwd=project, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError(f"helpdesk set-up step {step[3]} failed: {proc.stderr[-800:]}")
    env["PD_QUEUE"] = proc.stdout.strip().splitlines()[-1]
    return env, venv / "bin", project


def helpdesk_count() -> int:
    url = f"postgresql://postgres@127.0.0.1:5432/{HELPDESK_DB}"
    return int(intake.Store(pg_url=url).query("SELECT count(*) FROM helpdesk_ticket")[0][0])


def bench_helpdesk(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    env, vbin, project = helpdesk_prepare(work)
    lua = work / "helpdesk" / "helpdesk.lua"
    lua.write_text(HELPDESK_LUA)
    port = intake.free_port()
    cmd = [str(vbin / "gunicorn"), "hdproject.wsgi:application", "-w", "2", "-b", f"{HOST}:{port}"]
    log = work / "helpdesk" / "server.log"
    rows = []
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=project, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://{HOST}:{port}/helpdesk/tickets/submit/"
        deadline = time.monotonic() + 60
        while True:  # ready when the form answers
            probe = subprocess.run(
                ["wrk", "-t1", "-c1", "-d1s", url], capture_output=True, text=True
            )
            if "Requests/sec" in probe.stdout and "Non-2xx" not in probe.stdout:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"django-helpdesk did not serve {url}: see {log}")
            time.sleep(1)
        print(f"== helpdesk: {' '.join(cmd)}  (log {log})", flush=True)
        for clients, seconds, tag in [
            (8, args.warmup, "warm"),
            *[(c, args.seconds, f"c{c}") for c in args.clients],
        ]:
            intake.wait_quiet(args.quiet_wait)
            outdir = work / "helpdesk" / tag
            outdir.mkdir()
            before = helpdesk_count()
            run = subprocess.run(
                ["wrk", "-t1", f"-c{clients}", f"-d{seconds + args.drain}s", "--timeout", "10s",
                 "-s", str(lua), url],
                env={**env, "PD_SECONDS": str(seconds), "PD_OUT": str(outdir)},
                capture_output=True, text=True,
            )  # fmt: skip
            if run.returncode != 0:
                raise BenchError(f"wrk failed: {run.stdout}{run.stderr}")
            s = json.loads((outdir / "summary.json").read_text())
            stored = helpdesk_count() - before
            created = int(s["statuses"].get("302", 0))  # the form redirects to the new ticket
            lat = s["latency_us"]
            problems = []
            if stored != created:
                problems.append(f"stored {stored} != 302s {created}")
            if s["sent"] != s["received"]:
                problems.append(f"{s['sent'] - s['received']} unanswered")
            row = {
                "setup": "helpdesk",
                "clients": clients,
                "requests": s["sent"],
                "created": created,
                "subm_s": created / seconds,
                "errors": s["received"] - created,
                "5xx": {k: n for k, n in s["statuses"].items() if k.startswith("5")},
                "p50": lat["p50"] / 1e3,
                "p95": lat["p95"] / 1e3,
                "p99": lat["p99"] / 1e3,
                "max": lat["max"] / 1e3,
                "check": "ok" if not problems else "MISMATCH: " + "; ".join(problems),
            }
            if tag != "warm":
                rows.append(row)
            print("   " + ("(warm-up) " if tag == "warm" else "") + row_text(row), flush=True)
    finally:
        intake.stop_group(proc)
    return rows


# --- the ceiling: pgbench, one case-like row per transaction -----------------------------------

PGBENCH_TABLE = """
CREATE TABLE bench_case (
    id bigserial PRIMARY KEY, tracking_number varchar(32) NOT NULL, title varchar(200) NOT NULL,
    content text NOT NULL, status varchar(16) NOT NULL, received_on date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), payload jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON bench_case (tracking_number);
CREATE INDEX ON bench_case (status, received_on);
"""

PGBENCH_SCRIPT = """\
\\set n random(1, 1000000000)
INSERT INTO bench_case (tracking_number, title, content, status, received_on, payload)
VALUES ('XF' || :client_id || '-' || :n, '小区供暖温度不达标 ' || :n,
        '今年入冬以来室内温度长期低于十六度，多次向物业反映无人处理。来信编号' || :n,
        'registered', current_date, '{"channel": "letter"}');
"""


def bench_pgbench(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    if shutil.which("pgbench") is None:
        raise BenchError(
            "pgbench is not installed (Debian: postgresql-client / postgresql-contrib)"
        )
    intake.pg_admin(f"DROP DATABASE IF EXISTS {PGBENCH_DB} WITH (FORCE)")
    intake.pg_admin(f"CREATE DATABASE {PGBENCH_DB}")
    url = f"postgresql://postgres@127.0.0.1:5432/{PGBENCH_DB}"
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(PGBENCH_TABLE)  # type: ignore[arg-type]
    script = work / "pgbench_insert.sql"
    script.write_text(PGBENCH_SCRIPT)
    rows = []
    print(f"\n== pgbench: {PGBENCH_DB}, one INSERT per transaction", flush=True)
    for clients in args.clients:
        intake.wait_quiet(args.quiet_wait)
        seconds = min(max(args.seconds // 3, 5), 20)  # 10-20 s is plenty for a ceiling
        cmd = ["pgbench", "-n", "-f", str(script), "-c", str(clients), "-j", str(min(clients, 2)),
               "-T", str(seconds), url]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError(f"pgbench failed: {proc.stderr[-800:]}")
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", proc.stdout)
        lat = re.search(r"latency average = ([\d.]+) ms", proc.stdout)
        row = {
            "setup": "pgbench",
            "clients": clients,
            "created": int(re.search(r"transactions actually processed: (\d+)", proc.stdout)[1]),  # type: ignore[index]
            "subm_s": float(tps[1]) if tps else 0.0,
            "p50": float(lat[1]) if lat else 0.0,
            "check": f"{seconds}s, latency column = mean",
        }
        rows.append(row)
        print("   " + row_text(row), flush=True)
    return rows


# --- output ------------------------------------------------------------------------------------

COLUMNS = (
    ("setup", "setup"), ("clients", "clients"), ("created", "stored"), ("subm_s", "subm/s"),
    ("reads_s", "reads/s"), ("retries", "retried keys"), ("replayed", "replayed"),
    ("errors", "errors"), ("5xx", "5xx by status"), ("p50", "p50 ms"), ("p95", "p95 ms"),
    ("p99", "p99 ms"), ("max", "max ms"), ("other_cpu", "other cpu %"), ("target", "≥1000/s p99<100"),
    ("check", "check"),
)  # fmt: skip


def cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key, "")
    if isinstance(value, float):
        return f"{value:,.0f}" if key.endswith("_s") or key == "other_cpu" else f"{value:.1f}"
    if isinstance(value, dict):
        return ",".join(f"{k}:{n}" for k, n in value.items()) or "0"
    return str(value)


def row_text(row: dict[str, Any]) -> str:
    return "  ".join(f"{label}={cell(row, key)}" for key, label in COLUMNS[1:] if key in row)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(label for _, label in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(r, k) for k, _ in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    by = {(r["setup"], r["clients"]): r for r in rows if r.get("clients")}
    for (setup, clients), r in sorted(by.items()):
        if setup not in ("pg", "sqlite"):
            continue
        peer = by.get(("helpdesk", clients))
        ceiling = by.get(("pgbench", clients))
        parts = []
        if peer and peer["subm_s"]:
            parts.append(f"{r['subm_s'] / peer['subm_s']:.1f}x django-helpdesk")
        if ceiling and ceiling["subm_s"] and setup == "pg":
            parts.append(f"{100 * r['subm_s'] / ceiling['subm_s']:.0f}% of the pgbench ceiling")
        if parts:
            out.append(f"{setup} c={clients}: {r['subm_s']:,.0f} subm/s = " + ", ".join(parts))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--setups", default=",".join(SETUPS), help="comma list of " + ", ".join(SETUPS))
    p.add_argument("--clients", default="1,8,32", help="concurrency levels (default 1,8,32)")
    p.add_argument("--seconds", type=int, default=60, help="measured seconds per level (60)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up seconds per set-up")
    p.add_argument("--drain", type=int, default=3, help="margin for the last answers to arrive")
    p.add_argument("--read-every", type=int, default=4, help="every Nth request is a read (4)")
    p.add_argument(
        "--retry-every", type=int, default=10, help="every Nth submission is retried (10)"
    )
    p.add_argument("--max-requests", type=int, default=1_000_000, help="request budget per level")
    p.add_argument(
        "--quiet-wait", type=float, default=60, help="wait this long for an idle machine"
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir and the databases")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = p.parse_args(argv)
    args.setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    args.clients = [int(c) for c in args.clients.split(",")]
    if set(args.setups) - set(SETUPS) or min(args.clients) < 1:
        p.error(f"unknown set-up or bad --clients: {args.setups}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench/load.py needs wrk (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="pd-load-"))
    rows: list[dict[str, Any]] = []
    info: list[str] = []
    try:
        info = intake.machine_info(True)
        print("\n".join(info))
        print(
            f"levels: {args.seconds}s (+{args.drain}s drain), clients {args.clients}; "
            f"every {args.read_every}th request a read, every {args.retry_every}th submission "
            f"retried; work dir {work}",
            flush=True,
        )
        for name in args.setups:
            if name in ("pg", "sqlite"):
                rows += bench_petitiondesk(name, args, work)
            elif name == "helpdesk":
                rows += bench_helpdesk(args, work)
            else:
                rows += bench_pgbench(args, work)
    except BenchError as exc:
        print(f"\nbench/load.py: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            for db in (intake.PG_DB, HELPDESK_DB, PGBENCH_DB):
                with contextlib.suppress(BenchError):
                    intake.pg_admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            shutil.rmtree(work, ignore_errors=True)
        if rows:
            print("\n" + markdown(rows))
            for line in ratios(rows):
                print(line)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=2))
    bad = [r for r in rows if str(r.get("check", "")).startswith("MISMATCH")]
    if bad:
        for r in bad:
            print(f"!! {r['setup']} c={r['clients']}: {r['check']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
