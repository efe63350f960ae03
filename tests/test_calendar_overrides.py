"""Overriding a single day recomputes the open deadlines it moves, and logs each change."""

import datetime as dt

import pytest

from petitiondesk.accounts.services import user_add
from petitiondesk.calendar.services import calendar_override_delete, calendar_override_set
from petitiondesk.cases.models import CaseEvent, Deadline
from tests.conftest import letter, login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing_due_monday(api_as, clerk_alice) -> int:
    # Received Friday 2026-11-27: +15 = Saturday 12-12, rolled to Monday 12-14.
    r = api_as(clerk_alice).post("/petitions", letter(received_on="2026-11-27"))
    assert r.json()["deadlines"][0]["due_on"] == "2026-12-14"
    return r.json()["id"]


def test_a_local_rest_day_on_the_due_date_moves_it_to_the_next_working_day(routing_due_monday):
    changed = calendar_override_set(day=dt.date(2026, 12, 14), is_workday=False, reason="地方假日")
    assert changed == 1
    deadline = Deadline.objects.get(case_id=routing_due_monday, rule="routing")
    assert deadline.due_on == dt.date(2026, 12, 15)
    assert "+overrides-" in deadline.calendar_version
    [event] = CaseEvent.objects.filter(case_id=routing_due_monday, verb="deadline_recomputed")
    assert (event.payload["due_on_before"], event.payload["due_on"]) == ("2026-12-14", "2026-12-15")


def test_removing_the_override_brings_the_due_date_back(routing_due_monday):
    calendar_override_set(day=dt.date(2026, 12, 14), is_workday=False, reason="地方假日")
    assert calendar_override_delete(day=dt.date(2026, 12, 14)) == 1
    deadline = Deadline.objects.get(case_id=routing_due_monday, rule="routing")
    assert deadline.due_on == dt.date(2026, 12, 14)


def test_an_override_outside_a_clock_leaves_it_alone(routing_due_monday):
    assert calendar_override_set(day=dt.date(2026, 12, 20), is_workday=False, reason="x") == 0
    assert not CaseEvent.objects.filter(verb="deadline_recomputed").exists()


def test_the_admin_recomputes_when_an_override_is_saved(client, org_tree, routing_due_monday):
    admin = user_add(username="root", org_code="P", role="admin")
    login_verified(client, admin)
    r = client.post(
        "/admin/workcalendar/calendaroverride/add/",
        {"day": "2026-12-14", "is_workday": "", "reason": "地方假日"},
    )
    assert r.status_code == 302, r.content[:500]
    deadline = Deadline.objects.get(case_id=routing_due_monday, rule="routing")
    assert deadline.due_on == dt.date(2026, 12, 15)


def test_an_override_reason_over_the_limit_is_refused_not_cut():
    from petitiondesk.calendar.models import CalendarOverride
    from petitiondesk.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        calendar_override_set(day=dt.date(2026, 12, 14), is_workday=False, reason="假" * 201)
    assert refused.value.code == "too_long"
    assert not CalendarOverride.objects.exists()
