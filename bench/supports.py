"""Public support benchmark: 100 supports per second on ONE suggestion for 30 seconds, PostgreSQL.

Run by hand (`make bench-supports`, or `.venv/bin/python bench/supports.py --help`); never part of
the test suite. Results: docs/benchmarks.md, "Public support of one suggestion".

What it does: a fresh PostgreSQL database (`petitiondesk_bench_supports`), migrated, with the small
org tree of bench/intake.py, a clerk and a token (through the `petitiondesk` CLI); gunicorn
(2 workers x 8 threads, gthread) on a free port of 127.0.0.1. Through the API the clerk publishes a
solicitation with a support threshold and a member of the public submits one suggestion answering
it, with consent to public support. Then an open-loop load: person i starts at i/rate seconds; each
person is a distinct mobile number and does what a supporter does, `POST /suggestions/{id}/supports`
(the server sends a 6-digit code) then `POST /suggestions/{id}/supports/confirm` with that code.

How the codes come back: the server runs with the SMS file backend that ships with petitiondesk
(`PETITIONDESK_SMS_BACKEND=petitiondesk.notices.sms.FileBackend`, one JSON line per message in
`PETITIONDESK_SMS_FILE`), and the bench tails that file. Nothing in the server is changed for the
bench: no fixed codes, no test-only hook. The bench also turns the per-address and per-network
request limits off (`PETITIONDESK_SUPPORT_IP_MAX=0`, `PETITIONDESK_SUPPORT_NETWORK_MAX=0`): the load
comes from one address, which those limits exist to stop.

Checks at the end (exit status 1 on any failure): the confirmed supports stored in the database
equal the number of confirmations answered 200, the public count returned by the API equals them
too, the largest count any confirmation returned equals them, and the threshold event was written
exactly once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# The intake bench's helpers (this folder is on sys.path when a bench script runs).
from intake import BIN, HOST, ORGS, BenchError, cli, free_port, pg_admin, server

PG_DB = "petitiondesk_bench_supports"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"


class Http:
    """One keep-alive connection per thread."""

    local = threading.local()

    def __init__(self, port: int) -> None:
        self.port = port

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        retried: bool = False,
    ) -> tuple[int, Any, float]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        start = time.perf_counter()
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            if method == "GET" and not retried:
                # A keep-alive connection the server closed while idle: read again, afresh.
                return self.call(method, path, body, headers, retried=True)
            return 0, None, time.perf_counter() - start
        elapsed = time.perf_counter() - start
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw[:200]
        return resp.status, payload, elapsed


class CodeTail:
    """Follows the server's SMS file: mobile number -> latest code."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[str, str] = {}
        self.cond = threading.Condition()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.path.exists() and not self.stop:
            time.sleep(0.01)
        with self.path.open("r", encoding="utf-8") as fh:
            buf = ""
            while not self.stop:
                chunk = fh.read()
                if not chunk:
                    time.sleep(0.003)
                    continue
                buf += chunk
                *lines, buf = buf.split("\n")
                with self.cond:
                    for line in lines:
                        rec = json.loads(line)
                        code = next(w for w in rec["text"].split() if w.isdigit() and len(w) == 6)
                        self.codes[rec["to"]] = code
                    self.cond.notify_all()

    def wait(self, to: str, timeout: float = 10) -> str | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while to not in self.codes:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.codes.pop(to)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k] * 1000


