"""Supervision (domain.md §4 "Overdue", Art. 5, 18, 38–41, 45; docs/supervision.md).

The escalation ladder, one step a day at most, each fired once even with several workers:

1. `reminders_sweep`: a reminder N calendar days before a duty clock's due date (profile
   `supervision_remind_days`); claimed by the unique `Reminder` row of the clock.
2. `deadlines_sweep` → `breach_record`: the day after a duty clock's due date the clock is marked
   missed (conditional UPDATE) and a supervision notice (督办单) goes to the organ that owed the step,
   with an answer date (profile `supervision_answer_days`).
3. `listing_sweep`: a notice still unanswered the day after its answer date is escalated to listed
   supervision (挂牌督办), claimed by a conditional UPDATE of `listed_on`.

`backlog_sweep` flags backlog cases (积案) by the profile's thresholds. Every step writes a
`CaseEvent` and a `Notification` per recipient in its transaction; e-mails go out after commit
through the `send_notification_email` task.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Count, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import org_ancestor_ids, org_subtree_ids
from petitiondesk.analytics.models import RollupState
from petitiondesk.calendar.engine import ClockSpec, Method, compute_due
from petitiondesk.calendar.profiles import available_profiles, get_profile
from petitiondesk.calendar.sources import current_calendar
from petitiondesk.cases.models import TEXT_FIELD_MAX, Case, CaseEvent, CaseLink, Deadline
from petitiondesk.cases.selectors import visible_cases
from petitiondesk.cases.transitions import OPEN_STATUSES
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from petitiondesk.core.text import clean_text

from .models import BacklogCase, BacklogProgress, Notification, Reminder, SupervisionRecord

log = logging.getLogger("petitiondesk.sweep")
BATCH = 500
# Clocks the overdue sweep claims a statement (and records in one transaction).
CLAIM_BATCH = 1000
R = User.Role
# Who issues a supervision notice by hand (as the notices app: Art. 40): a supervisor, or a
# petition department's clerk or head.
ISSUING_ROLES = frozenset({R.SUPERVISOR, R.CLERK, R.HEAD})
# Who answers for the addressed organ.
ANSWERING_ROLES = frozenset({R.CLERK, R.HANDLER, R.HEAD})
# Who flags a backlog case by hand, names its leader and resolves it.
BACKLOG_MANAGERS = frozenset({R.SUPERVISOR, R.HEAD, R.CLERK})
# Who may own a backlog case (包案领导): a leader.
LEADER_ROLES = frozenset({R.HEAD, R.SUPERVISOR})
LINK_REPEATS = (CaseLink.Relation.DUPLICATE, CaseLink.Relation.SAME_MATTER)
K = Notification.Kind


# --- shared helpers ---------------------------------------------------------------------------


def _event_row(
    case: Case,
    verb: str,
    *,
    actor: User | None = None,
    effective_on: dt.date,
    payload: dict[str, Any],
) -> CaseEvent:
    """A supervision step in the case timeline (not a step of the procedure: the status stays),
    unsaved."""
    return CaseEvent(
        case_id=case.pk,
        verb=verb,
        actor=actor,
        actor_org_id=actor.org_id if actor else None,
        effective_on=effective_on,
        from_status=case.status,
        to_status=case.status,
        payload=payload,
    )


def _event(
    case: Case,
    verb: str,
    *,
    actor: User | None = None,
    effective_on: dt.date,
    payload: dict[str, Any],
) -> CaseEvent:
    """`_event_row`, saved."""
    event = _event_row(case, verb, actor=actor, effective_on=effective_on, payload=payload)
    event.save()
    return event


def _staff(org_ids: Iterable[int | None], roles: Iterable[str]) -> list[User]:
    ids = [i for i in org_ids if i is not None]
    if not ids:
        return []
    return list(User.objects.filter(org_id__in=ids, role__in=list(roles), is_active=True))


@dataclass
class Note:
    """One step's notifications: `kind` about `event` to each of `users` who may read the case."""

    kind: str
    event: CaseEvent
    users: Iterable[User | None]
    text: str
    record: SupervisionRecord | None = None
    backlog: BacklogCase | None = None


def _notify(
    *,
    kind: str,
    event: CaseEvent,
    users: Iterable[User | None],
    text: str,
    record: SupervisionRecord | None = None,
    backlog: BacklogCase | None = None,
) -> list[Notification]:
    """A notification for each of `users` who may read the case (once each), and their e-mails
    queued for after the commit. Must run inside the step's transaction."""
    return _notify_many([Note(kind, event, users, text, record, backlog)])


def _notify_many(notes: Sequence[Note]) -> list[Notification]:
    """`_notify` for the steps of a batch: one visibility query per recipient (not per recipient
    and case), one insert and one after-commit callback for all."""
    wanted: list[tuple[Note, list[User]]] = []
    case_ids_of: dict[int, set[int]] = defaultdict(set)
    people: dict[int, User] = {}
    for note in notes:
        seen: set[int] = set()
        candidates = []
        for user in note.users:
            if user is not None and user.pk not in seen:
                seen.add(user.pk)
                candidates.append(user)
                case_ids_of[user.pk].add(note.event.case_id)
                people.setdefault(user.pk, user)
        wanted.append((note, candidates))
    readable = {  # only those who may see the case
        (user_id, case_id)
        for user_id, case_ids in case_ids_of.items()
        for case_id in visible_cases(people[user_id])
        .filter(pk__in=sorted(case_ids))
        .values_list("pk", flat=True)
    }
    rows = [
        Notification(
            recipient=u,
            kind=note.kind,
            case_id=note.event.case_id,
            event=note.event,
            record=note.record,
            backlog=note.backlog,
            text=note.text[:500],
        )
        for note, candidates in wanted
        for u in candidates
        if (u.pk, note.event.case_id) in readable
    ]
    Notification.objects.bulk_create(rows)
    to_mail = [n.pk for n in rows if n.recipient.email]
    if to_mail:
        transaction.on_commit(lambda: _enqueue_emails(to_mail))
    return rows


