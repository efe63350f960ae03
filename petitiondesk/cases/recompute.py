"""Recomputing open deadlines when the calendar changes: a year's official schedule arrives
(domain.md §5) or an administrator overrides a day."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from petitiondesk.calendar.engine import WorkCalendar
from petitiondesk.core import clock

from . import deadlines as dl
from .models import CaseEvent, Deadline


def deadlines_recompute_provisional(*, calendar: WorkCalendar, reason: str) -> int:
    """Recompute every open provisional deadline. Must run inside `transaction.atomic()`."""
    return deadlines_recompute(where=Q(provisional=True), calendar=calendar, reason=reason)


def deadlines_recompute_around(*, day: dt.date, calendar: WorkCalendar, reason: str) -> int:
    """Recompute the open deadlines a change of `day` can move: those running over it (the day
    counts as a working day or not) or due on it (it may roll). Inside `transaction.atomic()`."""
    return deadlines_recompute(
        where=Q(start_on__lt=day, due_on__gte=day), calendar=calendar, reason=reason
    )


def deadlines_recompute(*, where: Q, calendar: WorkCalendar, reason: str) -> int:
    """Recompute the open deadlines matching `where` on `calendar`; log a case event for each
    change. Returns how many changed."""
    changed = 0
    rows = list(Deadline.objects.select_for_update().filter(where, state=Deadline.State.OPEN))
    events = []
    for row in rows:
        before_due, before_version = row.due_on, row.calendar_version
        if (
            not dl.apply_due(row, dl.recompute(row, calendar))
            and before_version == row.calendar_version
        ):
            continue
        changed += 1
        events.append(
            CaseEvent(
                case_id=row.case_id,
                verb="deadline_recomputed",
                effective_on=clock.today(),
                payload={
                    "rule": row.rule,
                    "reason": reason,
                    "due_on_before": before_due.isoformat(),
                    "due_on": row.due_on.isoformat(),
                    "provisional": row.provisional,
                    "calendar_version": row.calendar_version,
                },
            )
        )
    Deadline.objects.bulk_update(rows, ["due_on", "calendar_version", "provisional"])
    CaseEvent.objects.bulk_create(events)
    return changed
