"""/healthz, /metrics, the worker heartbeat, request ids and JSON logs, the replica router, and
the documentation of every environment variable."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test import Client

from petitiondesk.calendar.models import CalendarYear
from petitiondesk.calendar.sources import invalidate_calendar
from petitiondesk.cases.models import Case, Deadline
from petitiondesk.core import dbrouter, health
from petitiondesk.core.background import run_scheduler
from petitiondesk.core.logging import JsonFormatter, RequestIdFilter
from petitiondesk.core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def load_2027() -> None:
    CalendarYear.objects.create(
        year=2027, holidays=["2027-01-01"], workdays=[], version="loaded-2027-test"
    )
    invalidate_calendar()


def beat() -> None:
    health.heartbeat_record(worker_id="w1", started_at=dt.datetime.now(dt.UTC))


@pytest.fixture
def down() -> Any:
    """Every query fails as when the database server is gone."""

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        yield


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_is_ok_with_a_fresh_heartbeat_and_the_calendar_loaded(client: Client) -> None:
    load_2027()
    beat()

    r = client.get("/healthz")

    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "database": "ok",
        "worker_heartbeat_age_s": 0.0,
        "calendar_covered_until": "2027-12-31",
    }
    assert r["Cache-Control"].startswith("max-age=0")


def test_healthz_is_degraded_without_any_worker(client: Client) -> None:
    load_2027()

    r = client.get("/healthz")

    assert r.status_code == 200
    assert r.json()["status"] == "degraded"
    assert r.json()["worker_heartbeat_age_s"] is None


def test_healthz_is_degraded_when_the_heartbeat_is_stale(client: Client, settings: Any) -> None:
    load_2027()
    beat()
    settings.PETITIONDESK_HEARTBEAT_STALE_SECONDS = 600

    with time_machine.travel(dt.timedelta(minutes=11)):
        body = client.get("/healthz").json()

    assert body["status"] == "degraded"
    assert body["worker_heartbeat_age_s"] == pytest.approx(660, abs=1)


def test_healthz_is_degraded_when_the_calendar_ends_within_90_days(client: Client) -> None:
    beat()  # 2026-11-27: 2027 is not in the shipped package and not loaded

    body = client.get("/healthz").json()

    assert body["status"] == "degraded"
    assert body["calendar_covered_until"] == "2026-12-31"


def test_healthz_fails_with_503_when_the_database_does_not_answer(
    client: Client, down: None
) -> None:
    r = client.get("/healthz")

    assert r.status_code == 503
    assert r.json()["status"] == "fail" and r.json()["database"] == "unavailable"


def test_healthz_costs_a_few_queries(client: Client, django_assert_max_num_queries: Any) -> None:
    load_2027()
    beat()
    client.get("/healthz")  # the calendar is now in this process's memo
    with django_assert_max_num_queries(2):
        client.get("/healthz")


def test_the_scheduler_records_a_heartbeat_each_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    from petitiondesk.core import background

    # It would close the test's connection, which holds the test's transaction.
    monkeypatch.setattr(background, "close_old_connections", lambda: None)
    stop = threading.Event()

    def wait_once(timeout: float | None = None) -> bool:
        stop.set()
        return True

    stop.wait = wait_once  # type: ignore[method-assign]
    run_scheduler(stop)

    heartbeat = WorkerHeartbeat.objects.get()
    assert heartbeat.worker_id.endswith("-scheduler")
    assert health.heartbeat_age_seconds() == 0.0


def test_a_heartbeat_updates_its_row_and_forgets_long_gone_workers() -> None:
    with time_machine.travel(dt.timedelta(days=-8)):
        health.heartbeat_record(worker_id="old", started_at=dt.datetime.now(dt.UTC))
    beat()
    beat()
    health.heartbeat_record(worker_id="w2", started_at=dt.datetime.now(dt.UTC))

    assert sorted(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["w1", "w2"]


# --- /metrics -----------------------------------------------------------------------------------


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert found, f"{name} not in the metrics"
    return float(found.group(1))


def test_metrics_are_hidden_from_addresses_outside_the_allowed_networks(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 404


def test_metrics_answer_an_allowed_network(client: Client, settings: Any) -> None:
    import ipaddress

    settings.PETITIONDESK_METRICS_ALLOW = [ipaddress.ip_network("10.0.0.0/8")]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_metrics_count_overdue_cases_sweep_lag_queue_and_heartbeat(
    client: Client, clerk_alice: Any
) -> None:
    from petitiondesk.notices.tasks import send_delivery

    case_id = registered(clerk_alice)
    Case.objects.filter(pk=case_id).update(is_overdue=True)
    # A routing clock due yesterday (Thursday 26 November) that no sweep has marked missed yet.
    Deadline.objects.filter(case_id=case_id).update(due_on=dt.date(2026, 11, 26))
    send_delivery.enqueue(0)
    beat()

    with time_machine.travel(dt.timedelta(minutes=5)):
        r = client.get("/metrics")

    text = r.content.decode()
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    assert metric(text, "petitiondesk_overdue_cases") == 1
    # Late from midnight (+08:00) after the due date: 10:05 on the 27th is 10 h 5 min.
    assert metric(text, "petitiondesk_sweep_lag_seconds") == pytest.approx(10 * 3600 + 300, abs=1)
    assert metric(text, 'petitiondesk_task_queue_depth{state="ready"}') >= 1
    assert metric(text, "petitiondesk_worker_heartbeat_age_seconds") == pytest.approx(300, abs=1)
    assert metric(text, "petitiondesk_database_up") == 1
    assert "django_http_requests_total_by_method_total" in text  # django-prometheus
    # Query metrics are opt-in (PETITIONDESK_METRICS_DB; test_the_replica_url_adds_the_replica_alias
    # shows the wrapped backend): off, the intake path pays nothing for them.
    assert "django_db_execute_total" not in text


def test_the_sweep_lag_is_zero_when_every_past_clock_is_marked() -> None:
    from petitiondesk.core.metrics import sweep_lag_seconds

    assert sweep_lag_seconds() == 0.0


def test_metrics_say_the_database_is_down_instead_of_failing(client: Client, down: None) -> None:
    r = client.get("/metrics")

    assert r.status_code == 200
    assert metric(r.content.decode(), "petitiondesk_database_up") == 0


def registered(clerk: Any) -> int:
    """A letter registered by the clerk: a case with its routing clock."""
    from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
    from tests.conftest import letter

    body = letter()
    body["petitioners"] = [PetitionerData(**p) for p in body["petitioners"]]
    body["received_on"] = dt.date.fromisoformat(body["received_on"])
    return petition_submit(submission=Submission(**body), actor=clerk).case.pk


# --- request ids and JSON logs ------------------------------------------------------------------


def test_a_sane_request_id_is_echoed(client: Client) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "proxy-3f2a9c1e"})

    assert r["X-Request-ID"] == "proxy-3f2a9c1e"


@pytest.mark.parametrize("given", ["", "short", "a b c d e f g h", "x" * 200, "id\nforged: line"])
def test_an_absent_or_odd_request_id_is_replaced(client: Client, given: str) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": given} if given else {})

    assert re.fullmatch(r"[0-9a-f]{32}", r["X-Request-ID"])


def test_every_log_line_of_a_request_carries_its_id_as_json(client: Client, down: None) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("petitiondesk")
    logger.addHandler(handler)
    try:
        client.get("/healthz", headers={"X-Request-ID": "req-0001-abcd"})
    finally:
        logger.removeHandler(handler)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "the unanswering database was logged"
    assert {line["request_id"] for line in lines} == {"req-0001-abcd"}
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "petitiondesk.health"
    assert lines[0]["time"].endswith("+00:00")


def test_log_lines_outside_a_request_have_a_dash_for_the_id() -> None:
    record = logging.LogRecord("petitiondesk.worker", logging.INFO, "", 0, "sweep %d", (3,), None)
    RequestIdFilter().filter(record)
    record.extra_field = "kept"

    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "sweep 3" and line["request_id"] == "-"
    assert line["extra_field"] == "kept"


def settings_error(**env: str) -> str:
    """What importing the settings says with these variables (empty when it works)."""
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    return result.stderr.strip().splitlines()[-1] if result.returncode else ""


def test_a_bad_log_format_or_metrics_network_stops_the_process() -> None:
    assert "PETITIONDESK_LOG_FORMAT must be plain or json" in settings_error(
        PETITIONDESK_LOG_FORMAT="xml"
    )
    assert "PETITIONDESK_METRICS_ALLOW" in settings_error(PETITIONDESK_METRICS_ALLOW="10.0.0.0/33")
    assert settings_error(PETITIONDESK_LOG_FORMAT="json") == ""


# --- the read replica ---------------------------------------------------------------------------


def with_replica(monkeypatch: pytest.MonkeyPatch, *, in_transaction: bool = False) -> None:
    monkeypatch.setattr(
        dbrouter, "settings", SimpleNamespace(DATABASES={"default": {}, "replica": {}})
    )
    # Tests run inside a transaction; outside one is what a dashboard request looks like.
    monkeypatch.setattr(
        dbrouter, "connections", {"default": SimpleNamespace(in_atomic_block=in_transaction)}
    )


def test_analytics_reads_go_to_the_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    from petitiondesk.analytics.models import DailyCount

    with_replica(monkeypatch)

    assert dbrouter.AnalyticsReplicaRouter().db_for_read(DailyCount) == "replica"


def test_other_reads_and_all_writes_stay_on_the_primary(monkeypatch: pytest.MonkeyPatch) -> None:
    from petitiondesk.analytics.models import DailyCount

    with_replica(monkeypatch)
    router = dbrouter.AnalyticsReplicaRouter()

    assert router.db_for_read(Case) is None
    assert router.db_for_write(DailyCount) == "default"
    assert router.allow_migrate("replica", "analytics") is False


def test_analytics_reads_inside_a_transaction_stay_on_the_primary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from petitiondesk.analytics.models import DailyCount

    with_replica(monkeypatch, in_transaction=True)

    assert dbrouter.AnalyticsReplicaRouter().db_for_read(DailyCount) is None


def test_without_a_replica_analytics_reads_the_primary(monkeypatch: pytest.MonkeyPatch) -> None:
    from petitiondesk.analytics.models import DailyCount

    monkeypatch.setattr(
        dbrouter, "connections", {"default": SimpleNamespace(in_atomic_block=False)}
    )

    assert dbrouter.AnalyticsReplicaRouter().db_for_read(DailyCount) is None


def test_the_replica_url_adds_the_replica_alias() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from config import settings as s; print(s.DATABASES['replica']['HOST'], "
            "s.DATABASES['replica']['ENGINE'])",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "PETITIONDESK_REPLICA_URL": "postgresql://ro@replica.internal/pd",
            "PETITIONDESK_METRICS_DB": "1",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [
        "replica.internal",
        "django_prometheus.db.backends.postgresql",
    ]


# --- every setting documented --------------------------------------------------------------------


def documented_names() -> tuple[set[str], list[str]]:
    """Names in the docs' tables: written out, `PETITIONDESK_X_*` prefixes, and `/ _SUFFIX`
    shorthands after a full name (`PETITIONDESK_TRACK_MAX_FAILURES` / `_WINDOW_SECONDS`)."""
    names: set[str] = set()
    prefixes: list[str] = []
    for doc in ("docs/deploy.md", "docs/operations.md"):
        for line in (ROOT / doc).read_text(encoding="utf-8").splitlines():
            full = re.findall(r"PETITIONDESK_[A-Z0-9_]*[A-Z0-9](\*)?", line)
            for match in re.finditer(r"(PETITIONDESK_[A-Z0-9_]*[A-Z0-9])(\*)?", line):
                if match.group(2):
                    prefixes.append(match.group(1))
                else:
                    names.add(match.group(1))
            if not full:
                continue
            first = re.search(r"PETITIONDESK_[A-Z0-9_]*[A-Z0-9]", line)
            assert first
            parts = first.group(0).split("_")
            for suffix in re.findall(r"(?<![A-Z0-9])(_[A-Z][A-Z0-9_]*[A-Z0-9])", line):
                for cut in range(2, len(parts)):
                    names.add("_".join(parts[:cut]) + suffix)
    return names, prefixes


def test_every_environment_variable_of_the_settings_is_documented() -> None:
    source = (ROOT / "config" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\(\s*\"(PETITIONDESK_[A-Z0-9_]+)\"", source))
    names, prefixes = documented_names()

    missing = sorted(
        n for n in read if n not in names and not any(n.startswith(p) for p in prefixes)
    )

    assert len(read) > 40
    assert not missing, f"document these in docs/deploy.md: {missing}"
