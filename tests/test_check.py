"""`petitiondesk check`: each item of a production deployment, and the command's exit code."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.db import connection

from petitiondesk.calendar.models import CalendarYear
from petitiondesk.calendar.sources import invalidate_calendar
from petitiondesk.cli import main
from petitiondesk.core import check
from petitiondesk.core.health import heartbeat_record

pytestmark = pytest.mark.django_db

LONG_KEY = "k" * 50


@pytest.fixture
def production(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings as docs/deploy.md describes them."""
    monkeypatch.setenv("PETITIONDESK_SECRET_KEY", LONG_KEY)
    settings.SECRET_KEY = LONG_KEY
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["petitions.example.gov.cn"]
    settings.PETITIONDESK_HTTPS = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.EMAIL_HOST = "smtp.example.gov.cn"
    return settings


def load_2027() -> None:
    CalendarYear.objects.create(year=2027, holidays=[], workdays=[], version="loaded-2027-x")
    invalidate_calendar()


def test_the_generated_secret_key_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PETITIONDESK_SECRET_KEY", raising=False)

    assert check.check_secret_key().status == "fail"


def test_a_short_secret_key_fails(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setenv("PETITIONDESK_SECRET_KEY", "short")
    settings.SECRET_KEY = "short"

    assert check.check_secret_key().status == "fail"


def test_debug_fails(settings: Any) -> None:
    settings.DEBUG = True

    assert check.check_debug().status == "fail"


@pytest.mark.parametrize("hosts", [["127.0.0.1", "localhost", "testserver"], ["*"]])
def test_local_or_wildcard_hosts_fail(settings: Any, hosts: list[str]) -> None:
    settings.ALLOWED_HOSTS = hosts

    assert check.check_allowed_hosts().status == "fail"


def test_https_off_fails(production: Any) -> None:
    production.PETITIONDESK_HTTPS = False

    item = check.check_https()

    assert item.status == "fail" and "PETITIONDESK_HTTPS=true" in item.fix


def test_a_plain_http_trusted_origin_fails(production: Any) -> None:
    production.CSRF_TRUSTED_ORIGINS = ["http://petitions.example.gov.cn"]

    assert check.check_https().status == "fail"


def test_https_without_the_proxy_header_warns(production: Any) -> None:
    production.SECURE_PROXY_SSL_HEADER = None

    assert check.check_https().status == "warn"


def test_sqlite_fails_as_the_production_database() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("this run is on PostgreSQL")
    item = check.check_database()

    assert item.status == "fail" and "embedded" in item.message


def test_postgresql_passes_as_the_production_database() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set PETITIONDESK_TEST_DATABASE_URL")

    assert check.check_database().status == "ok"


def test_the_migrations_are_all_applied_in_the_test_database() -> None:
    assert check.check_migrations().status == "ok"


def test_a_calendar_ending_within_90_days_warns_with_the_year_to_load() -> None:
    item = check.check_calendar()  # 2026-11-27: only 2026 is known

    assert item.status == "warn"
    assert "2027.yaml" in item.fix


def test_a_loaded_next_year_covers_the_calendar() -> None:
    load_2027()

    assert check.check_calendar().status == "ok"


def test_no_worker_ever_fails() -> None:
    item = check.check_worker()

    assert item.status == "fail" and "petitiondesk worker" in item.fix


def test_a_recent_heartbeat_passes_and_a_stale_one_fails(settings: Any) -> None:
    settings.PETITIONDESK_HEARTBEAT_STALE_SECONDS = 600
    heartbeat_record(worker_id="w1", started_at=dt.datetime.now(dt.UTC))

    assert check.check_worker().status == "ok"
    with time_machine.travel(dt.timedelta(minutes=15)):
        assert check.check_worker().status == "fail"


def test_a_nearly_full_upload_volume_warns(
    settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 << 30, 10 << 30, 200 << 20))

    item = check.check_uploads()

    assert item.status == "warn" and "200 MiB free" in item.message


def test_no_smtp_server_warns(settings: Any) -> None:
    settings.EMAIL_HOST = ""

    assert check.check_mail().status == "warn"


def test_a_production_configuration_passes_every_item_but_the_database_on_sqlite(
    production: Any,
) -> None:
    load_2027()
    heartbeat_record(worker_id="w1", started_at=dt.datetime.now(dt.UTC))

    statuses = {item.name: item.status for item in check.deployment_check()}

    expected = dict.fromkeys(statuses, "ok")
    if connection.vendor == "sqlite":
        expected["database"] = "fail"
    assert statuses == expected


def test_the_command_prints_json_and_exits_1_on_a_failure(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--json"])

    report = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1
    assert report["ok"] is False
    worker = next(i for i in report["items"] if i["name"] == "worker")
    assert worker["status"] == "fail" and worker["fix"]


def test_the_command_exits_0_when_nothing_fails(production: Any, capsys: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL passes the database item")
    load_2027()
    heartbeat_record(worker_id="w1", started_at=dt.datetime.now(dt.UTC))

    assert main(["check"]) == 0
    assert "fail" not in capsys.readouterr().out
