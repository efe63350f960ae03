"""Supervision notices and backlog cases over the JSON API (/api/v1/supervision/…): thin adapters
over the services. Mounted by petitiondesk/api/urls.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Path as PathParam
from ninja import Query, Router, Schema, Status
from pydantic import Field

from petitiondesk.api.auth import STAFF_AUTH, staff_user
from petitiondesk.api.schemas import ERRORS, In, Input
from petitiondesk.cases.models import TEXT_FIELD_MAX

from . import selectors as sel
from . import services as svc
from .models import BacklogCase, Notification, SupervisionRecord

router = Router(tags=["supervision"])
RowId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
# A row id in a body (a case, a notification): out of range is a 400.
BodyId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Text = Annotated[str, Field(max_length=TEXT_FIELD_MAX)]
NOTICES = "/supervision/notices"
NOTIFICATIONS = "/supervision/notifications"
BACKLOG = "/supervision/backlog"


# --- schemas ----------------------------------------------------------------------------------


class NoticeIn(In):
    case_id: BodyId
    reason: Literal["late", "poor"]
    recommendations: Text = Field(description="improvement and accountability recommendations")
    answer_by: dt.date
    document: bool = Field(
        False, description="also freeze the written notice (needs a missed clock)"
    )


class AnswerIn(In):
    text: Text
    answered_on: dt.date | None = None


class CloseIn(In):
    pass


class NoticeQuery(Input):
    state: Literal["open", "answered", "closed"] | None = None
    overdue: bool | None = None
    listed: bool | None = None
    org: str | None = Field(None, max_length=64)
    page: int = Field(1, ge=1, le=100_000)


class SupervisionNoticeOut(Schema):
    id: int
    case_id: int
    tracking_number: str
    org: str
    issuer_org: str | None
    reason: str
    state: str
    issued_on: dt.date | None
    issued_by: str | None
    recommendations: str
    answer_by: dt.date | None
    listed_on: dt.date | None
    answer_text: str
    answered_on: dt.date | None
    closed_on: dt.date | None
    notice_id: int | None


class SupervisionNoticeListOut(Schema):
    count: int
    results: list[SupervisionNoticeOut]


class FlagIn(In):
    case_id: BodyId


class AssignIn(In):
    owner: str = Field(max_length=150, description="username of a head or supervisor")


class PlanIn(In):
    plan: Text
    target_on: dt.date


class ProgressIn(In):
    text: Text
    on: dt.date | None = None


class ResolveIn(In):
    outcome: Text


class BacklogQuery(Input):
    state: Literal["open", "resolved"] | None = None
    reason: Literal["open_too_long", "repeated", "by_hand"] | None = None
    org: str | None = Field(None, max_length=64)
    owner: str | None = Field(None, max_length=150)
    min_days: int | None = Field(None, ge=0, le=100_000)
    page: int = Field(1, ge=1, le=100_000)


class ProgressOut(Schema):
    on: dt.date
    text: str
    by: str | None


class BacklogOut(Schema):
    id: int
    case_id: int
    tracking_number: str
    org: str
    reason: str
    state: str
    flagged_on: dt.date
    submissions: int
    days_open: int
    owner: str | None
    plan: str
    target_on: dt.date | None
    outcome: str
    resolved_on: dt.date | None
    progress: list[ProgressOut] | None = None


class BacklogListOut(Schema):
    count: int
    results: list[BacklogOut]


def present_notice(r: SupervisionRecord) -> dict[str, Any]:
    return {
        "id": r.pk,
        "case_id": r.case_id,
        "tracking_number": r.case.tracking_number,
        "org": r.org.code,
        "issuer_org": r.issuer_org.code if r.issuer_org else None,
        "reason": r.reason,
        "state": r.state,
        "issued_on": r.issued_on,
        "issued_by": r.issued_by.username if r.issued_by_id and r.issued_by else None,
        "recommendations": r.recommendations,
        "answer_by": r.answer_by,
        "listed_on": r.listed_on,
        "answer_text": r.answer_text,
        "answered_on": r.answered_on,
        "closed_on": r.closed_on,
        "notice_id": r.notice_id,
    }


def present_backlog(b: BacklogCase, *, progress: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": b.pk,
        "case_id": b.case_id,
        "tracking_number": b.case.tracking_number,
        "org": b.case.org.code,
        "reason": b.reason,
        "state": b.state,
        "flagged_on": b.flagged_on,
        "submissions": b.submissions,
        "days_open": sel.days_open(b),
        "owner": b.owner.username if b.owner else None,
        "plan": b.plan,
        "target_on": b.target_on,
        "outcome": b.outcome,
        "resolved_on": b.resolved_on,
    }
    if progress:
        out["progress"] = [
            {"on": p.on, "text": p.text, "by": p.by.username if p.by else None}
            for p in b.progress.select_related("by")
        ]
    return out


# --- supervision notices ----------------------------------------------------------------------


@router.get(NOTICES, response={200: SupervisionNoticeListOut, **ERRORS}, auth=STAFF_AUTH)
def list_notices(request: HttpRequest, filters: Query[NoticeQuery]) -> dict[str, Any]:
    """Supervision notices on the cases the caller may read."""
    rows, count = sel.notice_list(staff_user(request), sel.NoticeFilters(**filters.model_dump()))
    return {"count": count, "results": [present_notice(r) for r in rows]}


@router.post(NOTICES, response={201: SupervisionNoticeOut, **ERRORS}, auth=STAFF_AUTH)
def issue_notice(request: HttpRequest, payload: NoticeIn) -> Status[dict[str, Any]]:
    """Issue a supervision notice by hand (a supervisor or a petition department)."""
    user = staff_user(request)
    record = svc.supervision_issue(actor=user, **payload.model_dump())
    return Status(201, present_notice(sel.access_notice(user, record.pk)))


@router.get(
    NOTICES + "/{record_id}", response={200: SupervisionNoticeOut, **ERRORS}, auth=STAFF_AUTH
)
def read_notice(request: HttpRequest, record_id: RowId) -> dict[str, Any]:
    """A supervision notice."""
    return present_notice(sel.access_notice(staff_user(request), record_id))


@router.post(
    NOTICES + "/{record_id}/answer", response={200: SupervisionNoticeOut, **ERRORS}, auth=STAFF_AUTH
)
def answer_notice(request: HttpRequest, record_id: RowId, payload: AnswerIn) -> dict[str, Any]:
    """The addressed organ's written answer."""
    user = staff_user(request)
    sel.access_notice(user, record_id)
    svc.supervision_answer(record_id=record_id, actor=user, **payload.model_dump())
    return present_notice(sel.access_notice(user, record_id))


