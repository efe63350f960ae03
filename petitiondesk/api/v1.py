"""JSON API v1 (api.md): thin adapters over the intake and case services."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from petitiondesk.accounts.models import User
from petitiondesk.cases import services
from petitiondesk.cases.actions import VERB_SERVICES
from petitiondesk.cases.models import Case, CaseEvent
from petitiondesk.cases.selectors import (
    PAGE_SIZE,
    CaseFilters,
    access_case,
    access_tracked_case,
    case_detail,
    case_list,
    petitioner_timeline,
    petitioners_for,
    repeat_flags,
)
from petitiondesk.core.ratelimit import client_ip
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from petitiondesk.routing.advice import advise

from . import schemas as s
from .attachments import present_attachment
from .auth import STAFF_AUTH, PublicOrStaff, caller, staff_user

router = Router(tags=["petitions"])
track_router = Router(tags=["petitioner tracking"])


def _deadlines(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "rule": d.rule,
            "start_on": d.start_on,
            "due_on": d.due_on,
            "method": d.method,
            "calendar_version": d.calendar_version,
            "provisional": d.provisional,
            "statutory": d.statutory,
            "state": d.state,
        }
        for d in rows
    ]


def _summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "tracking_number": case.tracking_number,
        "title": case.title,
        "status": case.status,
        "category": case.category,
        "topic": case.topic,
        "channel": case.channel,
        "received_on": case.received_on,
        "org": case.org.code,
        "is_overdue": case.is_overdue,
    }


def _event(e: CaseEvent) -> dict[str, Any]:
    return {
        "verb": e.verb,
        "effective_on": e.effective_on,
        "created_at": e.created_at,
        "actor": e.actor.username if e.actor else None,
        "actor_org": e.actor_org.code if e.actor_org else None,
        "by_petitioner": e.by_petitioner,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "payload": e.payload,
    }


def present_case(case: Case, viewer: User) -> dict[str, Any]:
    detail = case_detail(case, viewer)
    return {
        **_summary(case),
        "content": case.content,
        "division_code": case.division_code,
        "profile": case.profile,
        "claim_route": case.claim_route,
        "outcome": case.outcome,
        "rating": case.rating,
        "extension_days": case.extension_days,
        "anonymous": case.anonymous,
        "confidential": case.confidential,
        "people_count": case.people_count,
        "representatives": case.representatives,
        "location": case.location,
        "lat": case.lat,
        "lng": case.lng,
        "petitioners": petitioners_for(case, viewer),
        "accused_orgs": list(case.accused_orgs.values_list("code", flat=True)),
        "deadlines": _deadlines(detail["deadlines"]),  # type: ignore[arg-type]
        "events": [_event(e) for e in detail["events"]],  # type: ignore[attr-defined]
        "links": detail["links"],
        "flags": detail["flags"],
        "attachments": [present_attachment(a) for a in detail["attachments"]],  # type: ignore[attr-defined]
        "version": case.version,
    }


@router.post(
    "/petitions", response={201: s.SubmitOut, **s.ERRORS}, auth=PublicOrStaff(), summary="Submit"
)
def submit(request: HttpRequest, payload: s.SubmitIn) -> Status[dict[str, Any]]:
    data = payload.model_dump()
    data["petitioners"] = [PetitionerData(**p) for p in data["petitioners"]]
    actor = caller(request)
    receipt = petition_submit(
        submission=Submission(**data),
        actor=actor,
        client_ip=client_ip(request),
    )
    case = receipt.case
    matched = {m.case_id: m for m in receipt.matches}
    # Suggestions are for the staff who route; the public is told its tracking number.
    suggestions = advise(case, new=True) if actor is not None else {}
    return Status(
        201,
        {
            "id": case.pk,
            "tracking_number": case.tracking_number,
            "access_key": receipt.access_key,
            "status": case.status,
            "received_on": case.received_on,
            "org": case.org.code,
            "deadlines": _deadlines(receipt.deadlines),
            "duplicates": [
                {
                    "id": i,
                    "score": score,
                    "relation": matched[i].relation if i in matched else "duplicate",
                    "basis": matched[i].basis if i in matched else ["same_text"],
                }
                for i, score in receipt.duplicates
            ],
            "flags": repeat_flags(
                case, [m.case_id for m in receipt.matches if m.relation == "same_matter"]
            ),
            "suggested_routes": [
                {"org": row["value"], "name": row["label"], "confidence": row["confidence"]}
                for row in suggestions.get("org", [])
            ],
            "suggestions": suggestions,
        },
    )


@router.get(
    "/petitions/{case_id}",
    response={200: s.CaseOut, **s.ERRORS},
    auth=STAFF_AUTH,
    summary="Read a case",
)
def read(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user = staff_user(request)
    return present_case(access_case(user, case_id, view="api.read"), user)


class ListQuery(s.Input):
    status: str | None = None
    org: str | None = None
    overdue: bool | None = None
    due_before: dt.date | None = None
    q: str | None = Field(None, max_length=200)
    page: int = Field(1, ge=1, le=100_000)


@router.get(
    "/petitions", response={200: s.CaseListOut, **s.ERRORS}, auth=STAFF_AUTH, summary="List cases"
)
def list_cases(request: HttpRequest, filters: Query[ListQuery]) -> dict[str, Any]:
    rows, total = case_list(staff_user(request), CaseFilters(**filters.model_dump()))
    return {
        "count": total,
        "page": filters.page,
        "page_size": PAGE_SIZE,
        "results": [_summary(c) for c in rows],
    }


# --- action verbs: one endpoint each, all the same shape ---------------------------------------

ACTION_SCHEMAS: dict[str, type[s.Action]] = {
    "route": s.RouteIn,
    "object": s.ReasonIn,
    "accept": s.AcceptIn,
    "decline": s.DeclineIn,
    "extend": s.ExtendIn,
    "reply": s.OpinionIn,
    "request_review": s.AppealIn,
    "decide_review": s.OpinionIn,
    "request_rereview": s.AppealIn,
    "hearing": s.HearingIn,
    "decide_rereview": s.OpinionIn,
    "close": s.ReasonIn,
    "link": s.LinkIn,
    "assign": s.AssignIn,
}
# The services come from the map the pages use too (cases/actions.py): one service per verb.
ACTIONS: dict[str, tuple[type[s.Action], Callable[..., Case]]] = {
    verb: (schema, VERB_SERVICES[verb]) for verb, schema in ACTION_SCHEMAS.items()
}


def _register_action(verb: str, schema: type[s.Action], service: Callable[..., Case]) -> None:
    def act(request: HttpRequest, case_id: int, payload: schema) -> dict[str, Any]:  # type: ignore[valid-type]
        user = staff_user(request)
        access_case(user, case_id)
        case = service(case_id=case_id, actor=user, **payload.model_dump())  # type: ignore[attr-defined]
        # Shown even when the step moved the case out of the actor's scope (e.g. an objection).
        return present_case(case, user)

    act.__name__ = f"action_{verb}"
    router.post(
        f"/petitions/{{case_id}}/actions/{verb}",
        response={200: s.CaseOut, **s.ERRORS},
        auth=STAFF_AUTH,
        summary=verb.replace("_", " ").capitalize(),
        operation_id=f"action_{verb}",
    )(act)


for _verb, (_schema, _service) in ACTIONS.items():
    _register_action(_verb, _schema, _service)


# --- the petitioner's side ---------------------------------------------------------------------


def _tracked(request: HttpRequest, tracking_number: str, key: str) -> Case:
    ip = client_ip(request)
    return access_tracked_case(tracking_number=tracking_number, access_key=key, ip=ip)


def _track_view(case: Case) -> dict[str, Any]:
    timeline, replies = petitioner_timeline(case)
    return {
        "tracking_number": case.tracking_number,
        "title": case.title,
        "status": case.status,
        "category": case.category,
        "received_on": case.received_on,
        "org": case.org.name,
        "deadlines": _deadlines(list(case.deadlines.all())),
        "timeline": timeline,
        "replies": replies,
        "rating": case.rating,
    }


@track_router.get(
    "/track/{tracking_number}", response={200: s.TrackOut, **s.ERRORS}, summary="Track a petition"
)
def track(
    request: HttpRequest, tracking_number: s.TrackingNumber, x_access_key: s.AccessKey = ""
) -> dict[str, Any]:
    return _track_view(_tracked(request, tracking_number, x_access_key))


@track_router.post(
    "/track/{tracking_number}/rate", response={200: s.TrackOut, **s.ERRORS}, summary="Rate handling"
)
def rate(
    request: HttpRequest,
    tracking_number: s.TrackingNumber,
    payload: s.RateIn,
    x_access_key: s.AccessKey = "",
) -> dict[str, Any]:
    case = _tracked(request, tracking_number, x_access_key)
    return _track_view(services.case_rate(case_id=case.pk, **payload.model_dump()))


@track_router.post(
    "/track/{tracking_number}/material",
    response={200: s.TrackOut, **s.ERRORS},
    summary="Add material",
)
def add_material(
    request: HttpRequest,
    tracking_number: s.TrackingNumber,
    payload: s.MaterialIn,
    x_access_key: s.AccessKey = "",
) -> dict[str, Any]:
    case = _tracked(request, tracking_number, x_access_key)
    return _track_view(services.case_add_material(case_id=case.pk, text=payload.text))


def _register_appeal(verb: str, service: Callable[..., Case]) -> None:
    def appeal(
        request: HttpRequest,
        tracking_number: s.TrackingNumber,
        payload: s.TrackAppealIn,
        x_access_key: s.AccessKey = "",
    ) -> dict[str, Any]:
        case = _tracked(request, tracking_number, x_access_key)
        return _track_view(
            service(case_id=case.pk, actor=None, to_org=payload.to_org, by_petitioner=True)
        )

    appeal.__name__ = f"track_{verb}"
    track_router.post(
        f"/track/{{tracking_number}}/{verb}",
        response={200: s.TrackOut, **s.ERRORS},
        summary=verb.replace("_", " "),
    )(appeal)


_register_appeal("request_review", services.case_request_review)
_register_appeal("request_rereview", services.case_request_rereview)
