"""The supervision ladder: reminder, supervision notice, listed supervision (docs/supervision.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import CaseEvent, Deadline
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from petitiondesk.supervision.models import Notification, Reminder, SupervisionRecord
from petitiondesk.supervision.services import (
    deadlines_sweep,
    listing_sweep,
    reminders_sweep,
    supervision_sweep,
)
from tests.conftest import letter
from tests.test_sweep_and_concurrency import run_together


def registered_case(api_as: Any, clerk: User, **overrides: Any) -> int:
    """A letter registered by `clerk` through the intake service (as the API does)."""
    body = letter(**overrides)
    body["petitioners"] = [PetitionerData(**p) for p in body["petitioners"]]
    body["received_on"] = dt.date.fromisoformat(body["received_on"])
    return petition_submit(submission=Submission(**body), actor=clerk).case.pk


SHANGHAI = dt.timezone(dt.timedelta(hours=8))
LADDER = ("remind", "supervise", "list_supervision")


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def run_day(day: dt.date) -> None:
    """What the scheduler does on `day`, twice over (a second pass must change nothing)."""
    with time_machine.travel(dt.datetime.combine(day, dt.time(9), SHANGHAI), tick=False):
        for _ in range(2):
            deadlines_sweep()
            supervision_sweep()


def first_days(case_id: int) -> dict[str, list[dt.date]]:
    events = CaseEvent.objects.filter(case_id=case_id, verb__in=LADDER).order_by("id")
    out: dict[str, list[dt.date]] = {verb: [] for verb in LADDER}
    for e in events:
        out[e.verb].append(e.effective_on)
    return out


@pytest.mark.django_db
def test_each_step_fires_once_on_its_day_across_the_national_day_holiday(
    api_as, clerk_alice, supervisor_carol, django_capture_on_commit_callbacks
):
    """Received 2026-09-18: routing is due 15 days later, 10-03, a holiday, so on 10-08, the first
    working day after National Day. Reminder 3 calendar days before (10-05, in the holiday); the
    supervision notice the day after the due date (10-09), answerable in 10 days (10-19); listed
    supervision the day after that (10-20)."""
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-18")
    assert Deadline.objects.get(case_id=case_id, rule="routing").due_on == dt.date(2026, 10, 8)
    with django_capture_on_commit_callbacks(execute=True):
        day = dt.date(2026, 9, 28)
        while day <= dt.date(2026, 10, 25):
            run_day(day)
            day += dt.timedelta(days=1)
    assert first_days(case_id) == {
        "remind": [dt.date(2026, 10, 5)],
        "supervise": [dt.date(2026, 10, 9)],
        "list_supervision": [dt.date(2026, 10, 20)],
    }
    [record] = SupervisionRecord.objects.filter(case_id=case_id)
    assert (record.issued_on, record.answer_by) == (dt.date(2026, 10, 9), dt.date(2026, 10, 19))
    assert record.listed_on == dt.date(2026, 10, 20)
    assert record.org.code == "K-XF" and record.issuer_org.code == "K"
    assert Reminder.objects.filter(case_id=case_id).count() == 1


@pytest.mark.django_db
def test_the_reminder_is_not_sent_before_its_day(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-16")  # due 12-01
    assert reminders_sweep(today=dt.date(2026, 11, 27)) == 0
    assert reminders_sweep(today=dt.date(2026, 11, 28)) == 1
    assert reminders_sweep(today=dt.date(2026, 11, 29)) == 0
    assert CaseEvent.objects.filter(case_id=case_id, verb="remind").count() == 1


@pytest.mark.django_db
def test_an_answered_notice_is_never_listed(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-01")
    deadlines_sweep()
    record = SupervisionRecord.objects.get(case_id=case_id)
    SupervisionRecord.objects.filter(pk=record.pk).update(state="answered")
    assert listing_sweep(today=record.answer_by + dt.timedelta(days=5)) == 0


@pytest.mark.django_db
def test_steps_reach_the_owing_organ_and_the_supervisors_above_and_mail_them_once(
    api_as, clerk_alice, supervisor_carol, handler_bob, django_capture_on_commit_callbacks
):
    for user, email in ((clerk_alice, "alice@k-xf.example"), (supervisor_carol, "carol@c.example")):
        user.email = email
        user.save(update_fields=["email"])
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-01")
    with django_capture_on_commit_callbacks(execute=True):
        deadlines_sweep()
    [supervise] = Notification.objects.filter(case_id=case_id, kind="supervise")
    assert supervise.recipient == clerk_alice  # K-XF owed routing; it has no head
    record = SupervisionRecord.objects.get(case_id=case_id)
    with django_capture_on_commit_callbacks(execute=True):
        listing_sweep(today=record.answer_by + dt.timedelta(days=1))
        listing_sweep(today=record.answer_by + dt.timedelta(days=2))
    listed = Notification.objects.filter(case_id=case_id, kind="list_supervision")
    assert {n.recipient.username for n in listed} == {"alice", "carol"}  # not bob (K-EDU)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice@k-xf.example",
        "alice@k-xf.example",
        "carol@c.example",
    ]
    # Running an e-mail task again sends nothing.
    from petitiondesk.supervision.services import notification_email

    assert notification_email(notification_id=supervise.pk) == "skipped"
    assert len(mail.outbox) == 3


needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrency tests need PostgreSQL: set PETITIONDESK_TEST_DATABASE_URL (make test does)",
)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_fire_each_step_once(api_as, clerk_alice, supervisor_carol):
    reminded = [registered_case(api_as, clerk_alice, received_on="2026-11-15") for _ in range(8)]
    late = [registered_case(api_as, clerk_alice, received_on="2026-09-01") for _ in range(8)]
    assert sum(run_together(reminders_sweep, reminders_sweep)) == 8
    assert sum(run_together(deadlines_sweep, deadlines_sweep)) == 8
    later = dt.date(2026, 12, 31)
    assert (
        sum(run_together(lambda: listing_sweep(today=later), lambda: listing_sweep(today=later)))
        == 8
    )
    for ids, verb in ((reminded, "remind"), (late, "supervise"), (late, "list_supervision")):
        for case_id in ids:
            assert CaseEvent.objects.filter(case_id=case_id, verb=verb).count() == 1, verb
    assert Reminder.objects.filter(case_id__in=reminded).count() == 8
    assert Notification.objects.filter(case_id__in=late, kind="list_supervision").count() == 16


@pytest.mark.django_db
def test_a_backdated_late_step_issues_the_notice_once(api_as, clerk_alice):
    from petitiondesk.cases.services import case_route

    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-28")  # due 2026-10-13
    case_route(
        case_id=case_id, actor=clerk_alice, to_org="K-EDU", effective_on=dt.date(2026, 10, 20)
    )
    deadlines_sweep()  # K-EDU's acceptance notice (due 11-04) is missed too: a second notice
    deadlines_sweep()
    [record] = SupervisionRecord.objects.filter(case_id=case_id, deadline__rule="routing")
    assert (record.org.code, record.issued_on) == ("K-XF", dt.date(2026, 11, 27))
    supervised = CaseEvent.objects.filter(case_id=case_id, verb="supervise")
    assert sorted(e.payload["record_id"] for e in supervised) == sorted(
        SupervisionRecord.objects.filter(case_id=case_id).values_list("id", flat=True)
    )
    assert supervised.count() == 2