def _enqueue_emails(notification_ids: list[int]) -> None:
    from .tasks import send_notification_email

    for notification_id in notification_ids:
        send_notification_email.enqueue(notification_id)


def answer_date(*, issued_on: dt.date, profile_name: str) -> dt.date:
    """A supervision notice's answer date: the profile's days from issue, rolled forward to a
    working day like the statutory clocks (domain.md "Clocks")."""
    days = get_profile(profile_name).supervision_answer_days
    spec = ClockSpec(days=days, method=Method.CALENDAR_ROLLFORWARD)
    return compute_due(start=issued_on, spec=spec, calendar=current_calendar()).due_on


def _auto_issuer(case: Case, owing_org_id: int) -> int | None:
    """Who supervises a missed clock: the petition department that registered or routed the case,
    unless it owed the step itself; then the owing organ's superior (an organ never supervises
    itself)."""
    for org_id in (case.routed_by_org_id, case.registered_by_org_id):
        if org_id is not None and org_id != owing_org_id:
            return org_id
    ancestors = org_ancestor_ids(owing_org_id)
    return ancestors[0] if ancestors else None


def _owing_recipients(case: Case, org_id: int, *roles: str) -> list[User]:
    """The handler of the case when it works in the owing organ, and the owing organ's staff of
    `roles`."""
    return _owing_recipients_many([(case, org_id)], *roles)[0]


def _owing_recipients_many(pairs: Sequence[tuple[Case, int]], *roles: str) -> list[list[User]]:
    """`_owing_recipients` for each (case, organ) of a batch: a query for the organs' staff, one
    for the handlers."""
    staff = _staff({org_id for _case, org_id in pairs}, roles)
    handlers = User.objects.in_bulk(
        {c.assignee_id for c, org_id in pairs if c.assignee_id is not None and c.org_id == org_id}
    )
    out = []
    for case, org_id in pairs:
        people = [u for u in staff if u.org_id == org_id]
        if case.assignee_id is not None and case.org_id == org_id:
            people.insert(0, handlers[case.assignee_id])
        out.append(people)
    return out


def _answerable(case: Case, org_id: int) -> list[User]:
    """Who answers for the organ: its heads and the case's handler there; staff of the organ
    when it has no head."""
    return _answerable_many([(case, org_id)])[0]


def _answerable_many(pairs: Sequence[tuple[Case, int]]) -> list[list[User]]:
    """`_answerable` for each (case, organ) of a batch, in a few queries for the whole batch."""
    answering = _owing_recipients_many(pairs, R.HEAD)
    headless = {org_id for (_c, org_id), people in zip(pairs, answering, strict=True) if not people}
    staff = _staff(headless, [R.HANDLER, R.CLERK])
    return [
        people or [u for u in staff if u.org_id == org_id]
        for (_case, org_id), people in zip(pairs, answering, strict=True)
    ]


def _supervisors_above(org_id: int) -> list[User]:
    """Supervisors whose jurisdiction covers the organ: those of the organ or a superior."""
    return _staff([org_id, *org_ancestor_ids(org_id)], [R.SUPERVISOR])


def _lock_cases(case_ids: Iterable[int]) -> dict[int, Case]:
    """Lock the cases no other transaction holds and return them by id; a case held by a verb or
    a racing sweep is left to it or to the next run. SKIP LOCKED never waits for a case, so a
    batch that takes its cases this way first never waits behind a verb (which locks the case
    first) and cannot deadlock with one. Must run inside `write_transaction()`."""
    locked = Case.objects.select_for_update(skip_locked=True).filter(pk__in=sorted(case_ids))
    return {case.pk: case for case in locked.order_by("pk")}


def _locked_and_fresh(
    candidates: Sequence[tuple[int, int]], still_due: QuerySet[Any]
) -> tuple[dict[int, Case], list[Any]]:
    """Lock the cases of the (row id, case id) candidates that no other transaction holds, then
    read their rows again under those locks through `still_due` (the sweep's condition): the
    cases by id, and the rows still due in the candidates' order. Inside `write_transaction()`."""
    cases = _lock_cases({case_id for _row_id, case_id in candidates})
    fresh = still_due.filter(pk__in=[r for r, case_id in candidates if case_id in cases]).in_bulk()
    return cases, [fresh[r] for r, _case_id in candidates if r in fresh]


# --- the ladder: reminder ---------------------------------------------------------------------


