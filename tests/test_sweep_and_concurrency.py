"""The overdue sweep, and concurrent writers on one case."""

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections, transaction

from petitiondesk.cases.models import Case, CaseEvent, Deadline
from petitiondesk.supervision.models import SupervisionRecord
from petitiondesk.supervision.services import deadlines_sweep
from tests.conftest import letter


def registered_case(api_as, clerk, **overrides: Any) -> int:
    r = api_as(clerk).post("/petitions", letter(**overrides))
    assert r.status_code == 201, r.content
    return r.json()["id"]


@pytest.mark.django_db
def test_a_missed_routing_clock_marks_the_case_overdue_once(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-28")  # due 2026-10-13
    assert deadlines_sweep() == 1
    assert deadlines_sweep() == 0
    case = Case.objects.get(pk=case_id)
    assert case.is_overdue
    assert Deadline.objects.get(case=case, rule="routing").state == "missed"
    [event] = CaseEvent.objects.filter(case=case, verb="overdue")
    assert event.payload["rule"] == "routing"
    assert SupervisionRecord.objects.filter(case=case, reason="overdue").count() == 1


@pytest.mark.django_db
def test_a_clock_due_today_is_not_yet_missed(api_as, clerk_alice):
    # Received 2026-11-12: +15 = 11-27 (today, a Friday). On time until 23:59:59 today.
    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-12")
    assert Deadline.objects.get(case_id=case_id).due_on.isoformat() == "2026-11-27"
    assert deadlines_sweep() == 0
    assert not Case.objects.get(pk=case_id).is_overdue


@pytest.mark.django_db
def test_a_lapsed_petitioner_window_does_not_make_the_case_overdue(
    api_as, clerk_alice, handler_bob
):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-08-03")
    clerk, bob = api_as(clerk_alice), api_as(handler_bob)
    assert clerk.act(case_id, "route", to_org="K-EDU", effective_on="2026-08-04").status_code == 200
    assert bob.act(case_id, "accept", claim_route=6, effective_on="2026-08-05").status_code == 200
    r = bob.act(case_id, "reply", outcome="support", opinion="同意。", effective_on="2026-08-20")
    assert r.status_code == 200
    deadlines_sweep()
    case = Case.objects.get(pk=case_id)
    assert not case.is_overdue
    assert Deadline.objects.get(case=case, rule="review_request").state == "missed"
    assert not CaseEvent.objects.filter(case=case, verb="overdue").exists()


@pytest.mark.django_db
def test_a_step_done_late_is_recorded_as_missed(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-28")
    r = api_as(clerk_alice).act(case_id, "route", to_org="K-EDU", effective_on="2026-10-20")
    assert r.status_code == 200
    assert Deadline.objects.get(case_id=case_id, rule="routing").state == "missed"


@pytest.mark.django_db
def test_a_backdated_late_step_records_the_breach_the_sweep_never_saw(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-28")  # due 2026-10-13
    r = api_as(clerk_alice).act(case_id, "route", to_org="K-EDU", effective_on="2026-10-20")
    assert r.status_code == 200
    assert r.json()["is_overdue"] is False  # the step is done now
    [event] = CaseEvent.objects.filter(case_id=case_id, verb="overdue")
    assert (event.effective_on.isoformat(), event.payload["rule"]) == ("2026-10-14", "routing")
    [record] = SupervisionRecord.objects.filter(case_id=case_id)
    assert record.org.code == "K-XF"
    deadlines_sweep()  # later clocks (the notice) may run out; the routing breach is not repeated
    overdue = CaseEvent.objects.filter(case_id=case_id, verb="overdue")
    assert [e.payload["rule"] for e in overdue].count("routing") == 1


@pytest.mark.django_db
def test_a_step_done_after_the_sweep_does_not_record_the_breach_again(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-28")
    assert deadlines_sweep() == 1
    assert api_as(clerk_alice).act(case_id, "route", to_org="K-EDU").status_code == 200
    assert CaseEvent.objects.filter(case_id=case_id, verb="overdue").count() == 1
    assert SupervisionRecord.objects.filter(case_id=case_id).count() == 1


# --- real concurrency: PostgreSQL only (SQLite serialises whole write transactions) -------------

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrency tests need PostgreSQL: set PETITIONDESK_TEST_DATABASE_URL (make test does)",
)


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@contextlib.contextmanager
def case_held(case_id: int) -> Iterator[None]:
    """Another transaction (a verb, say) holds the case's row lock while the block runs."""
    locked, release = threading.Event(), threading.Event()

    def verb_holding_the_case() -> None:
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(pk=case_id)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=verb_holding_the_case)
    holder.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        holder.join(10)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_acceptances_one_wins_the_other_gets_409(api_as, clerk_alice, handler_bob):
    bob = api_as(handler_bob)
    for _ in range(5):
        case_id = registered_case(api_as, clerk_alice, received_on="2026-11-20")
        assert api_as(clerk_alice).act(case_id, "route", to_org="K-EDU").status_code == 200
        results = run_together(
            lambda cid=case_id: bob.act(cid, "accept", claim_route=6).status_code,
            lambda cid=case_id: bob.act(cid, "accept", claim_route=6).status_code,
        )
        assert sorted(results) == [200, 409]
        assert CaseEvent.objects.filter(case_id=case_id, verb="accept").count() == 1
        assert Deadline.objects.filter(case_id=case_id, rule="handling").count() == 1


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_extensions_cannot_exceed_thirty_days_together(
    api_as, clerk_alice, handler_bob, head_erin
):
    """Without the row lock both 20-day extensions would pass their check: a lost update."""
    bob = api_as(handler_bob)
    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-20")
    assert api_as(clerk_alice).act(case_id, "route", to_org="K-EDU").status_code == 200
    assert bob.act(case_id, "accept", claim_route=6).status_code == 200
    body = {
        "days": 20,
        "reason": "需补充调查",
        "approved_by": "erin",
        "petitioner_notified_on": "2026-11-27",
    }
    results = run_together(
        lambda: bob.act(case_id, "extend", **body), lambda: bob.act(case_id, "extend", **body)
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 422]
    assert Case.objects.get(pk=case_id).extension_days == 20
    assert Deadline.objects.get(case_id=case_id, rule="handling").extension_days == 20


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_record_each_breach_exactly_once(api_as, clerk_alice):
    ids = [registered_case(api_as, clerk_alice, received_on="2026-09-01") for _ in range(30)]
    claimed = run_together(deadlines_sweep, deadlines_sweep)
    assert sum(claimed) == 30
    assert CaseEvent.objects.filter(case_id__in=ids, verb="overdue").count() == 30
    assert SupervisionRecord.objects.filter(case_id__in=ids).count() == 30


@pytest.mark.django_db
def test_doing_the_late_step_clears_the_overdue_mark(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-28")
    deadlines_sweep()
    assert Case.objects.get(pk=case_id).is_overdue
    r = api_as(clerk_alice).act(case_id, "route", to_org="K-EDU")
    assert r.status_code == 200
    assert r.json()["is_overdue"] is False
    assert Deadline.objects.get(case_id=case_id, rule="routing").state == "missed"