def prepare(work: Path) -> tuple[dict[str, str], str, int]:
    data_dir = work / "data"
    data_dir.mkdir(parents=True)
    pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    pg_admin(f"CREATE DATABASE {PG_DB}")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PETITIONDESK_", "DATABASE_URL", "DJANGO_"))
    }
    env.update(
        PETITIONDESK_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=PG_URL,
        PETITIONDESK_PUBLIC_SUBMIT_MAX="0",
        PETITIONDESK_SUPPORT_IP_MAX="0",
        PETITIONDESK_SUPPORT_NETWORK_MAX="0",
        PETITIONDESK_SMS_BACKEND="petitiondesk.notices.sms.FileBackend",
        PETITIONDESK_SMS_FILE=str(data_dir / "sms.jsonl"),
    )
    cli(env, "migrate")
    orgs_file = work / "orgs.json"
    orgs_file.write_text(json.dumps({"orgs": ORGS}, ensure_ascii=False), encoding="utf-8")
    cli(env, "orgs", "load", str(orgs_file))
    cli(env, "users", "add", "bench_clerk", "--org", "K-XF", "--role", "clerk")
    token = cli(env, "tokens", "create", "bench_clerk", "--name", "bench").splitlines()[-1].strip()
    return env, token, free_port()


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="pd-bench-supports-"))
    env, token, port = prepare(work)
    cmd = [
        str(BIN / "gunicorn"),
        "config.wsgi:application",
        "-w",
        str(args.workers),
        "-k",
        "gthread",
        "--threads",
        str(args.threads),
        "-b",
        f"{HOST}:{port}",
        # Client threads may idle a few seconds between people; gunicorn's default keep-alive (2 s)
        # would close their connections under them, and the next POST would fail on the client.
        "--keep-alive",
        "75",
    ]
    with server(cmd, env, work / "server.log", port):
        api = Http(port)
        status, sol, _ = api.call(
            "POST",
            "/api/v1/solicitations",
            {
                "title": "优化城区停车管理",
                "description": "征集停车建议",
                "question": "如何缓解停车难？",
                "opens_on": time.strftime("%Y-%m-%d"),
                "closes_on": "2099-12-31",
                "support_threshold": args.threshold,
            },
            {"Authorization": f"Bearer {token}"},
        )
        if status != 201:
            raise BenchError(f"publishing the solicitation: {status} {sol}")
        status, sug, _ = api.call(
            "POST",
            "/api/v1/suggestions",
            {
                "title": "错时开放机关停车场",
                "reasons": "老城区夜间车位紧张",
                "proposal": "机关停车场夜间向居民错时开放",
                "solicitation_id": sol["id"],
                "proposer_name": "李明",
                "proposer_phone": "13900001111",
                "public_consent": True,
            },
        )
        if status != 201:
            raise BenchError(f"submitting the suggestion: {status} {sug}")
        sid = sug["id"]
        tail = CodeTail(Path(env["PETITIONDESK_SMS_FILE"]))
        people = args.rate * args.seconds
        lock = threading.Lock()
        req_lat: list[float] = []
        conf_lat: list[float] = []
        person_lat: list[float] = []
        statuses: dict[str, int] = {}
        max_count = [0]
        ok_confirms = [0]
        lag: list[float] = []

        def note(kind: str, status: int) -> None:
            key = f"{kind} {status}"
            statuses[key] = statuses.get(key, 0) + 1

        def person(i: int, due: float) -> None:
            started = time.perf_counter()
            phone = f"15{i:09d}"
            s1, _b1, t1 = api.call(
                "POST", f"/api/v1/suggestions/{sid}/supports", {"contact": phone}
            )
            code = tail.wait(phone) if s1 == 202 else None
            s2, b2, t2 = (0, None, 0.0)
            if code is not None:
                s2, b2, t2 = api.call(
                    "POST",
                    f"/api/v1/suggestions/{sid}/supports/confirm",
                    {"contact": phone, "code": code},
                )
            done = time.perf_counter()
            with lock:
                lag.append(started - due)
                note("request", s1)
                req_lat.append(t1)
                if code is None and s1 == 202:
                    note("code-missing", 0)
                if code is not None:
                    note("confirm", s2)
                    conf_lat.append(t2)
                    person_lat.append(done - started)
                if s2 == 200 and isinstance(b2, dict):
                    ok_confirms[0] += 1
                    max_count[0] = max(max_count[0], int(b2["supports"]))

        t0 = time.perf_counter() + 0.5
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            for i in range(people):
                due = t0 + i / args.rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                pool.submit(person, i, due)
        elapsed = time.perf_counter() - t0
        tail.stop = True
        _s, public, _t = api.call("GET", f"/api/v1/suggestions/public?solicitation_id={sol['id']}")
        public_count = public[0]["supports"] if public else -1

    import psycopg

    with psycopg.connect(PG_URL) as con:
        stored = con.execute(
            "SELECT count(*) FROM suggestions_support "
            "WHERE suggestion_id = %s AND confirmed_at IS NOT NULL",
            (sid,),
        ).fetchone()[0]  # type: ignore[index]
        events = con.execute(
            "SELECT count(*) FROM suggestions_suggestionevent "
            "WHERE suggestion_id = %s AND verb = 'threshold_reached'",
            (sid,),
        ).fetchone()[0]  # type: ignore[index]
    pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")

    errors = sum(n for k, n in statuses.items() if not k.endswith((" 202", " 200")))
    print(f"machine: {platform.machine()}, nproc {os.cpu_count()}, {platform.python_version()}")
    print(
        f"server: gunicorn -w {args.workers} -k gthread --threads {args.threads}; "
        f"client: {args.clients} threads, open loop at {args.rate} people/s for {args.seconds} s"
    )
    print(f"people: {people}; wall time {elapsed:.1f} s (from the first start to the last answer)")
    print(f"confirmed (200): {ok_confirms[0]}  -> {ok_confirms[0] / elapsed:.1f} supports/s")
    print(
        f"HTTP requests: {len(req_lat) + len(conf_lat)} -> {(len(req_lat) + len(conf_lat)) / elapsed:.1f} req/s"
    )
    print(f"statuses: {json.dumps(statuses, sort_keys=True)}; errors: {errors}")
    for name, values in (
        ("request code", req_lat),
        ("confirm", conf_lat),
        ("person (both + code read-back)", person_lat),
    ):
        print(
            f"{name:32s} p50 {pct(values, 50):7.1f} ms  p95 {pct(values, 95):7.1f} ms  "
            f"p99 {pct(values, 99):7.1f} ms  max {pct(values, 100):7.1f} ms"
        )
    print(
        f"start lag behind schedule: p50 {pct(lag, 50):.1f} ms, p99 {pct(lag, 99):.1f} ms, "
        f"max {pct(lag, 100):.1f} ms"
    )
    problems = []
    if stored != ok_confirms[0]:
        problems.append(f"stored confirmed supports {stored} != 200 confirms {ok_confirms[0]}")
    if public_count != ok_confirms[0]:
        problems.append(f"public count {public_count} != 200 confirms {ok_confirms[0]}")
    if max_count[0] != ok_confirms[0]:
        problems.append(f"largest count returned {max_count[0]} != {ok_confirms[0]}")
    expected_events = 1 if 0 < args.threshold <= ok_confirms[0] else 0
    if events != expected_events:
        problems.append(f"threshold events {events}, expected {expected_events}")
    print(
        f"final count: stored {stored}, public API {public_count}, "
        f"threshold events {events} (threshold {args.threshold})"
    )
    if problems:
        print("CHECK FAILED: " + "; ".join(problems))
        return 1
    print("check: ok (the final count equals the 200 confirmations)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=100, help="people per second (default 100)")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=64, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--threshold", type=int, default=1000, help="the solicitation's")
    args = parser.parse_args()
    try:
        return run(args)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