def reminders_sweep(*, today: dt.date | None = None) -> int:
    """Remind the owing organ of each open duty clock due within the profile's reminder days
    (counted in calendar days: a clock due on 10-08 is reminded from 10-05, holiday or not);
    returns how many reminders this call sent. A clock already reminded is skipped; the unique
    reminder row, written under the case's lock, makes two workers send it once. One
    transaction for the batch, a few statements for all its reminders."""
    today = today or clock.today()
    horizon = max(get_profile(p).supervision_remind_days for p in available_profiles())
    candidates = list(
        Deadline.objects.filter(
            state=Deadline.State.OPEN,
            duty=True,
            org__isnull=False,
            due_on__gte=today,
            due_on__lte=today + dt.timedelta(days=horizon),
            reminder__isnull=True,
        )
        .order_by("due_on", "id")
        .values_list("id", "case_id", "case__profile", "due_on")[:BATCH]
    )
    due = [
        (deadline_id, case_id)
        for deadline_id, case_id, profile_name, due_on in candidates
        if due_on - dt.timedelta(days=get_profile(profile_name).supervision_remind_days) <= today
    ]
    if not due:
        return 0
    with write_transaction():
        # Read again under the cases' locks: done, or reminded by another worker meanwhile.
        cases, deadlines = _locked_and_fresh(
            due,
            Deadline.objects.filter(
                state=Deadline.State.OPEN, org__isnull=False, reminder__isnull=True
            ),
        )
        owed = [(cases[d.case_id], d.org_id) for d in deadlines if d.org_id is not None]
        Reminder.objects.bulk_create(
            Reminder(deadline=d, case=cases[d.case_id], sent_on=today) for d in deadlines
        )
        events = CaseEvent.objects.bulk_create(
            _event_row(
                cases[d.case_id],
                "remind",
                effective_on=today,
                payload={"deadline_id": d.pk, "rule": d.rule, "due_on": str(d.due_on)},
            )
            for d in deadlines
        )
        owing = _owing_recipients_many(owed, R.HEAD, R.HANDLER, R.CLERK)
        # Details are worded when shown (notification_detail).
        _notify_many(
            [
                Note(K.REMIND, event, users, d.due_on.isoformat())
                for d, event, users in zip(deadlines, events, owing, strict=True)
            ]
        )
    sent = len(deadlines)
    if sent:
        log.info("supervision: %d reminder(s)", sent)
    return sent


# --- the ladder: supervision notice -----------------------------------------------------------


class Breach(NamedTuple):
    """A duty clock that ran out with its step undone."""

    deadline_id: int
    case_id: int
    rule: str
    due_on: dt.date
    org_id: int | None


def breach_record(
    *, case_id: int, deadline_id: int, rule: str, due_on: dt.date, org_id: int | None
) -> None:
    """Record that a duty clock ran out with its step undone: an `overdue` event dated the day
    after the due date, and a supervision notice (督办单) to the organ that owed the step, issued
    today with its answer date, written as a `supervise` event and sent to the organ's head and the
    case's handler (Art. 40, 45). Must run inside the transaction that marked the clock missed."""
    breaches_record([Breach(deadline_id, case_id, rule, due_on, org_id)])


def breaches_record(breaches: Sequence[Breach]) -> None:
    """`breach_record` for a batch of clocks, with a few statements for the whole batch instead
    of several a clock. Must run inside the transaction that marked the clocks missed."""
    CaseEvent.objects.bulk_create(
        CaseEvent(
            case_id=b.case_id,
            verb="overdue",
            effective_on=b.due_on + dt.timedelta(days=1),
            payload={"rule": b.rule, "due_on": b.due_on.isoformat(), "deadline_id": b.deadline_id},
        )
        for b in breaches
    )
    owed = [b for b in breaches if b.org_id is not None]
    if not owed:
        return
    cases = Case.objects.in_bulk({b.case_id for b in owed})
    today = clock.today()
    answer_by: dict[str, dt.date] = {}
    records = []
    for b in owed:
        assert b.org_id is not None
        case = cases[b.case_id]
        if case.profile not in answer_by:
            answer_by[case.profile] = answer_date(issued_on=today, profile_name=case.profile)
        records.append(
            SupervisionRecord(
                case_id=b.case_id,
                deadline_id=b.deadline_id,
                org_id=b.org_id,
                reason=SupervisionRecord.Reason.OVERDUE,
                issuer_org_id=_auto_issuer(case, b.org_id),
                issued_on=today,
                answer_by=answer_by[case.profile],
            )
        )
    SupervisionRecord.objects.bulk_create(records)
    _issued_many([(cases[r.case_id], r) for r in records], actor=None)


def _issued(case: Case, record: SupervisionRecord, *, actor: User | None) -> None:
    _issued_many([(case, record)], actor=actor)


def _issued_many(issued: Sequence[tuple[Case, SupervisionRecord]], *, actor: User | None) -> None:
    """The `supervise` event of each issued notice and its notifications to the answering organ."""
    events = CaseEvent.objects.bulk_create(
        _event_row(
            case,
            "supervise",
            actor=actor,
            effective_on=record.issued_on or clock.today(),
            payload={
                "record_id": record.pk,
                "reason": record.reason,
                "to_org_id": record.org_id,
                "answer_by": str(record.answer_by),
                "by_hand": actor is not None,
            },
        )
        for case, record in issued
    )
    answering = _answerable_many([(case, record.org_id) for case, record in issued])
    _notify_many(
        [
            Note(K.SUPERVISE, event, users, str(record.answer_by), record=record)
            for event, users, (_case, record) in zip(events, answering, issued, strict=True)
        ]
    )