@router.post(
    NOTICES + "/{record_id}/close", response={200: SupervisionNoticeOut, **ERRORS}, auth=STAFF_AUTH
)
def close_notice(request: HttpRequest, record_id: RowId, payload: CloseIn) -> dict[str, Any]:
    """The issuer closes an answered notice."""
    user = staff_user(request)
    sel.access_notice(user, record_id)
    svc.supervision_close(record_id=record_id, actor=user)
    return present_notice(sel.access_notice(user, record_id))


# --- backlog cases ----------------------------------------------------------------------------


@router.get(BACKLOG, response={200: BacklogListOut, **ERRORS}, auth=STAFF_AUTH)
def list_backlog(request: HttpRequest, filters: Query[BacklogQuery]) -> dict[str, Any]:
    """Backlog cases the caller may read, the oldest first."""
    rows, count = sel.backlog_list(staff_user(request), sel.BacklogFilters(**filters.model_dump()))
    return {"count": count, "results": [present_backlog(b) for b in rows]}


@router.post(BACKLOG, response={200: BacklogOut, 201: BacklogOut, **ERRORS}, auth=STAFF_AUTH)
def flag_backlog(request: HttpRequest, payload: FlagIn) -> Status[dict[str, Any]]:
    """Flag a case as backlog by hand: 201, or 200 with the existing row when already flagged."""
    user = staff_user(request)
    backlog, created = svc.backlog_flag(case_id=payload.case_id, actor=user)
    return Status(201 if created else 200, present_backlog(sel.access_backlog(user, backlog.pk)))


