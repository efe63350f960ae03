"""Sampling profile of the web workers under load (by hand only; see docs/benchmarks.md).

Prepares a PostgreSQL set-up exactly like bench/intake.py, drives it with wrk (staff letters, 8
clients by default) and records the gunicorn workers with `py-spy record --gil`: only samples where
a thread holds the GIL. (Without --gil, py-spy counted workers blocked in psycopg's wait as busy on
this machine, while time.thread_time() shows they are not.) Prints where the CPU of a request goes:
by layer (the package of the innermost frame) and by stage (any frame on the stack).

    .venv/bin/pip install py-spy   # profiling only; not a project dependency
    .venv/bin/python bench/pyspy_intake.py [--setup pg-sync] [--clients 8] [--seconds 20]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake import BIN, PG_DB, SETUPS, pg_admin, prepare, run_level, server

# Innermost frame's file -> layer (first match wins).
LAYERS = (
    ("psycopg driver", "psycopg/"),
    ("Django ORM / SQL compiler", "django/db/"),
    ("pydantic", "pydantic"),
    ("django-ninja", "ninja/"),
    ("Django request / middleware / other", "django/"),
    ("gunicorn", "gunicorn/"),
    ("petitiondesk", "petitiondesk/"),
)
# Stages: a sample counts for the first stage whose marker is anywhere on its stack, markers tried
# in this order (innermost stages first).
STAGES = (
    ("token lookup (token_authenticate)", "token_authenticate ("),
    ("duplicate lookup + inserts + commit (inside transaction.atomic)", "<atomic>"),
    ("petition_submit: validation, org lookup, deadline calc (outside the transaction)",
     "petition_submit ("),
    ("ninja: parse + validate body (pydantic)", "_get_values ("),
    ("ninja: build response (pydantic, JSON)", "_result_to_response ("),
    ("submit view: other", "v1.py"),
    ("ninja: other", "ninja/"),
    ("idempotency middleware (own)", "idempotency.py"),
    ("Django handler + other middleware", "django/"),
    ("gunicorn: HTTP parsing, socket I/O, logging", "gunicorn/"),
)  # fmt: skip


def atomic_lines() -> range:
    """Lines of petition_submit's `with transaction.atomic():` block (read from the source)."""
    src = (BIN.parent.parent / "petitiondesk" / "intake" / "services.py").read_text().splitlines()
    start = next(i for i, line in enumerate(src, 1) if "with transaction.atomic():" in line)
    end = next(i for i, line in enumerate(src, 1) if i > start and "return Receipt(" in line)
    return range(start, end)


def in_atomic(stack: str, lines: range) -> bool:
    for frame in stack.split(";"):
        if frame.startswith("petition_submit (") and "intake/services.py:" in frame:
            line = frame.rsplit(":", 1)[1].rstrip(")")
            if line.isdigit() and int(line) in lines:
                return True
    return False


def summarise(raw: Path) -> None:
    atomic = atomic_lines()
    layers: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf = frames[-1]
        leaves[leaf] += n
        layers[next((name for name, m in LAYERS if m in leaf), "stdlib / builtins")] += n
        stages[
            next(
                (
                    name
                    for name, m in STAGES
                    if (in_atomic(stack, atomic) if m == "<atomic>" else m in stack)
                ),
                "other",
            )
        ] += n
    if not total:
        print("py-spy recorded no samples")
        return
    print(f"\n{total} GIL-holding samples of the web workers\n\nby layer (innermost frame):")
    for name, n in layers.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("\nby stage (any frame on the stack, first match in the listed order):")
    for name, _ in (*STAGES, ("other", "")):
        print(f"  {100 * stages[name] / total:5.1f}%  {name}")
    print("\nhottest innermost frames:")
    for leaf, n in leaves.most_common(25):
        print(f"  {100 * n / total:5.1f}%  {leaf[:150]}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--setup", default="pg-sync", choices=[s for s in SETUPS if s != "sqlite"])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks in this file")
    args = p.parse_args()
    pyspy = BIN / "py-spy"
    if not pyspy.exists() or shutil.which("wrk") is None:
        print("needs wrk and .venv/bin/py-spy (pip install py-spy)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="pd-pyspy-"))
    raw = work / "pyspy.txt"
    try:
        prep = prepare(args.setup, work)
        with server(prep.cmd, prep.env, work / "server.log", prep.port) as pgid:
            run_level(  # warm-up
                setup=args.setup, kind="staff", clients=args.clients, seconds=3, drain=2,
                budget=100_000, port=prep.port, server_pgid=pgid, token=prep.token,
                store=prep.store, work=work, tag="warm",
            )  # fmt: skip
            spy = subprocess.Popen(
                [str(pyspy), "record", "--pid", str(pgid), "--subprocesses", "--nonblocking",
                 "--gil", "--format", "raw", "--rate", str(args.rate),
                 "--duration", str(args.seconds),
                 "--output", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                level = run_level(
                    setup=args.setup, kind="staff", clients=args.clients, seconds=args.seconds,
                    drain=2, budget=1_000_000, port=prep.port, server_pgid=pgid,
                    token=prep.token, store=prep.store, work=work, tag="profiled",
                )  # fmt: skip
                spy.wait(timeout=60)
            finally:
                if spy.poll() is None:
                    spy.kill()
                    spy.wait()
        print(
            f"{args.setup}, {args.clients} clients, under py-spy: {level.rate:.0f} submissions/s, "
            f"p50 {level.p50_ms:.1f} ms, p99 {level.p99_ms:.1f} ms, check {level.check}; "
            f"CPU per submission: web {level.app_ms:.1f} ms, PostgreSQL {level.db_ms:.1f} ms"
        )
        summarise(raw)
        if args.raw:
            shutil.copy(raw, args.raw)
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