def _claim_missed(*, today: dt.date, limit: int) -> list[tuple[bool, Breach]]:
    """Mark up to `limit` open clocks due before `today` missed; returns (duty, clock) of those
    this call marked (a clock another worker marked first is not among them), by due date and
    id. Must run inside `write_transaction()`."""
    if connection.vendor == "postgresql":
        # Claimed with their cases' row locks, the case row first as every verb takes it before
        # reading and rewriting the case's clocks (OF lists the lock order). SKIP LOCKED passes
        # over a case another transaction holds (a verb settles its own clocks, a racing sweep
        # claims them; the rest are the next run's), so this statement never waits on a lock,
        # and a transaction that never waits cannot be part of a deadlock.
        # `= ANY(ARRAY(…))` keeps the UPDATE on primary-key lookups: with a join, the planner,
        # which expects a good part of the open clocks to be past due, scans all of them.
        qn = connection.ops.quote_name
        deadline, case = qn(Deadline._meta.db_table), qn(Case._meta.db_table)
        sql = f"""
            UPDATE {deadline} AS d SET state = %(missed)s
            WHERE d.state = %(open)s AND d.id = ANY(ARRAY(
                SELECT o.id FROM {deadline} AS o JOIN {case} AS c ON c.id = o.case_id
                WHERE o.state = %(open)s AND o.due_on < %(today)s
                ORDER BY o.due_on, o.id
                LIMIT %(limit)s
                FOR UPDATE OF c, o SKIP LOCKED
            ))
            RETURNING d.duty, d.id, d.case_id, d.rule, d.due_on, d.org_id
        """
        params: dict[str, str | int | dt.date] = {
            "missed": Deadline.State.MISSED.value,
            "open": Deadline.State.OPEN.value,
            "today": today,
            "limit": limit,
        }
        with connection.cursor() as cur:
            cur.execute(sql, params)
            rows = [(duty, Breach(d, c, rule, due, org)) for duty, d, c, rule, due, org in cur]
        return sorted(rows, key=lambda row: (row[1].due_on, row[1].deadline_id))
    # SQLite: one writer at a time, so nobody changes these clocks between the read and the
    # conditional UPDATE.
    open_past_due = Deadline.objects.filter(state=Deadline.State.OPEN, due_on__lt=today)
    rows = [
        (duty, Breach(d, c, rule, due, org))
        for duty, d, c, rule, due, org in open_past_due.order_by("due_on", "id").values_list(
            "duty", "id", "case_id", "rule", "due_on", "org_id"
        )[:limit]
    ]
    Deadline.objects.filter(
        pk__in=[b.deadline_id for _duty, b in rows], state=Deadline.State.OPEN
    ).update(state=Deadline.State.MISSED)
    return rows


def deadlines_sweep(*, today: dt.date | None = None) -> int:
    """Mark every open clock whose due date has passed; returns how many this call claimed.

    A step is on time until the end of its due date in the deployment's zone, so only clocks due
    before today are missed. The clocks are claimed in batches, a statement each, with a
    conditional UPDATE (state still open) that returns what it changed, so two workers sweeping
    at once record each breach exactly once. Windows and duty clocks are claimed together, so
    a case's clocks are never split between the passes of two racing workers. A petitioner's
    window lapsing is nobody's delay: it is only marked. A duty clock marks its case overdue and
    is recorded (`breaches_record`) in the transaction that claimed it.
    """
    today = today or clock.today()
    claimed = 0
    while True:
        with write_transaction():
            batch = _claim_missed(today=today, limit=CLAIM_BATCH)
            breaches = [b for duty, b in batch if duty]
            if breaches:
                # A case already overdue needs no new row version.
                overdue = Case.objects.filter(
                    pk__in={b.case_id for b in breaches}, is_overdue=False
                )
                overdue.update(is_overdue=True)
                breaches_record(breaches)
        claimed += len(batch)
        # Fewer than asked: none left, or the rest are of cases other transactions hold: a
        # racing sweep claims them (its batch holds all of a case's clocks, or it goes on), a
        # verb settles them or leaves them to the next run.
        if len(batch) < CLAIM_BATCH:
            break
    if claimed:
        log.info("overdue sweep claimed %d clock(s)", claimed)
    return claimed


# --- the ladder: listed supervision -----------------------------------------------------------


def listing_sweep(*, today: dt.date | None = None) -> int:
    """Escalate every open supervision notice whose answer date has passed to listed supervision
    (挂牌督办), once (`listed_on` set under the case's lock); returns how many this call listed.
    One transaction for the batch, a few statements for all its notices."""
    today = today or clock.today()
    candidates = list(
        SupervisionRecord.objects.filter(
            state=SupervisionRecord.State.OPEN, listed_on__isnull=True, answer_by__lt=today
        )
        .order_by("answer_by", "id")
        .values_list("id", "case_id")[:BATCH]
    )
    if not candidates:
        return 0
    with write_transaction():
        # Read again under the cases' locks: answered, or listed by another worker meanwhile.
        cases, records = _locked_and_fresh(
            candidates,
            SupervisionRecord.objects.filter(
                state=SupervisionRecord.State.OPEN, listed_on__isnull=True
            ),
        )
        SupervisionRecord.objects.filter(
            pk__in=[r.pk for r in records],
            state=SupervisionRecord.State.OPEN,
            listed_on__isnull=True,
        ).update(listed_on=today)
        events = CaseEvent.objects.bulk_create(
            _event_row(
                cases[r.case_id],
                "list_supervision",
                effective_on=today,
                payload={"record_id": r.pk, "answer_by": str(r.answer_by)},
            )
            for r in records
        )
        answering = _answerable_many([(cases[r.case_id], r.org_id) for r in records])
        # The supervisors of each organ and its superiors, and the issuers' staff, in one query.
        above = {r.org_id: [r.org_id, *org_ancestor_ids(r.org_id)] for r in records}
        issuers = {r.issuer_org_id for r in records if r.issuer_org_id is not None}
        staff = _staff(
            {*issuers, *(o for orgs in above.values() for o in orgs)},
            [R.SUPERVISOR, R.CLERK, R.HEAD],
        )
        notes = []
        for record, event, people in zip(records, events, answering, strict=True):
            supervisors = [
                u for u in staff if u.role == R.SUPERVISOR and u.org_id in above[record.org_id]
            ]
            issuer_staff = [u for u in staff if u.org_id == record.issuer_org_id]
            users = [*people, *supervisors, *issuer_staff]
            notes.append(Note(K.LIST, event, users, str(record.answer_by), record=record))
        _notify_many(notes)
    listed = len(records)
    if listed:
        log.info("supervision: %d notice(s) listed", listed)
    return listed


