"""Faults a production deployment meets: a worker killed mid-job, the database gone during
requests, the upload volume full. Each must end in a clear answer and nothing lost or doubled."""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, close_old_connections, connection
from django.test import Client

from petitiondesk.cases.models import Attachment, Case, CaseEvent, Deadline
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from petitiondesk.notices import services as notice_services
from petitiondesk.notices.models import Delivery
from petitiondesk.notices.services import (
    DeliveryRequest,
    deliveries_sweep,
    delivery_attempt,
    notice_issue,
)
from petitiondesk.reference.services import divisions_load
from tests.conftest import letter
from tests.test_sweep_and_concurrency import needs_postgres

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _storage(settings: Any, tmp_path: Path) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"


def counts() -> tuple[int, int, int, int]:
    return (
        Case.objects.count(),
        CaseEvent.objects.count(),
        Deadline.objects.count(),
        Attachment.objects.count(),
    )


# --- a worker killed in the middle of a job ------------------------------------------------------


class WorkerKilled(BaseException):
    """Raised where the process would have died: no `except Exception` runs, nothing records."""


def accepted_claim(clerk: Any, handler: Any) -> int:
    from petitiondesk.cases import services

    body = letter(received_on="2026-11-16")
    body["petitioners"] = [
        PetitionerData(name="王小明", phone="13800000000", email="wxm@example.cn")
    ]
    body["received_on"] = dt.date.fromisoformat(body["received_on"])
    case_id = petition_submit(submission=Submission(**body), actor=clerk).case.pk
    services.case_route(
        case_id=case_id, actor=clerk, to_org="K-EDU", effective_on=dt.date(2026, 11, 17)
    )
    services.case_accept(
        case_id=case_id, actor=handler, claim_route=6, effective_on=dt.date(2026, 11, 18)
    )
    return case_id


def run_queued_tasks() -> None:
    """What a worker does: run every task in the database queue, until it is empty."""
    from unittest import mock

    from django_tasks_db.management.commands import db_worker

    # The worker closes its connection between tasks; here that one holds the test's transaction.
    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        db_worker.Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        ).run()


