"""Keeping a case's stored deadlines current: open, close, void and recompute.

The one place that turns profile clocks into `Deadline` rows (via the pure engine). Functions take the
case's loaded deadlines where they can, so a verb costs one query for them.
Must run inside the caller's `transaction.atomic()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from petitiondesk.calendar.engine import ClockSpec, Due, Method, WorkCalendar, compute_due
from petitiondesk.calendar.profiles import Profile, get_profile
from petitiondesk.calendar.sources import current_calendar

from .models import Case, Deadline

# Petitioner windows: missing them is not an organ's fault and never makes a case overdue.
WINDOW_RULES = frozenset({"review_request", "rereview_request", "rating", "objection"})


def new_deadline(
    case: Case,
    rule: str,
    start: dt.date,
    *,
    profile: Profile | None = None,
    spec: ClockSpec | None = None,
    statutory: bool = True,
    org_id: int | None = None,
    calendar: WorkCalendar | None = None,
) -> Deadline:
    """An unsaved deadline of `rule` for `case`, started on `start`."""
    profile = profile or get_profile(case.profile)
    spec = spec or profile.clock(rule)
    due = compute_due(start=start, spec=spec, calendar=calendar or current_calendar())
    return Deadline(
        case=case,
        rule=rule,
        org_id=org_id if org_id is not None else case.org_id,
        start_on=start,
        days=spec.days,
        due_on=due.due_on,
        method=due.method,
        calendar_version=due.calendar_version,
        provisional=due.provisional,
        statutory=statutory,
        duty=rule not in WINDOW_RULES,
    )


def recompute(deadline: Deadline, calendar: WorkCalendar | None = None) -> Due:
    """The due date of a stored deadline with its extension and hearing days, on today's calendar."""
    return compute_due(
        start=deadline.start_on,
        spec=ClockSpec(days=deadline.days, method=Method(deadline.method)),
        calendar=calendar or current_calendar(),
        extension_days=deadline.extension_days,
        hearing_days=deadline.hearing_days,
    )


def apply_due(deadline: Deadline, due: Due) -> bool:
    """Store a recomputed due date; True when the date or the provisional flag changed."""
    changed = deadline.due_on != due.due_on or deadline.provisional != due.provisional
    deadline.due_on = due.due_on
    deadline.calendar_version = due.calendar_version
    deadline.provisional = due.provisional
    return changed


def open_of(deadlines: Iterable[Deadline], *rules: str) -> list[Deadline]:
    return [d for d in deadlines if d.state == Deadline.State.OPEN and d.rule in rules]


def owed(deadlines: Iterable[Deadline], *rules: str) -> list[Deadline]:
    """Clocks of `rules` whose step is still to be done: open, or missed and not yet done."""
    return [
        d
        for d in deadlines
        if d.rule in rules
        and (
            d.state == Deadline.State.OPEN
            or (d.state == Deadline.State.MISSED and d.done_on is None)
        )
    ]


def settle(deadline: Deadline, done_on: dt.date) -> None:
    """Mark a step done: met when on time, missed when late (a sweep may have marked it already)."""
    deadline.done_on = done_on
    if deadline.state == Deadline.State.OPEN:
        deadline.state = Deadline.State.MET if done_on <= deadline.due_on else Deadline.State.MISSED


def void(deadline: Deadline, on: dt.date) -> None:
    """The clock no longer applies. A clock already missed stays missed but stops being owed."""
    if deadline.state == Deadline.State.OPEN:
        deadline.state = Deadline.State.VOID
    elif deadline.state == Deadline.State.MISSED and deadline.done_on is None:
        deadline.done_on = on


def outstanding_breach(deadlines: Iterable[Deadline]) -> bool:
    """True while an organ still owes a step whose clock has run out: the case is overdue."""
    return any(d.duty and d.state == Deadline.State.MISSED and d.done_on is None for d in deadlines)