# --- supervision notices by hand, answers, closing ---------------------------------------------


def may_issue(case: Case, user: User) -> bool:
    """A supervisor, or a petition department's clerk or head, of another organisation than the
    case's holder (an organ does not supervise itself)."""
    if user.org_id is None or user.role not in ISSUING_ROLES or user.org_id == case.org_id:
        return False
    if user.role == R.SUPERVISOR:
        return True
    return user.org is not None and user.org.kind == Organisation.Kind.PETITION_DEPARTMENT


def may_answer(record: SupervisionRecord, user: User) -> bool:
    return user.role in ANSWERING_ROLES and user.org_id == record.org_id


def may_close(record: SupervisionRecord, user: User) -> bool:
    """The issuing body closes its notice; a supervisor whose jurisdiction covers the addressed
    organ may close any notice to it (automatic notices included)."""
    if user.org_id is None or user.org_id == record.org_id or user.role not in ISSUING_ROLES:
        return False
    if user.org_id == record.issuer_org_id:
        return True
    return user.role == R.SUPERVISOR and record.org_id in org_subtree_ids(user.org_id)


def _visible_case(user: User, case_id: int) -> None:
    if not visible_cases(user).filter(pk=case_id).exists():
        raise NotFound("not_found", _("no such case"))


def supervision_issue(
    *,
    case_id: int,
    actor: User,
    reason: str,
    recommendations: str,
    answer_by: dt.date,
    document: bool = False,
) -> SupervisionRecord:
    """Issue a supervision notice by hand to the case's holder, for a late or badly handled case,
    with improvement / accountability recommendations and a date to answer by. With `document`,
    the written notice is frozen through the notices app (it needs a missed clock)."""
    _visible_case(actor, case_id)
    if reason not in (SupervisionRecord.Reason.LATE, SupervisionRecord.Reason.POOR):
        raise InvalidInput(
            "invalid_input",
            _("reason must be late or poor"),
            fields={"reason": "one of late, poor"},
        )
    text = clean_text(recommendations, "recommendations", limit=TEXT_FIELD_MAX, required=True)
    today = clock.today()
    if answer_by < today:
        raise InvalidInput(
            "invalid_input", _("answer_by must not be in the past"), fields={"answer_by": "past"}
        )
    with write_transaction():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            raise NotFound("not_found", _("no such case"))
        if not may_issue(case, actor):
            raise PermissionDenied(
                "forbidden",
                _(
                    "a supervision notice is issued by a supervisor or a petition department, "
                    "never by the holding organ"
                ),
            )
        record = SupervisionRecord.objects.create(
            case=case,
            org_id=case.org_id,
            reason=reason,
            issuer_org_id=actor.org_id,
            issued_by=actor,
            issued_on=today,
            recommendations=text,
            answer_by=answer_by,
        )
        if document:
            from petitiondesk.notices.facts import StaffFields
            from petitiondesk.notices.services import notice_issue

            notice = notice_issue(
                case_id=case.pk,
                actor=actor,
                kind="supervision",
                fields=StaffFields(answer_by=answer_by, requirements=text),
            )
            record.notice = notice
            record.save(update_fields=["notice"])
        _issued(case, record, actor=actor)
    return record


def _locked_record(record_id: int) -> tuple[SupervisionRecord, Case]:
    """The record and its locked case. Must run inside a transaction."""
    case_id = SupervisionRecord.objects.filter(pk=record_id).values_list("case_id", flat=True)
    case = Case.objects.select_for_update().filter(pk__in=Subquery(case_id)).first()
    record = SupervisionRecord.objects.filter(pk=record_id).first()
    if record is None or case is None:
        raise NotFound("not_found", _("no such supervision notice"))
    return record, case


def supervision_answer(
    *, record_id: int, actor: User, text: str, answered_on: dt.date | None = None
) -> SupervisionRecord:
    """The addressed organ's written answer (text and date). Only an open notice is answered."""
    body = clean_text(text, "text", limit=TEXT_FIELD_MAX, required=True)
    today = clock.today()
    answered_on = answered_on or today
    if answered_on > today:
        raise InvalidInput(
            "invalid_input",
            _("answered_on must not be in the future"),
            fields={"answered_on": "future"},
        )
    with write_transaction():
        record, case = _locked_record(record_id)
        _visible_case(actor, case.pk)
        if not may_answer(record, actor):
            raise PermissionDenied(
                "forbidden", _("only the addressed organ answers a supervision notice")
            )
        if record.issued_on and answered_on < record.issued_on:
            raise InvalidInput(
                "invalid_input",
                _("the answer cannot predate the notice"),
                fields={"answered_on": "before the notice"},
            )
        won = SupervisionRecord.objects.filter(
            pk=record.pk, state=SupervisionRecord.State.OPEN
        ).update(
            state=SupervisionRecord.State.ANSWERED,
            answer_text=body,
            answered_on=answered_on,
            answered_by=actor,
        )
        if not won:
            raise Conflict("not_open", _("the supervision notice is not open"))
        record.refresh_from_db()
        event = _event(
            case,
            "supervision_answer",
            actor=actor,
            effective_on=answered_on,
            payload={"record_id": record.pk},
        )
        issuers = [record.issued_by] if record.issued_by else []
        _notify(
            kind=K.ANSWER,
            event=event,
            users=issuers or _staff([record.issuer_org_id], [R.CLERK, R.HEAD, R.SUPERVISOR]),
            text=body[:200],
            record=record,
        )
    return record


