"""Server time of the staff work list and case page at 100,000 cases (by hand only).

    .venv/bin/python bench/pages.py [--cases 100000] [--backends pg,sqlite] [--requests 100]

For each back-end it makes a fresh data dir (and, for PostgreSQL, drops and re-creates the database
`petitiondesk_bench_pages` through postgresql://postgres@127.0.0.1:5432/postgres), runs
`petitiondesk migrate`, fills it with `bench/generate.py --cases N`, then times the pages in a
child process (`--measure`) that has the same settings as the application (DATABASE_URL,
PETITIONDESK_DATA_DIR; DEBUG off).

Timing is in-process: django.test.Client sends each request through the whole WSGI handler
(middleware, session and second-factor checks, view, queries, template rendering) with no HTTP
server or network in between, so the figure is the server's time to answer, without the socket and
HTTP parsing work of gunicorn (well under a millisecond). Each persona is logged in with a real
session (force_login, plus the verified second factor for roles that need one). Every URL kind is
warmed up first, then requested --requests times; case pages rotate over a sample of the cases the
persona may read. SQL statements per request are counted in a separate pass
(CaptureQueriesContext), so counting does not slow the timed requests.

`--reuse` keeps and reuses the generated databases (in --work) between runs; `--keep` keeps them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The intake bench's helpers (this folder is on sys.path when a bench script runs).
from intake import BenchError, pg_admin

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG_DB = "petitiondesk_bench_pages"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
TARGET_P95_MS = 100.0

# (label, username): the demo accounts that bench/generate.py creates.
PERSONAS = (
    ("county clerk", "yx-xf-clerk"),
    ("county handler", "yx-housing-handler"),
    ("city supervisor", "qh-gov-supervisor"),
)
# (kind, query string of /desk/, the list it needs among the role's lists or None)
LIST_KINDS = (
    ("list all", "list=all", "all"),
    ("list overdue", "list=overdue", "overdue"),
    ("list to_accept", "list=to_accept", "to_accept"),
    ("filter status=accepted", "list=all&status=accepted", "all"),
    ("search q=学位", "list=all&q=学位", "all"),
    ("list all page 2", "list=all&page=2", "all"),
)


# --- the measuring child --------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def cpu_times() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def pid_ticks(pid: int | None) -> int:
    if not pid:
        return 0
    try:
        with open(f"/proc/{pid}/stat") as fh:
            parts = fh.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])
    except (OSError, IndexError, ValueError):
        return 0


class Load:
    """CPU taken by other processes (not this one, not its PostgreSQL backend) over a window."""

    def __init__(self, backend_pid: int | None) -> None:
        self.backend_pid = backend_pid
        self.start()

    def start(self) -> None:
        self.machine = cpu_times()
        self.ours = pid_ticks(os.getpid()) + pid_ticks(self.backend_pid)

    def other_percent(self) -> float:
        busy, total = cpu_times()
        ours = pid_ticks(os.getpid()) + pid_ticks(self.backend_pid)
        span = total - self.machine[1]
        if span <= 0:
            return 0.0
        return max(0.0, 100 * (busy - self.machine[0] - (ours - self.ours)) / span)


def wait_quiet(limit: float, threshold: float = 20.0) -> float:
    """Wait up to `limit` seconds until the machine is less than `threshold` % busy."""
    deadline = time.monotonic() + limit
    while True:
        b0, t0 = cpu_times()
        time.sleep(1.0)
        b1, t1 = cpu_times()
        busy = 100 * (b1 - b0) / max(1, t1 - t0)
        if busy < threshold or time.monotonic() >= deadline:
            return busy


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Time the pages against the database of this process's settings."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from petitiondesk.accounts.models import User
    from petitiondesk.accounts.services import otp_required, token_create
    from petitiondesk.cases.models import Case
    from petitiondesk.cases.selectors import visible_cases

    try:
        from petitiondesk.cases.worklists import BOARD_ROLES, lists_for
    except ImportError:  # the work lists are not there yet: try every list
        BOARD_ROLES = frozenset()

        def lists_for(user: Any) -> tuple[str, ...]:
            return tuple(k[2] for k in LIST_KINDS)

    total = Case.objects.count()
    print(f"measure: {connection.vendor}, {total:,} cases", flush=True)
    backend_pid = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend_pid = cur.fetchone()[0]
    load = Load(backend_pid)
    rng = random.Random(args.seed)
    results: list[dict[str, Any]] = []
    for label, username in PERSONAS:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        if otp_required(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                raise BenchError(f"{username} needs a second factor and has no TOTP device")
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        token = token_create(user=user, name="bench-pages")
        api_headers = {"Authorization": f"Bearer {token}"}
        ids = list(visible_cases(user).values_list("id", flat=True))
        sample = rng.sample(ids, min(len(ids), args.requests + args.warmup))
        lists = lists_for(user)
        kinds: list[tuple[str, list[str], dict[str, str], str | None]] = []
        for kind, query, needs in LIST_KINDS:
            if needs in lists:
                kinds.append((kind, [f"/desk/?{query}"], {}, None))
        kinds.append(("case page", [f"/desk/cases/{i}/" for i in sample], {}, "case"))
        if user.role in BOARD_ROLES:
            kinds.append(("board", ["/desk/board/"], {}, None))
        kinds.append(("api list", ["/api/v1/petitions?page=1"], api_headers, None))
        kinds.append(("api case", [f"/api/v1/petitions/{i}" for i in sample], api_headers, "case"))
        tracking = dict(Case.objects.filter(pk__in=sample).values_list("id", "tracking_number"))
        print(f"measure: {label} ({username}) sees {len(ids):,} cases", flush=True)
        for kind, urls, headers, check in kinds:
            busy = wait_quiet(args.quiet_wait)
            load.start()
            row = time_kind(
                client=client,
                urls=urls,
                headers=headers,
                check=check,
                tracking=tracking,
                args=args,
                capture=CaptureQueriesContext,
                connection=connection,
            )
            row["other_cpu"] = load.other_percent()
            row["busy_before"] = busy
            row |= {"persona": label, "user": username, "kind": kind, "visible": len(ids)}
            row |= {"backend": connection.vendor, "cases": total}
            results.append(row)
            print("   " + row_text(row), flush=True)
    return results


def time_kind(
    *,
    client: Any,
    urls: list[str],
    headers: dict[str, str],
    check: str | None,
    tracking: dict[int, str],
    args: argparse.Namespace,
    capture: Any,
    connection: Any,
) -> dict[str, Any]:
    def url_at(i: int) -> str:
        return urls[i % len(urls)]

    first = client.get(url_at(0), headers=headers)
    if first.status_code != 200:
        where = first.get("Location", "")
        return {
            "requests": 0,
            "status": f"HTTP {first.status_code}" + (f" → {where}" if where else ""),
        }
    problems = 0
    for i in range(args.warmup):
        client.get(url_at(len(urls) - 1 - i), headers=headers)
    times: list[float] = []
    for i in range(args.requests):
        url = url_at(i)
        t0 = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            problems += 1
        elif check == "case":
            case_id = int(url.rstrip("/").rsplit("/", 1)[1])
            if tracking.get(case_id, "?") not in r.content.decode():
                problems += 1
    queries: list[int] = []
    slowest = 0.0
    slowest_sql = ""
    for i in range(min(5, len(urls))):
        with capture(connection) as ctx:
            client.get(url_at(i), headers=headers)
        queries.append(len(ctx.captured_queries))
        for q in ctx.captured_queries:
            if float(q["time"]) * 1000 > slowest:
                slowest, slowest_sql = float(q["time"]) * 1000, q["sql"]
    return {
        "requests": len(times),
        "errors": problems,
        "p50": statistics.median(times),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "max": max(times),
        "mean": statistics.fmean(times),
        "queries": max(queries),
        "slowest_sql_ms": slowest,
        "slowest_sql": slowest_sql[:2000],
        "status": "ok" if problems == 0 else f"{problems} bad answers",
    }


# --- output -------------------------------------------------------------------------------------

COLUMNS = (
    "backend", "persona", "kind", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "queries",
    "slowest SQL ms", "other cpu %", "check",
)  # fmt: skip


def row_cells(r: dict[str, Any]) -> list[str]:
    if not r.get("requests"):
        return [r["backend"], r["persona"], r["kind"], "0", *["–"] * 7, r["status"]]
    flag = " ≥100" if r["p95"] >= TARGET_P95_MS else ""
    return [
        r["backend"],
        r["persona"],
        r["kind"],
        str(r["requests"]),
        f"{r['p50']:.1f}",
        f"{r['p95']:.1f}{flag}",
        f"{r['p99']:.1f}",
        f"{r['max']:.0f}",
        str(r["queries"]),
        f"{r['slowest_sql_ms']:.1f}",
        f"{r.get('other_cpu', 0):.0f}",
        r["status"],
    ]


def row_text(r: dict[str, Any]) -> str:
    return "  ".join(f"{c}={v}" for c, v in zip(COLUMNS[2:], row_cells(r)[2:], strict=True))


def table_text(rows: list[dict[str, Any]]) -> str:
    cells = [list(COLUMNS), *[row_cells(r) for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)) for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def table_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


# --- the orchestrating parent -------------------------------------------------------------------


def machine_info() -> list[str]:
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    info = [f"cores: {os.cpu_count()}  cpu: {model}  python: {platform.python_version()}"]
    with contextlib.suppress(BenchError):
        info.append("postgresql: " + pg_admin("SHOW server_version")[0][0])
    return info


def run(cmd: list[str], env: dict[str, str]) -> str:
    """Run a command, echo its output as it comes, return it."""
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    out = []
    for line in proc.stdout:
        print("  | " + line.rstrip(), flush=True)
        out.append(line)
    if proc.wait() != 0:
        raise BenchError(f"{' '.join(cmd)} failed with status {proc.returncode}")
    return "".join(out)


def prepare(backend: str, args: argparse.Namespace, work: Path) -> tuple[dict[str, str], str]:
    """Environment of a back-end with N generated cases; returns (env, generator summary)."""
    data_dir = work / backend / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PETITIONDESK_", "DATABASE_URL", "DJANGO_"))
    }
    env["PETITIONDESK_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    stamp = work / backend / "generated.txt"
    if backend == "pg":
        env["DATABASE_URL"] = PG_URL
        exists = pg_admin(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'")
        if args.reuse and exists and stamp.exists():
            run([str(BIN / "petitiondesk"), "migrate"], env)  # new indexes apply to reused data
            return env, stamp.read_text()
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {PG_DB}")
    elif args.reuse and stamp.exists():
        run([str(BIN / "petitiondesk"), "migrate"], env)
        return env, stamp.read_text()
    shutil.rmtree(work / backend, ignore_errors=True)
    data_dir.mkdir(parents=True)
    run([str(BIN / "petitiondesk"), "migrate"], env)
    out = run(
        [
            str(BIN / "python"),
            str(ROOT / "bench" / "generate.py"),
            "--cases",
            str(args.cases),
            "--seed",
            str(args.seed),
        ],
        env,
    )
    summary = "\n".join(
        line
        for line in out.splitlines()
        if line.startswith(("generate: ", "  by status", "  over"))
    )
    summary = "\n".join(summary.splitlines()[-4:])
    stamp.write_text(summary)
    return env, summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cases", type=int, default=100_000, help="cases to generate (default 100000)")
    p.add_argument("--backends", default="pg,sqlite", help="comma list of pg, sqlite")
    p.add_argument("--requests", type=int, default=100, help="timed requests per URL kind")
    p.add_argument("--warmup", type=int, default=10, help="untimed requests per URL kind first")
    p.add_argument("--seed", type=int, default=1, help="generator and sampling seed")
    p.add_argument(
        "--quiet-wait", type=float, default=60, help="wait up to this long for an idle machine"
    )
    p.add_argument("--work", type=Path, help="work dir (default: a new temp dir)")
    p.add_argument("--reuse", action="store_true", help="reuse databases generated in --work")
    p.add_argument("--keep", action="store_true", help="keep the work dir and the PG database")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    p.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(args.backends) <= {"pg", "sqlite"} or args.requests < 1 or args.warmup < 0:
        p.error("--backends takes pg and/or sqlite; --requests ≥ 1")
    if args.reuse:
        args.keep = True
        if args.work is None:
            args.work = Path(tempfile.gettempdir()) / "pd-bench-pages"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        rows = measure(args)
        if args.json:
            args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="pd-bench-pages-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    generated: dict[str, str] = {}
    info: list[str] = []
    try:
        info = machine_info()
        print("\n".join(info), flush=True)
        for backend in args.backends:
            print(f"\n== {backend}: {args.cases:,} cases (work dir {work})", flush=True)
            env, generated[backend] = prepare(backend, args, work)
            out = work / backend / "timings.json"
            cmd = [str(BIN / "python"), str(Path(__file__).resolve()), "--measure"]
            cmd += ["--requests", str(args.requests), "--warmup", str(args.warmup)]
            cmd += ["--seed", str(args.seed), "--quiet-wait", str(args.quiet_wait)]
            cmd += ["--json", str(out)]
            run(cmd, env)
            rows += json.loads(out.read_text())
    except BenchError as exc:
        print(f"\nbench/pages.py: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            if "pg" in args.backends:
                with contextlib.suppress(BenchError):
                    pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            shutil.rmtree(work, ignore_errors=True)
    print()
    for backend, summary in generated.items():
        print(f"[{backend}] {summary}")
    print("\n" + table_text(rows) + "\n\n" + table_markdown(rows))
    slow = [r for r in rows if r.get("requests") and r["p95"] >= TARGET_P95_MS]
    for r in slow:
        print(
            f"\np95 {r['p95']:.0f} ms ≥ {TARGET_P95_MS:.0f} ms: {r['backend']} {r['persona']} "
            f"{r['kind']}; slowest statement {r['slowest_sql_ms']:.0f} ms:\n{r['slowest_sql']}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": info, "generated": generated, "rows": rows},
                ensure_ascii=False,
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
