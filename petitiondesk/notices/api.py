"""Notices over the JSON API (/api/v1/petitions/{id}/notices…): thin adapters over the services.
Mounted by petitiondesk/api/urls.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import Path as PathParam
from ninja import Router, Schema, Status
from pydantic import Field

from petitiondesk.accounts.models import User
from petitiondesk.api.auth import STAFF_AUTH, staff_user
from petitiondesk.api.schemas import ERRORS, In
from petitiondesk.cases.attachments import access_attachment
from petitiondesk.cases.models import TEXT_FIELD_MAX, Case
from petitiondesk.cases.selectors import access_case
from petitiondesk.core.downloads import attachment_response
from petitiondesk.core.errors import NotFound

from .facts import StaffFields
from .models import Delivery, Kind, Notice
from .selectors import delivery_address, notice_of, notice_with_deliveries, notices_of
from .services import DeliveryRequest, notice_delivery_confirm, notice_issue

router = Router(tags=["notices"])

# A row id in a path: out of range is a 400, never a database error.
RowId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]

KindName = Literal[
    "acceptance",
    "non_acceptance",
    "diversion",
    "extension",
    "handling_opinion",
    "review_opinion",
    "rereview_opinion",
    "supervision",
]


class DeliveryIn(In):
    channel: Literal["email", "sms", "post", "in_person"]
    address: str | None = Field(
        None, max_length=300, description="default: the petitioner's e-mail, phone or address"
    )


class NoticeIn(In):
    kind: KindName
    language: Literal["zh-hans", "en"] = "zh-hans"
    request: str | None = Field(None, max_length=20_000, description="opinions; default: content")
    facts_found: str | None = Field(None, max_length=20_000, description="opinions: required")
    legal_basis: str | None = Field(None, max_length=TEXT_FIELD_MAX)
    answer_by: dt.date | None = Field(None, description="supervision notices: required")
    requirements: str | None = Field(None, max_length=TEXT_FIELD_MAX)
    deliver: list[DeliveryIn] = Field(default_factory=list, max_length=10)


class ConfirmIn(In):
    delivered_on: dt.date


class DeliveryOut(Schema):
    id: int
    channel: str
    address: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str
    sent_at: dt.datetime | None
    delivered_on: dt.date | None


class NoticeOut(Schema):
    id: int
    kind: str
    language: str
    number: str
    title: str
    org: str
    template_version: int
    issued_at: dt.datetime
    issued_by: str | None
    attachment_id: int | None
    facts: dict[str, Any]
    deliveries: list[DeliveryOut]


class NoticeListOut(Schema):
    results: list[NoticeOut]


def present_delivery(case: Case, d: Delivery, viewer: User) -> dict[str, Any]:
    return {
        "id": d.pk,
        "channel": d.channel,
        "address": delivery_address(case, d, viewer),
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
        "sent_at": d.sent_at,
        "delivered_on": d.delivered_on,
    }


def present_notice(case: Case, n: Notice, viewer: User) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "language": n.language,
        "number": n.number,
        "title": n.title,
        "org": n.org.code,
        "template_version": n.template_version,
        "issued_at": n.issued_at,
        "issued_by": n.issued_by.username if n.issued_by else None,
        "attachment_id": n.attachment_id,
        "facts": n.facts,
        "deliveries": [present_delivery(case, d, viewer) for d in n.deliveries.all()],
    }


@router.get(
    "/petitions/{case_id}/notices",
    response={200: NoticeListOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="List a case's notices",
)
def list_notices(request: HttpRequest, case_id: RowId) -> dict[str, Any]:
    user = staff_user(request)
    case = access_case(user, case_id, view="api.notices")
    return {"results": [present_notice(case, n, user) for n in notices_of(case)]}


@router.post(
    "/petitions/{case_id}/notices",
    response={201: NoticeOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Issue a notice",
)
def issue(request: HttpRequest, case_id: RowId, payload: NoticeIn) -> Status[dict[str, Any]]:
    user = staff_user(request)
    case = access_case(user, case_id)
    data = payload.model_dump()
    notice = notice_issue(
        case_id=case.pk,
        actor=user,
        kind=Kind(data.pop("kind")),
        language=data.pop("language"),
        deliver=[DeliveryRequest(**d) for d in data.pop("deliver")],
        fields=StaffFields(**data),
    )
    return Status(201, present_notice(case, notice_with_deliveries(notice.pk), user))


@router.get(
    "/petitions/{case_id}/notices/{notice_id}/pdf",
    response={200: None, **ERRORS},
    auth=STAFF_AUTH,
    summary="Download a notice's PDF",
)
def pdf(request: HttpRequest, case_id: RowId, notice_id: RowId) -> FileResponse:
    user = staff_user(request)
    case = access_case(user, case_id)
    notice = notice_of(case, notice_id)
    if notice is None or notice.attachment_id is None:
        raise NotFound("not_found", "no such notice")
    attachment, path = access_attachment(user, case_id, notice.attachment_id)
    return attachment_response(
        path, filename=attachment.filename, content_type=attachment.content_type
    )


@router.post(
    "/petitions/{case_id}/notices/{notice_id}/deliveries/{delivery_id}/confirm",
    response={200: DeliveryOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Confirm a delivery",
)
def confirm(
    request: HttpRequest,
    case_id: RowId,
    notice_id: RowId,
    delivery_id: RowId,
    payload: ConfirmIn,
) -> dict[str, Any]:
    user = staff_user(request)
    case = access_case(user, case_id)
    delivery = notice_delivery_confirm(
        case_id=case.pk,
        notice_id=notice_id,
        delivery_id=delivery_id,
        delivered_on=payload.delivered_on,
        actor=user,
    )
    return present_delivery(case, delivery, user)