def supervision_close(*, record_id: int, actor: User) -> SupervisionRecord:
    """The issuer closes an answered notice."""
    with write_transaction():
        record, case = _locked_record(record_id)
        _visible_case(actor, case.pk)
        if not may_close(record, actor):
            raise PermissionDenied("forbidden", _("only the issuer closes a supervision notice"))
        today = clock.today()
        won = SupervisionRecord.objects.filter(
            pk=record.pk, state=SupervisionRecord.State.ANSWERED
        ).update(state=SupervisionRecord.State.CLOSED, closed_on=today, closed_by=actor)
        if not won:
            raise Conflict("not_answered", _("only an answered supervision notice is closed"))
        record.refresh_from_db()
        event = _event(
            case,
            "supervision_close",
            actor=actor,
            effective_on=today,
            payload={"record_id": record.pk},
        )
        _notify(
            kind=K.CLOSE,
            event=event,
            users=[record.answered_by, *_staff([record.org_id], [R.HEAD])],
            text="",
            record=record,
        )
    return record


# --- backlog cases (积案) ---------------------------------------------------------------------


REPEAT_MARK = "backlog_links"  # RollupState row: the last link the repeat check has read
REPEAT_LINKS_BATCH = 5000
# A link's id is taken at insert, so a transaction that commits late can land below the mark:
# every run reads the last ids before the mark again (as the near-duplicate index does).
LATE_LINK_MARGIN = 1000


def repeat_counts(
    *, after: int, limit: int = REPEAT_LINKS_BATCH
) -> tuple[dict[int, tuple[str, int]], int]:
    """Open, unflagged cases at either end of the first `limit` repeat links after link id
    `after`: case id → (profile, submissions on the matter: the case itself and its duplicate /
    same-matter links either way round), and the last link id read (`after` when none).

    A case's count only grows when a link is added, so only the cases of new links need
    counting: two grouped queries over those cases' links (indexed by either end), however many
    links and cases are stored."""
    new = list(
        CaseLink.objects.filter(relation__in=LINK_REPEATS, id__gt=after)
        .order_by("id")
        .values_list("id", "case_id", "other_id")[:limit]
    )
    if not new:
        return {}, after
    touched = sorted({case_id for _id, a, b in new for case_id in (a, b)})
    counts: dict[int, tuple[str, int]] = {}
    for end in ("case", "other"):
        rows = (
            CaseLink.objects.filter(
                relation__in=LINK_REPEATS,
                **{
                    f"{end}_id__in": touched,
                    f"{end}__status__in": OPEN_STATUSES,
                    f"{end}__backlog__isnull": True,
                },
            )
            .values_list(f"{end}_id", f"{end}__profile")
            .annotate(n=Count("id"))
        )
        for case_id, profile_name, n in rows:
            _profile, seen = counts.get(case_id, (profile_name, 1))
            counts[case_id] = (profile_name, seen + n)
    return counts, new[-1][0]


def _flag(
    case_id: int,
    *,
    reason: str,
    submissions: int,
    today: dt.date,
    actor: User | None,
) -> tuple[BacklogCase, bool]:
    """Flag the case as backlog unless it is already (idempotent). Returns (row, created)."""
    with write_transaction():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            raise NotFound("not_found", _("no such case"))
        existing = BacklogCase.objects.filter(case_id=case_id).first()
        if existing is not None:
            return existing, False
        backlog = BacklogCase.objects.create(
            case=case, reason=reason, flagged_on=today, flagged_by=actor, submissions=submissions
        )
        event = _event(
            case,
            "backlog_flag",
            actor=actor,
            effective_on=today,
            payload={"backlog_id": backlog.pk, "reason": reason, "submissions": submissions},
        )
        _notify(
            kind=K.BACKLOG,
            event=event,
            users=[*_staff([case.org_id], [R.HEAD]), *_supervisors_above(case.org_id)],
            text=reason,
            backlog=backlog,
        )
        return backlog, True


def _flag_many(flags: Sequence[tuple[int, str, int]], *, today: dt.date) -> tuple[int, set[int]]:
    """The sweep's `_flag` for a batch of (case id, reason, submissions), in one transaction
    with a few statements for all; returns how many it flagged and the cases it passed over
    because another transaction held them (left to the next run). A case already flagged is
    skipped."""
    if not flags:
        return 0, set()
    with write_transaction():
        cases = _lock_cases({case_id for case_id, _reason, _n in flags})
        passed_over = {case_id for case_id, _reason, _n in flags} - set(cases)
        flagged = set(
            BacklogCase.objects.filter(case_id__in=list(cases)).values_list("case_id", flat=True)
        )
        rows = []
        for case_id, reason, submissions in flags:
            if case_id in cases and case_id not in flagged:
                flagged.add(case_id)
                rows.append(
                    BacklogCase(
                        case=cases[case_id],
                        reason=reason,
                        flagged_on=today,
                        submissions=submissions,
                    )
                )
        BacklogCase.objects.bulk_create(rows)
        events = CaseEvent.objects.bulk_create(
            _event_row(
                cases[b.case_id],
                "backlog_flag",
                effective_on=today,
                payload={"backlog_id": b.pk, "reason": b.reason, "submissions": b.submissions},
            )
            for b in rows
        )
        # The heads of each holding organ and the supervisors of it and its superiors, in one query.
        above = {
            org_id: [org_id, *org_ancestor_ids(org_id)]
            for org_id in {cases[b.case_id].org_id for b in rows}
            if org_id is not None
        }
        staff = _staff({o for orgs in above.values() for o in orgs}, [R.HEAD, R.SUPERVISOR])
        notes = []
        for backlog, event in zip(rows, events, strict=True):
            org_id = cases[backlog.case_id].org_id
            heads = [u for u in staff if u.role == R.HEAD and u.org_id == org_id]
            supervisors = [
                u for u in staff if u.role == R.SUPERVISOR and u.org_id in above.get(org_id, ())
            ]
            notes.append(
                Note(K.BACKLOG, event, [*heads, *supervisors], backlog.reason, None, backlog)
            )
        _notify_many(notes)
    return len(rows), passed_over