def test_a_notice_whose_worker_died_after_claiming_it_is_sent_exactly_once(
    clerk_alice: Any,
    handler_bob: Any,
    mailoutbox: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case_id = accepted_claim(clerk_alice, handler_bob)
    with django_capture_on_commit_callbacks(execute=True):  # enqueued in the database queue
        notice = notice_issue(
            case_id=case_id,
            actor=handler_bob,
            kind="acceptance",
            deliver=[DeliveryRequest("email")],
        )
    delivery = notice.deliveries.get()

    def die(delivery: Delivery) -> None:
        raise WorkerKilled

    # The first worker runs the job, claims the delivery, and dies before the mail leaves.
    monkeypatch.setattr(notice_services, "_transmit", die)
    with pytest.raises(WorkerKilled):
        delivery_attempt(delivery_id=delivery.pk)
    monkeypatch.undo()
    claimed = Delivery.objects.get(pk=delivery.pk)
    assert claimed.state == Delivery.State.PENDING and claimed.attempts == 1
    assert mailoutbox == []

    # While its lease runs, neither the queued task nor the sweep sends it a second time.
    run_queued_tasks()
    assert mailoutbox == []
    assert deliveries_sweep() == 0

    # After the lease the sweep re-queues it, another worker sends it, and later sweeps leave it.
    with time_machine.travel(dt.timedelta(minutes=11)):
        assert deliveries_sweep() == 1
        run_queued_tasks()
        assert deliveries_sweep() == 0
        run_queued_tasks()

    assert len(mailoutbox) == 1
    assert mailoutbox[0].message()["Message-ID"] == delivery.message_id
    sent = Delivery.objects.get(pk=delivery.pk)
    assert sent.state == Delivery.State.SENT and sent.attempts == 2
    assert CaseEvent.objects.filter(case_id=case_id, verb="notice_sent").count() == 1


# --- the database gone during requests -----------------------------------------------------------


class FailingInsert:
    """The connection lost at the first statement inserting into `table` (once)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.statements: list[str] = []
        self.failed = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # An empty table name: the first statement of all.
        if (not self.table or f'INSERT INTO "{self.table}"' in sql) and not self.failed:
            self.failed = True
            raise OperationalError("server closed the connection unexpectedly")
        self.statements.append(sql)
        return execute(sql, params, many, context)


def registered(clerk: Any) -> Case:
    body = letter()
    body["petitioners"] = [PetitionerData(**p) for p in body["petitioners"]]
    body["received_on"] = dt.date.fromisoformat(body["received_on"])
    return petition_submit(submission=Submission(**body), actor=clerk).case


def test_the_api_answers_503_when_the_database_goes_away_and_keeps_nothing(
    api_as: Any, clerk_alice: Any
) -> None:
    case = registered(clerk_alice)
    api = api_as(clerk_alice)
    before = (counts(), list(Deadline.objects.filter(case=case).values()))
    failing = FailingInsert("cases_caseevent")  # the last row of a verb, after its other writes
    route = f"/petitions/{case.pk}/actions/route"

    with connection.execute_wrapper(failing):
        r = api.post(route, {"to_org": "K-EDU"}, **{"Idempotency-Key": "retry-me-1"})

    assert failing.failed
    assert any(s.startswith('UPDATE "cases_case"') for s in failing.statements)
    assert r.status_code == 503
    assert r["Retry-After"] == "10"
    assert r.json()["error"]["code"] == "unavailable"
    case.refresh_from_db()
    assert case.status == "registered" and case.routed_by_org is None
    assert (counts(), list(Deadline.objects.filter(case=case).values())) == before

    retried = api.post(route, {"to_org": "K-EDU"}, **{"Idempotency-Key": "retry-me-1"})

    assert retried.status_code == 200
    case.refresh_from_db()
    assert case.status != "registered" and case.org is not None and case.org.code == "K-EDU"


def test_the_portal_answers_a_503_page_when_the_database_goes_away(
    client: Client, org_tree: None
) -> None:
    divisions_load(records=DIVISIONS)
    before = counts()

    # SQLite: after the case row is written. PostgreSQL writes a new case in one statement
    # (intake/store.py, atomic by itself), so there the connection goes before it.
    failing = FailingInsert("cases_caseevent" if connection.vendor == "sqlite" else "")
    with connection.execute_wrapper(failing):
        r = client.post("/submit/", claim_form(), HTTP_ACCEPT_LANGUAGE="en")

    assert r.status_code == 503 and r["Retry-After"] == "10"
    assert r["Content-Type"].startswith("text/html")
    assert "Nothing was saved" in r.content.decode()
    assert counts() == before
    assert client.post("/submit/", claim_form(), HTTP_ACCEPT_LANGUAGE="en").status_code == 302


def test_a_database_failing_inside_a_middleware_is_a_503_too(clerk_alice: Any) -> None:
    from tests.conftest import login_verified

    client = Client(raise_request_exception=False)
    login_verified(client, clerk_alice)

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("database is locked")

    with connection.execute_wrapper(refuse):
        r = client.get("/desk/")  # the session is loaded by a middleware, before any view

    assert r.status_code == 503 and r["Retry-After"] == "10"


def test_other_server_errors_stay_500(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from petitiondesk.core import health

    def broken() -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(health, "health_report", broken)
    client.raise_request_exception = False

    assert client.get("/healthz").status_code == 500


@needs_postgres
@pytest.mark.postgres
def test_a_terminated_postgresql_backend_is_a_503_and_the_next_request_reconnects(
    transactional_db: None, api_as: Any, clerk_alice: Any
) -> None:
    import psycopg

    api = api_as(clerk_alice)
    assert api.post("/petitions", letter()).status_code == 201
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    r = api.post("/petitions", letter())

    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
    close_old_connections()  # what Django does at the end of every request (the test client not)
    assert api.post("/petitions", letter()).status_code == 201
    assert Case.objects.count() == 2


# --- the upload volume full ----------------------------------------------------------------------

DIVISIONS = [
    {"code": "990000", "name": "示范省", "level": "province", "parent": None},
    {"code": "990100", "name": "示范市", "level": "city", "parent": "990000"},
    {"code": "990101", "name": "示范县", "level": "county", "parent": "990100"},
]


def claim_form(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "孩子入学学位分配问题",
        "content": "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。",
        "category": "claim",
        "topic": "",
        "province": "990000",
        "city": "990100",
        "county": "990101",
        "name": "王小明",
        "phone": "13800000000",
        "id_number": "",
        "address": "",
        "email": "",
        "people_count": "1",
        "representatives": "0",
        "other_people": "",
        **overrides,
    }


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)


def stored_files(settings: Any) -> list[Path]:
    """Attachment files a case could point at (an unfinished `.part` is never one)."""
    root = Path(settings.PETITIONDESK_UPLOAD_DIR)
    return [p for p in root.rglob("*") if p.is_file() and p.suffix != ".part"]


def test_a_public_submission_with_files_on_a_full_volume_is_refused_whole(
    client: Client, org_tree: None, disk_full: None, settings: Any
) -> None:
    divisions_load(records=DIVISIONS)
    scan = SimpleUploadedFile("scan.png", PNG, content_type="image/png")

    r = client.post("/submit/", claim_form(attachments=[scan]), HTTP_ACCEPT_LANGUAGE="en")

    assert r.status_code == 507
    assert "Files cannot be stored" in r.content.decode()
    assert Case.objects.count() == 0
    assert stored_files(settings) == []


def test_an_api_upload_on_a_full_volume_is_a_507_storage_full(
    org_tree: None, disk_full: None, settings: Any
) -> None:
    body = letter(channel="web")
    body["petitioners"] = [PetitionerData(**p) for p in body["petitioners"]]
    del body["received_on"]
    receipt = petition_submit(submission=Submission(**body), actor=None)
    scan = SimpleUploadedFile("scan.png", PNG, content_type="image/png")

    r = Client().post(
        f"/api/v1/track/{receipt.case.tracking_number}/attachments",
        data={"file": scan},
        headers={"X-Access-Key": receipt.access_key or ""},
    )

    assert r.status_code == 507
    assert r.json()["error"]["code"] == "storage_full"
    assert receipt.case.attachments.count() == 0
    assert stored_files(settings) == []
