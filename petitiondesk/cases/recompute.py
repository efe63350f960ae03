"""Recomputing open provisional deadlines when the official calendar arrives (domain.md §5)."""

from __future__ import annotations

from petitiondesk.calendar.engine import WorkCalendar
from petitiondesk.core import clock

from . import deadlines as dl
from .models import CaseEvent, Deadline


def deadlines_recompute_provisional(*, calendar: WorkCalendar, reason: str) -> int:
    """Recompute every open provisional deadline on `calendar`; log a case event for each change.

    Must run inside `transaction.atomic()`.
    """
    changed = 0
    rows = list(
        Deadline.objects.select_for_update().filter(state=Deadline.State.OPEN, provisional=True)
    )
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