def backlog_sweep(*, today: dt.date | None = None) -> int:
    """Flag open cases open for the profile's `backlog_open_days` since receipt (on that day:
    received 2026-08-29 and 90 days → flagged on 2026-11-27), or with `backlog_repeat_count`
    submissions on the same matter; returns how many this call flagged."""
    today = today or clock.today()
    flagged = 0
    for name in available_profiles():
        profile = get_profile(name)
        unflagged = Case.objects.filter(
            profile=name, status__in=OPEN_STATUSES, backlog__isnull=True
        )
        cutoff = today - dt.timedelta(days=profile.backlog_open_days)
        old = list(unflagged.filter(received_on__lte=cutoff).values_list("id", flat=True)[:BATCH])
        flagged += _flag_many(
            [(case_id, BacklogCase.Reason.OPEN_TOO_LONG, 1) for case_id in old], today=today
        )[0]
    mark = RollupState.named(REPEAT_MARK).last_event_id
    counts, last = repeat_counts(after=max(0, mark - LATE_LINK_MARGIN))
    repeated = [
        (case_id, BacklogCase.Reason.REPEATED, submissions)
        for case_id, (name, submissions) in sorted(counts.items())
        if submissions >= get_profile(name).backlog_repeat_count
    ]
    done, passed_over = _flag_many(repeated, today=today)
    flagged += done
    # The mark moves only when every case due a flag got it: one held by a verb is read again.
    if not passed_over and last > mark:
        RollupState.objects.filter(name=REPEAT_MARK, last_event_id__lt=last).update(
            last_event_id=last, ran_at=timezone.now()
        )
    if flagged:
        log.info("supervision: %d backlog case(s) flagged", flagged)
    return flagged


def backlog_flag(*, case_id: int, actor: User) -> tuple[BacklogCase, bool]:
    """Flag a case as backlog by hand (idempotent: an already flagged case is returned as is)."""
    _visible_case(actor, case_id)
    if actor.role not in BACKLOG_MANAGERS:
        raise PermissionDenied("forbidden", _("your role may not flag backlog cases"))
    return _flag(
        case_id,
        reason=BacklogCase.Reason.BY_HAND,
        submissions=1,
        today=clock.today(),
        actor=actor,
    )


def _locked_backlog(backlog_id: int, actor: User) -> tuple[BacklogCase, Case]:
    case_ids = BacklogCase.objects.filter(pk=backlog_id).values_list("case_id", flat=True)
    case = Case.objects.select_for_update().filter(pk__in=Subquery(case_ids)).first()
    backlog = BacklogCase.objects.filter(pk=backlog_id).first()
    if backlog is None or case is None:
        raise NotFound("not_found", _("no such backlog case"))
    _visible_case(actor, case.pk)
    return backlog, case


def may_manage(backlog: BacklogCase, user: User) -> bool:
    return user.pk == backlog.owner_id or user.role in BACKLOG_MANAGERS


def _check_manager(backlog: BacklogCase, user: User) -> None:
    if not may_manage(backlog, user):
        raise PermissionDenied(
            "forbidden",
            _("only its leader, a supervisor, a head or a clerk manages a backlog case"),
        )


def _check_open(backlog: BacklogCase) -> None:
    if backlog.state != BacklogCase.State.OPEN:
        raise Conflict("resolved", _("the backlog case is resolved"))


def backlog_assign(*, backlog_id: int, actor: User, owner: str) -> BacklogCase:
    """Name the leader who owns the case (包案领导): a head or supervisor who may read it."""
    with write_transaction():
        backlog, case = _locked_backlog(backlog_id, actor)
        if actor.role not in BACKLOG_MANAGERS:
            raise PermissionDenied("forbidden", _("your role may not assign backlog cases"))
        _check_open(backlog)
        leader = User.objects.filter(username=owner, is_active=True).first()
        if (
            leader is None
            or leader.role not in LEADER_ROLES
            or not visible_cases(leader).filter(pk=case.pk).exists()
        ):
            raise InvalidInput(
                "invalid_input",
                _("the owner must be a head or supervisor who may read the case"),
                fields={"owner": "not a leader of this case"},
            )
        backlog.owner = leader
        backlog.save(update_fields=["owner"])
        event = _event(
            case,
            "backlog_assign",
            actor=actor,
            effective_on=clock.today(),
            payload={"backlog_id": backlog.pk, "owner": leader.username},
        )
        _notify(
            kind=K.BACKLOG,
            event=event,
            users=[leader],
            text="owner",
            backlog=backlog,
        )
    return backlog


