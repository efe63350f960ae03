"""The overdue sweep (domain.md §4 "Overdue", Art. 40, 45)."""

from __future__ import annotations

import datetime as dt
import logging

from petitiondesk.cases.models import Case, CaseEvent, Deadline
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction

from .models import SupervisionRecord

log = logging.getLogger("petitiondesk.sweep")
BATCH = 500


def breach_record(
    *, case_id: int, deadline_id: int, rule: str, due_on: dt.date, org_id: int | None
) -> None:
    """Record that a duty clock ran out with its step undone: an `overdue` event dated the day
    after the due date, and a supervision record for the organ that owed the step (Art. 40, 45).
    Must run inside the transaction that marked the clock missed."""
    CaseEvent.objects.create(
        case_id=case_id,
        verb="overdue",
        effective_on=due_on + dt.timedelta(days=1),
        payload={"rule": rule, "due_on": due_on.isoformat(), "deadline_id": deadline_id},
    )
    if org_id is not None:
        SupervisionRecord.objects.create(
            case_id=case_id,
            deadline_id=deadline_id,
            org_id=org_id,
            reason=SupervisionRecord.Reason.OVERDUE,
        )


def deadlines_sweep(*, today: dt.date | None = None) -> int:
    """Mark every open clock whose due date has passed; returns how many this call claimed.

    A step is on time until the end of its due date in the deployment's zone, so only clocks due
    before today are missed. Each breach is claimed with a conditional UPDATE (state still open), so
    two workers sweeping at once record it exactly once.
    """
    today = today or clock.today()
    claimed = 0
    while True:
        candidates = list(
            Deadline.objects.filter(state=Deadline.State.OPEN, due_on__lt=today)
            .order_by("due_on", "id")
            .values_list("id", "case_id", "rule", "due_on", "duty", "org_id")[:BATCH]
        )
        if not candidates:
            break
        for deadline_id, case_id, rule, due_on, duty, org_id in candidates:
            with write_transaction():
                # Lock the case first, as every verb does, so a sweep and a verb never deadlock.
                Case.objects.select_for_update().filter(pk=case_id).first()
                won = Deadline.objects.filter(pk=deadline_id, state=Deadline.State.OPEN).update(
                    state=Deadline.State.MISSED
                )
                if not won:
                    continue
                claimed += 1
                if not duty:
                    continue  # a petitioner's window lapsing is nobody's delay
                Case.objects.filter(pk=case_id).update(is_overdue=True)
                breach_record(
                    case_id=case_id,
                    deadline_id=deadline_id,
                    rule=rule,
                    due_on=due_on,
                    org_id=org_id,
                )
        if len(candidates) < BATCH:
            break
    if claimed:
        log.info("overdue sweep claimed %d clock(s)", claimed)
    return claimed
