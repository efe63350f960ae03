"""Bulk-import benchmark: rows per second of `petitiondesk import` on SQLite and PostgreSQL.

Run by hand (`make bench-import`, or `.venv/bin/python bench/import.py --help`); never part of the
test suite. Results and how to read them: docs/benchmarks.md ("Bulk import").

The rows come from the real TipDM messages (/work/shared/data/tipdm2020c/messages-*.xlsx, the
Chinese messages to a city government): they are cycled to the requested count, each with a unique
external id (and the row number appended to the text, so that the duplicate check links only true
repeats), and written to one CSV file. For each back-end the script makes a fresh data directory
(and, for PostgreSQL, a throwaway database), migrates it, loads a small org tree, adds a clerk, and
times `petitiondesk import FILE --mapping … --as clerk --quiet` end to end (process start included).
It then checks that the database holds one case and one external reference per row.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The intake bench's helpers (this folder is on sys.path when a bench script runs).
from intake import ORGS, BenchError, pg_admin

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DATA = ROOT.parent / "shared" / "data" / "tipdm2020c"
SOURCES = ("messages-hotspots.xlsx", "messages-with-replies.xlsx", "messages-labelled-sample.xlsx")
PG_DB = "petitiondesk_bench_import"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
MAPPING = """\
source: bench-tipdm
format: csv
timezone: Asia/Shanghai
columns:
  external_id: id
  title: title
  content: content
  received_on: received
  requested_at: received
  petitioner_name: user
defaults:
  channel: web
"""


def messages() -> list[dict[str, str]]:
    """The distinct TipDM messages (by 留言编号), as text."""
    import openpyxl

    out: dict[str, dict[str, str]] = {}
    for name in SOURCES:
        path = DATA / name
        if not path.exists():
            raise BenchError(f"the shared data set is not at {path}")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        for values in rows:
            rec = dict(zip(header, values, strict=False))
            if rec.get("留言编号") is None or not rec.get("留言详情"):
                continue
            when = rec["留言时间"]
            out.setdefault(
                str(rec["留言编号"]),
                {
                    "title": str(rec["留言主题"]).strip(),
                    "content": str(rec["留言详情"]),
                    "received": when.isoformat() if hasattr(when, "isoformat") else str(when),
                    "user": str(rec["留言用户"] or "").strip(),
                },
            )
        wb.close()
    return list(out.values())


def write_rows(path: Path, count: int) -> None:
    base = messages()
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "title", "content", "received", "user"])
        for i in range(count):
            m = base[i % len(base)]
            writer.writerow(
                [f"bench-{i}", m["title"], f"{m['content']}\n（{i}）", m["received"], m["user"]]
            )


def cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [str(BIN / "petitiondesk"), *args], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise BenchError(f"petitiondesk {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def count_rows(env: dict[str, str]) -> tuple[int, int]:
    code = (
        "import django, json; django.setup(); "
        "from petitiondesk.cases.models import Case, ExternalRef; "
        "print(json.dumps([Case.objects.count(), ExternalRef.objects.count()]))"
    )
    out = subprocess.run(
        [str(BIN / "python"), "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cases, refs = json.loads(out)
    return cases, refs


def run_backend(backend: str, rows_file: Path, mapping: Path, count: int, work: Path) -> dict:
    env = {**os.environ, "PETITIONDESK_DATA_DIR": str(work / backend)}
    env.pop("DATABASE_URL", None)
    if backend == "postgresql":
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = PG_URL
    try:
        cli(env, "migrate")
        orgs = work / "orgs.json"
        orgs.write_text(json.dumps(ORGS, ensure_ascii=False), encoding="utf-8")
        cli(env, "orgs", "load", str(orgs))
        cli(env, "users", "add", "bench", "--org", "K-XF", "--role", "clerk")
        started = time.monotonic()
        out = cli(
            env, "import", str(rows_file), "--mapping", str(mapping), "--as", "bench", "--quiet"
        )
        seconds = time.monotonic() - started
        cases, refs = count_rows(env)
        ok = cases == refs == count
        return {
            "backend": backend,
            "rows": count,
            "seconds": seconds,
            "rate": count / seconds,
            "check": "ok" if ok else f"MISMATCH cases={cases} refs={refs}",
            "summary": out.strip().splitlines()[0],
        }
    finally:
        if backend == "postgresql" and not os.environ.get("BENCH_KEEP"):
            pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def table(results: list[dict]) -> str:
    lines = ["| back-end | rows | seconds | rows/s | check |", "|---|---:|---:|---:|---|"]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['rows']:,} | {r['seconds']:.1f} | {r['rate']:.0f} | {r['check']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--backends", default="sqlite,postgresql")
    args = p.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    work = Path(tempfile.mkdtemp(prefix="petitiondesk-bench-import-"))
    try:
        rows_file, mapping = work / "rows.csv", work / "mapping.yaml"
        write_rows(rows_file, args.rows)
        mapping.write_text(MAPPING, encoding="utf-8")
        results = []
        for backend in backends:
            result = run_backend(backend, rows_file, mapping, args.rows, work)
            print(f"{backend}: {result['summary']}", flush=True)
            results.append(result)
        print(
            f"machine: {platform.platform()}, {os.cpu_count()} CPU, python {platform.python_version()}"
        )
        print(
            f"command: {' '.join([Path(sys.executable).name, 'bench/import.py', *(argv or sys.argv[1:])])}"
        )
        print(table(results))
        return 0 if all(r["check"] == "ok" for r in results) else 1
    except BenchError as exc:
        print(f"bench/import.py: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