def backlog_plan(*, backlog_id: int, actor: User, plan: str, target_on: dt.date) -> BacklogCase:
    """The resolution plan and its target date."""
    text = clean_text(plan, "plan", limit=TEXT_FIELD_MAX, required=True)
    if target_on < clock.today():
        raise InvalidInput(
            "invalid_input", _("target_on must not be in the past"), fields={"target_on": "past"}
        )
    with write_transaction():
        backlog, case = _locked_backlog(backlog_id, actor)
        _check_manager(backlog, actor)
        _check_open(backlog)
        backlog.plan, backlog.target_on = text, target_on
        backlog.save(update_fields=["plan", "target_on"])
        _event(
            case,
            "backlog_plan",
            actor=actor,
            effective_on=clock.today(),
            payload={"backlog_id": backlog.pk, "target_on": str(target_on)},
        )
    return backlog


def backlog_progress(
    *, backlog_id: int, actor: User, text: str, on: dt.date | None = None
) -> BacklogProgress:
    """A dated progress entry (by a manager or the holding organ's staff)."""
    body = clean_text(text, "text", limit=TEXT_FIELD_MAX, required=True)
    today = clock.today()
    on = on or today
    if on > today:
        raise InvalidInput(
            "invalid_input", _("on must not be in the future"), fields={"on": "future"}
        )
    with write_transaction():
        backlog, case = _locked_backlog(backlog_id, actor)
        if not (may_manage(backlog, actor) or actor.org_id == case.org_id):
            raise PermissionDenied("forbidden", _("you may not report progress on this case"))
        _check_open(backlog)
        entry = BacklogProgress.objects.create(backlog=backlog, on=on, text=body, by=actor)
        _event(
            case,
            "backlog_progress",
            actor=actor,
            effective_on=on,
            payload={"backlog_id": backlog.pk, "progress_id": entry.pk},
        )
    return entry


def backlog_resolve(*, backlog_id: int, actor: User, outcome: str) -> BacklogCase:
    """Record the resolution outcome; the backlog case is then resolved (once)."""
    text = clean_text(outcome, "outcome", limit=TEXT_FIELD_MAX, required=True)
    with write_transaction():
        backlog, case = _locked_backlog(backlog_id, actor)
        _check_manager(backlog, actor)
        today = clock.today()
        won = BacklogCase.objects.filter(pk=backlog.pk, state=BacklogCase.State.OPEN).update(
            state=BacklogCase.State.RESOLVED, outcome=text, resolved_on=today, resolved_by=actor
        )
        if not won:
            raise Conflict("resolved", _("the backlog case is resolved"))
        backlog.refresh_from_db()
        _event(
            case,
            "backlog_resolve",
            actor=actor,
            effective_on=today,
            payload={"backlog_id": backlog.pk},
        )
    return backlog


# --- notifications ----------------------------------------------------------------------------


def notification_read(
    *,
    user: User,
    notification_id: int | None = None,
    record_id: int | None = None,
    backlog_id: int | None = None,
) -> int:
    """Mark `user`'s unread notifications read: one, those of a notice or backlog case (opening
    its page reads them), or without any of these every one; returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    if record_id is not None:
        qs = qs.filter(record_id=record_id)
    if backlog_id is not None:
        qs = qs.filter(backlog_id=backlog_id)
    return qs.update(read_at=timezone.now())


def notification_detail(n: Notification) -> str:
    """What a notification says beyond its kind, in the active language (the row keeps facts, so
    each reader sees it in their own language)."""
    if n.kind == K.REMIND:
        return _("due on %(date)s") % {"date": n.text}
    if n.kind == K.SUPERVISE:
        return _("answer by %(date)s") % {"date": n.text}
    if n.kind == K.LIST:
        return _("not answered by %(date)s") % {"date": n.text}
    if n.kind == K.BACKLOG:
        if n.text == "owner":
            return _("you own this backlog case")
        if n.text in BacklogCase.Reason.values:
            return str(BacklogCase.Reason(n.text).label)
    return n.text


def notification_email(*, notification_id: int) -> str:
    """Send one notification's e-mail, once: the row is claimed (`emailed_at` set by a conditional
    UPDATE) before sending, so a repeated or concurrent task never sends it twice. A failed send
    is logged and not retried (the in-app notification remains)."""
    from django.conf import settings
    from django.core.mail import EmailMessage
    from django.utils import translation

    from petitiondesk.mail.outbound import make_message_id, remember_outbound

    won = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not won:
        return "skipped"
    n = Notification.objects.select_related("recipient", "case").get(pk=notification_id)
    if not n.recipient.email:
        return "skipped"
    message_id = make_message_id()
    remember_outbound(message_id=message_id, case_id=n.case_id)
    with translation.override(settings.LANGUAGE_CODE):
        label = Notification.Kind(n.kind).label
        subject = f"[{n.case.tracking_number}] {label}"
        body = f"{n.case.tracking_number} {n.case.title}\n{label}\n{notification_detail(n)}"
    sender = getattr(settings, "PETITIONDESK_MAIL_ADDRESS", "") or settings.DEFAULT_FROM_EMAIL
    try:
        EmailMessage(
            subject=subject,
            body=body,
            from_email=sender,
            to=[n.recipient.email],
            headers={"Message-ID": message_id},
        ).send(fail_silently=False)
    except Exception:
        log.exception("notification %s: the e-mail could not be sent", notification_id)
        return "failed"
    return "sent"


def supervision_sweep(*, today: dt.date | None = None) -> dict[str, int]:
    """The ladder's steps other than the overdue sweep, and the backlog flags: what the scheduler
    runs after `deadlines_sweep`."""
    return {
        "reminded": reminders_sweep(today=today),
        "listed": listing_sweep(today=today),
        "backlog": backlog_sweep(today=today),
    }
