"""The sweeps write their steps in batches: a statement a batch, not one a clock or notice."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from petitiondesk.cases.models import Case, CaseEvent, Deadline
from petitiondesk.cases.services import case_accept, case_assign, case_route
from petitiondesk.cases.transitions import OPEN_STATUSES
from petitiondesk.supervision import services
from petitiondesk.supervision.models import BacklogCase, Notification, Reminder, SupervisionRecord
from petitiondesk.supervision.services import (
    backlog_sweep,
    deadlines_sweep,
    listing_sweep,
    reminders_sweep,
)
from tests.test_supervision_ladder import registered_case
from tests.test_sweep_and_concurrency import case_held, needs_postgres, run_together

TODAY = dt.date(2026, 11, 27)


def lapsed_windows(case_id: int, n: int) -> list[int]:
    """`n` petitioner windows of the case that ran out before today, still open."""
    start = dt.date(2026, 10, 1)
    rows = Deadline.objects.bulk_create(
        Deadline(
            case_id=case_id,
            rule="objection",
            start_on=start,
            days=5,
            due_on=start + dt.timedelta(days=5 + i % 20),
            method="workdays",
            calendar_version="test",
            duty=False,
        )
        for i in range(n)
    )
    return [d.pk for d in rows]


def updates_of_clocks(ctx: CaptureQueriesContext) -> int:
    table = Deadline._meta.db_table
    return sum(
        q["sql"].lstrip().upper().startswith("UPDATE") and table in q["sql"]
        for q in ctx.captured_queries
    )


@pytest.mark.django_db
def test_many_lapsed_windows_are_claimed_in_one_run_a_statement_a_batch(
    api_as, clerk_alice, monkeypatch
):
    monkeypatch.setattr(services, "CLAIM_BATCH", 5)
    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-20")  # routing due later
    ids = lapsed_windows(case_id, 12)
    with CaptureQueriesContext(connection) as ctx:
        assert deadlines_sweep() == 12
    assert updates_of_clocks(ctx) == 3  # 5 + 5 + 2, not one a clock
    assert set(Deadline.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"missed"}
    assert deadlines_sweep() == 0
    assert not Case.objects.get(pk=case_id).is_overdue  # a petitioner's window is nobody's delay
    assert not CaseEvent.objects.filter(case_id=case_id, verb="overdue").exists()


@pytest.mark.django_db
def test_a_window_due_today_is_left_open_by_the_batch(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-20")
    [lapsed, due_today] = lapsed_windows(case_id, 2)
    Deadline.objects.filter(pk=due_today).update(due_on=TODAY)
    assert deadlines_sweep() == 1
    assert Deadline.objects.get(pk=lapsed).state == "missed"
    assert Deadline.objects.get(pk=due_today).state == "open"


@pytest.mark.django_db
def test_a_batch_of_breaches_costs_the_same_statements_as_one(api_as, clerk_alice):
    """The statements of a run do not grow with the number of breaches it records."""
    registered_case(api_as, clerk_alice, received_on="2026-09-01")
    with transaction.atomic(), CaptureQueriesContext(connection) as one:
        assert deadlines_sweep() == 1
        transaction.set_rollback(True)
    for _ in range(5):
        registered_case(api_as, clerk_alice, received_on="2026-09-01")
    with CaptureQueriesContext(connection) as six:
        assert deadlines_sweep() == 6
    assert len(six.captured_queries) <= len(one.captured_queries)  # the first also loads memos


@pytest.mark.django_db
def test_breaches_recorded_in_one_batch_write_the_rows_of_each_breach(
    api_as, clerk_alice, handler_bob, head_erin, supervisor_carol
):
    """Each breach of a batch has the rows `breach_record` writes for a single one: the overdue
    event, the notice to the owing organ with its issuer and answer date, the `supervise` event,
    and a notification to each who answers for the organ (the case's handler there first)."""
    routing_late = registered_case(api_as, clerk_alice, received_on="2026-09-01")
    handling_late = registered_case(
        api_as,
        clerk_alice,
        received_on="2026-08-03",
        title="学校食堂卫生问题",
        content="县第一中学食堂多次出现变质食品，学生反映强烈，请求教育局检查整改。",
        petitioners=[{"name": "李华", "phone": "13900000001", "id_number": "990101198502020022"}],
    )
    case_route(
        case_id=handling_late, actor=clerk_alice, to_org="K-EDU", effective_on=dt.date(2026, 8, 4)
    )
    case_accept(
        case_id=handling_late, actor=handler_bob, claim_route=6, effective_on=dt.date(2026, 8, 5)
    )
    case_assign(case_id=handling_late, actor=head_erin, username="bob")
    assert deadlines_sweep() == 2

    [record] = SupervisionRecord.objects.filter(case_id=routing_late)
    assert (record.org.code, record.issuer_org.code, record.reason) == ("K-XF", "K", "overdue")
    assert (record.issued_on, record.answer_by) == (TODAY, dt.date(2026, 12, 7))
    [overdue] = CaseEvent.objects.filter(case_id=routing_late, verb="overdue")
    due = record.deadline.due_on
    assert overdue.effective_on == due + dt.timedelta(days=1)
    assert overdue.payload == {
        "rule": "routing",
        "due_on": due.isoformat(),
        "deadline_id": record.deadline_id,
    }
    [supervise] = CaseEvent.objects.filter(case_id=routing_late, verb="supervise")
    assert supervise.effective_on == TODAY
    assert supervise.payload == {
        "record_id": record.pk,
        "reason": "overdue",
        "to_org_id": record.org_id,
        "answer_by": "2026-12-07",
        "by_hand": False,
    }
    notified = Notification.objects.filter(case_id=routing_late).order_by("id")
    assert [(n.recipient.username, n.kind, n.text, n.record_id, n.event_id) for n in notified] == [
        ("alice", "supervise", "2026-12-07", record.pk, supervise.pk)
    ]

    [record] = SupervisionRecord.objects.filter(case_id=handling_late)
    assert (record.org.code, record.deadline.rule) == ("K-EDU", "handling")
    [supervise] = CaseEvent.objects.filter(case_id=handling_late, verb="supervise")
    notified = Notification.objects.filter(case_id=handling_late, event=supervise).order_by("id")
    assert [n.recipient.username for n in notified] == ["bob", "erin"]  # the handler first
    assert Case.objects.filter(pk__in=[routing_late, handling_late], is_overdue=True).count() == 2


def statements_of_one_and_five(api_as: Any, clerk: Any, received_on: str, sweep: Any) -> None:
    """The statements of a sweep writing one step, then five: no more for five."""
    registered_case(api_as, clerk, received_on=received_on)
    with transaction.atomic(), CaptureQueriesContext(connection) as one:
        assert sweep() == 1
        transaction.set_rollback(True)
    for _ in range(4):
        registered_case(api_as, clerk, received_on=received_on)
    with CaptureQueriesContext(connection) as five:
        assert sweep() == 5

    def steps(captured: CaptureQueriesContext) -> list[str]:
        # The backlog sweep's repeat check reads only the links added since its last run (the
        # four new cases repeat the first): its cost follows new links, not flags written.
        return [q["sql"] for q in captured.captured_queries if '"cases_caselink"' not in q["sql"]]

    assert len(steps(five)) <= len(steps(one))


@pytest.mark.django_db
def test_a_batch_of_reminders_costs_the_same_statements_as_one(api_as, clerk_alice):
    statements_of_one_and_five(api_as, clerk_alice, "2026-11-15", reminders_sweep)
    assert CaseEvent.objects.filter(verb="remind").count() == 5
    assert Reminder.objects.count() == Notification.objects.filter(kind="remind").count() == 5


@pytest.mark.django_db
def test_a_batch_of_listings_costs_the_same_statements_as_one(
    api_as, clerk_alice, supervisor_carol
):
    def sweep() -> int:
        deadlines_sweep()
        return listing_sweep(today=dt.date(2026, 12, 31))

    statements_of_one_and_five(api_as, clerk_alice, "2026-09-01", sweep)
    assert SupervisionRecord.objects.filter(listed_on=dt.date(2026, 12, 31)).count() == 5
    listed = Notification.objects.filter(kind="list_supervision")
    assert sorted(n.recipient.username for n in listed) == ["alice"] * 5 + ["carol"] * 5


@pytest.mark.django_db
def test_a_batch_of_backlog_flags_costs_the_same_statements_as_one(
    api_as, clerk_alice, supervisor_carol
):
    statements_of_one_and_five(api_as, clerk_alice, "2026-08-01", backlog_sweep)
    assert BacklogCase.objects.count() == 5
    assert CaseEvent.objects.filter(verb="backlog_flag").count() == 5
    assert Notification.objects.filter(kind="backlog", recipient=supervisor_carol).count() == 5


def test_the_backlog_index_covers_exactly_the_open_statuses():
    """The backlog sweep's query filters on OPEN_STATUSES: the partial index serves it only
    when its condition names the same statuses."""
    [index] = [i for i in Case._meta.indexes if i.name == "case_open_received"]
    [(lookup, statuses)] = index.condition.children
    assert lookup == "status__in"
    assert set(statuses) == {s.value for s in OPEN_STATUSES}


# --- real concurrency: PostgreSQL only ----------------------------------------------------------


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_over_batches_claim_each_clock_once(api_as, clerk_alice, monkeypatch):
    monkeypatch.setattr(services, "CLAIM_BATCH", 3)
    late = [registered_case(api_as, clerk_alice, received_on="2026-09-01") for _ in range(10)]
    windows = lapsed_windows(late[0], 40)
    claimed = run_together(deadlines_sweep, deadlines_sweep)
    assert sum(claimed) == 50
    assert Deadline.objects.filter(pk__in=windows, state="missed").count() == 40
    assert CaseEvent.objects.filter(case_id__in=late, verb="overdue").count() == 10
    assert CaseEvent.objects.filter(case_id__in=late, verb="supervise").count() == 10
    assert SupervisionRecord.objects.filter(case_id__in=late).count() == 10
    assert deadlines_sweep() == 0


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sweep_passes_over_a_case_a_verb_holds_instead_of_waiting(api_as, clerk_alice):
    """A verb holds the case row while it reads and rewrites its clocks: the sweep leaves that
    case's clocks to a later run and claims the others without waiting."""
    held = registered_case(api_as, clerk_alice, received_on="2026-09-01")
    free = registered_case(api_as, clerk_alice, received_on="2026-09-01")
    held_windows = lapsed_windows(held, 3)
    with case_held(held):
        started = time.monotonic()
        assert deadlines_sweep() == 1  # `free`'s routing clock only
        assert time.monotonic() - started < 5
    assert Deadline.objects.get(case_id=free, rule="routing").state == "missed"
    assert Deadline.objects.filter(case_id=held, state="open").count() == 4
    assert deadlines_sweep() == 4  # the next run claims them
    assert set(Deadline.objects.filter(pk__in=held_windows).values_list("state", flat=True)) == {
        "missed"
    }