@router.get(BACKLOG + "/{backlog_id}", response={200: BacklogOut, **ERRORS}, auth=STAFF_AUTH)
def read_backlog(request: HttpRequest, backlog_id: RowId) -> dict[str, Any]:
    """A backlog case with its progress entries."""
    return present_backlog(sel.access_backlog(staff_user(request), backlog_id), progress=True)


def _backlog_step(request: HttpRequest, backlog_id: int, service: Any, **kwargs: Any) -> Any:
    user = staff_user(request)
    sel.access_backlog(user, backlog_id)  # a stranger gets the 404 before any other check
    service(backlog_id=backlog_id, actor=user, **kwargs)
    return present_backlog(sel.access_backlog(user, backlog_id), progress=True)


@router.post(
    BACKLOG + "/{backlog_id}/assign", response={200: BacklogOut, **ERRORS}, auth=STAFF_AUTH
)
def assign_backlog(request: HttpRequest, backlog_id: RowId, payload: AssignIn) -> Any:
    """Name the leader who owns the case (包案领导)."""
    return _backlog_step(request, backlog_id, svc.backlog_assign, **payload.model_dump())


@router.post(BACKLOG + "/{backlog_id}/plan", response={200: BacklogOut, **ERRORS}, auth=STAFF_AUTH)
def plan_backlog(request: HttpRequest, backlog_id: RowId, payload: PlanIn) -> Any:
    """The resolution plan and its target date."""
    return _backlog_step(request, backlog_id, svc.backlog_plan, **payload.model_dump())


@router.post(
    BACKLOG + "/{backlog_id}/progress", response={200: BacklogOut, **ERRORS}, auth=STAFF_AUTH
)
def progress_backlog(request: HttpRequest, backlog_id: RowId, payload: ProgressIn) -> Any:
    """A dated progress entry."""
    return _backlog_step(request, backlog_id, svc.backlog_progress, **payload.model_dump())


@router.post(
    BACKLOG + "/{backlog_id}/resolve", response={200: BacklogOut, **ERRORS}, auth=STAFF_AUTH
)
def resolve_backlog(request: HttpRequest, backlog_id: RowId, payload: ResolveIn) -> Any:
    """Record the resolution outcome."""
    return _backlog_step(request, backlog_id, svc.backlog_resolve, **payload.model_dump())


# --- the caller's notifications ---------------------------------------------------------------


class NotificationOut(Schema):
    id: int
    kind: str
    case_id: int
    tracking_number: str
    record_id: int | None
    backlog_id: int | None
    detail: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationListOut(Schema):
    unread: int
    results: list[NotificationOut]


class ReadIn(In):
    id: BodyId | None = Field(None, description="one notification; without it, all")


class ReadOut(Schema):
    marked: int


def present_notification(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "case_id": n.case_id,
        "tracking_number": n.case.tracking_number,
        "record_id": n.record_id,
        "backlog_id": n.backlog_id,
        "detail": svc.notification_detail(n),
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


@router.get(NOTIFICATIONS, response={200: NotificationListOut, **ERRORS}, auth=STAFF_AUTH)
def list_notifications(request: HttpRequest) -> dict[str, Any]:
    """The caller's latest notifications (100) and how many are unread."""
    user = staff_user(request)
    rows = sel.inbox(user)
    return {"unread": sel.unread_count(user), "results": [present_notification(n) for n in rows]}


@router.post(NOTIFICATIONS + "/read", response={200: ReadOut, **ERRORS}, auth=STAFF_AUTH)
def read_notifications(request: HttpRequest, payload: ReadIn) -> dict[str, Any]:
    """Mark one or all of the caller's notifications read."""
    return {"marked": svc.notification_read(user=staff_user(request), notification_id=payload.id)}
