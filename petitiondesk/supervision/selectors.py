"""Reading supervision notices, backlog cases and notifications, with the permission check built
in: a reader sees a notice or a backlog case only when they may read its case (`visible_cases`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.cases.selectors import visible_cases
from petitiondesk.core import clock
from petitiondesk.core.errors import InvalidInput, NotFound

from .models import BacklogCase, Notification, SupervisionRecord

PAGE_SIZE = 50
M = TypeVar("M", bound=Model)
INBOX_SIZE = 100


@dataclass
class NoticeFilters:
    state: str | None = None
    overdue: bool | None = None  # open and past its answer date
    listed: bool | None = None
    org: str | None = None  # the addressed organ's code
    page: int = 1


@dataclass
class BacklogFilters:
    state: str | None = None
    reason: str | None = None
    org: str | None = None  # the holder's code
    owner: str | None = None  # a username
    min_days: int | None = None  # open at least this many days since receipt
    page: int = 1


def _page(qs: QuerySet[M], page: int) -> tuple[list[M], int]:
    if page < 1:
        raise InvalidInput("invalid_input", _("page starts at 1"), fields={"page": "≥ 1"})
    start = (page - 1) * PAGE_SIZE
    return list(qs[start : start + PAGE_SIZE]), qs.count()


def _check_choice(value: str | None, choices: list[str], name: str) -> None:
    if value and value not in choices:
        raise InvalidInput(
            "invalid_input",
            _("%(name)s must be one of %(choices)s")
            % {"name": name, "choices": ", ".join(choices)},
            fields={name: "unknown"},
        )


def _case_readable(user: User) -> Exists:
    """A row whose case the user may read: checked per row (a primary-key probe of the case), so
    the cost follows the rows asked for, not the size of the user's jurisdiction."""
    return Exists(visible_cases(user).filter(pk=OuterRef("case_id")))


def visible_notices(user: User) -> QuerySet[SupervisionRecord]:
    return SupervisionRecord.objects.filter(_case_readable(user))


def notice_list(user: User, filters: NoticeFilters) -> tuple[list[SupervisionRecord], int]:
    _check_choice(filters.state, SupervisionRecord.State.values, "state")
    qs = visible_notices(user).select_related("case", "org", "issuer_org")
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.overdue is not None:
        late = Q(state=SupervisionRecord.State.OPEN, answer_by__lt=clock.today())
        qs = qs.filter(late) if filters.overdue else qs.exclude(late)
    if filters.listed is not None:
        qs = qs.filter(listed_on__isnull=not filters.listed)
    if filters.org:
        qs = qs.filter(org__code=filters.org)
    return _page(qs.order_by("-id"), filters.page)


def access_notice(user: User, record_id: int) -> SupervisionRecord:
    """The notice if the user may read its case; otherwise the 404 of a notice that does not
    exist."""
    record = (
        visible_notices(user)
        .select_related("case", "org", "issuer_org", "issued_by", "answered_by", "closed_by")
        .filter(pk=record_id)
        .first()
    )
    if record is None:
        raise NotFound("not_found", _("no such supervision notice"))
    return record


def board_notices(user: User, *, limit: int = 50) -> tuple[list[SupervisionRecord], int, int]:
    """Open notices across what the user reads, the overdue (past their answer date) first; and
    the counts of open and of overdue notices. Reads the notices, never the case table at large."""
    today = clock.today()
    qs = visible_notices(user).filter(state=SupervisionRecord.State.OPEN)
    rows = list(qs.select_related("case", "org").order_by("answer_by", "id")[:limit])
    counts = qs.aggregate(open=Count("id"), overdue=Count("id", filter=Q(answer_by__lt=today)))
    return rows, counts["open"], counts["overdue"]


def visible_backlog(user: User) -> QuerySet[BacklogCase]:
    return BacklogCase.objects.filter(_case_readable(user))


def backlog_list(user: User, filters: BacklogFilters) -> tuple[list[BacklogCase], int]:
    _check_choice(filters.state, BacklogCase.State.values, "state")
    _check_choice(filters.reason, BacklogCase.Reason.values, "reason")
    qs = visible_backlog(user).select_related("case", "case__org", "owner")
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.reason:
        qs = qs.filter(reason=filters.reason)
    if filters.org:
        qs = qs.filter(case__org__code=filters.org)
    if filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.min_days is not None:
        if filters.min_days < 0:
            raise InvalidInput(
                "invalid_input", _("min_days must be ≥ 0"), fields={"min_days": "≥ 0"}
            )
        qs = qs.filter(case__received_on__lte=clock.today() - dt.timedelta(days=filters.min_days))
    # The oldest first: ageing is what the board is about.
    return _page(qs.order_by("case__received_on", "id"), filters.page)


def access_backlog(user: User, backlog_id: int) -> BacklogCase:
    backlog = (
        visible_backlog(user)
        .select_related("case", "case__org", "owner", "flagged_by", "resolved_by")
        .filter(pk=backlog_id)
        .first()
    )
    if backlog is None:
        raise NotFound("not_found", _("no such backlog case"))
    return backlog


def days_open(backlog: BacklogCase, today: dt.date | None = None) -> int:
    """Days since receipt, to today or to the resolution."""
    end = backlog.resolved_on or today or clock.today()
    return (end - backlog.case.received_on).days


def backlog_summary(user: User) -> dict[str, int]:
    """Open backlog cases the user reads, and how many have no leader or no plan yet."""
    qs = visible_backlog(user).filter(state=BacklogCase.State.OPEN)
    return qs.aggregate(
        open=Count("id"),
        no_owner=Count("id", filter=Q(owner__isnull=True)),
        no_plan=Count("id", filter=Q(plan="")),
    )


def inbox(user: User) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user)
        .select_related("case")
        .order_by("-id")[:INBOX_SIZE]
    )


def unread_count(user: User) -> int:
    """Through the partial index of unread rows: cheap enough for every page's navigation."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def case_id_by_tracking(user: User, tracking_number: str) -> int:
    """The id of the case with that tracking number if the user may read it, else `NotFound`."""
    found = (
        visible_cases(user)
        .filter(tracking_number=tracking_number.strip())
        .values_list("id", flat=True)
        .first()
    )
    if found is None:
        raise NotFound("not_found", _("no such case"))
    return found


def supervision_board(user: User) -> dict[str, object]:
    """The supervision board's notices and backlog sections (web/desk/board.html)."""
    notices, open_count, overdue_count = board_notices(user)
    return {
        "notices": notices,
        "notices_open": open_count,
        "notices_overdue": overdue_count,
        "backlog": backlog_summary(user),
        "today": clock.today(),
    }
