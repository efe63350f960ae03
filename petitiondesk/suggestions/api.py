"""People's suggestions over the JSON API (/api/v1/solicitations…, /api/v1/suggestions…): thin
adapters over the services and selectors. Mounted by petitiondesk/api/urls.py."""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Path as PathParam
from ninja import Query, Router, Schema, Status
from pydantic import Field

from petitiondesk.accounts.models import User
from petitiondesk.api.auth import STAFF_AUTH, PublicOrStaff, caller, staff_user
from petitiondesk.api.schemas import ERRORS, AccessKey, In, Input, TrackingNumber
from petitiondesk.core import clock
from petitiondesk.core.ratelimit import client_ip

from . import selectors as sel
from . import services
from .models import Solicitation, Suggestion

router = Router(tags=["people's suggestions"])

RowId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


# --- schemas ----------------------------------------------------------------------------------


class SolicitationIn(In):
    title: str = Field(max_length=200)
    description: str = Field(max_length=20_000)
    question: str = Field(max_length=20_000)
    opens_on: dt.date
    closes_on: dt.date
    support_threshold: int = Field(0, ge=0, le=100_000_000)


class SuggestionCloseIn(In):
    on: dt.date | None = None


class SolicitationOut(Schema):
    id: int
    org: str
    org_name: str
    title: str
    description: str
    question: str
    opens_on: dt.date
    closes_on: dt.date
    support_threshold: int
    is_open: bool


class SuggestionIn(In):
    title: str = Field(max_length=200)
    reasons: str = Field(max_length=20_000)
    proposal: str = Field(max_length=20_000)
    topic: str = Field("", max_length=64)
    solicitation_id: int | None = Field(None, ge=1, le=2**63 - 1)
    proposer_name: str = Field("", max_length=100)
    proposer_phone: str = Field("", max_length=40)
    proposer_email: str = Field("", max_length=254)
    proposer_address: str = Field("", max_length=300)
    public_consent: bool = False
    division_code: str = Field("", max_length=12)
    received_on: dt.date | None = None


class SuggestionReceiptOut(Schema):
    id: int
    tracking_number: str
    access_key: str
    org: str
    status: str


class PublicSuggestionOut(Schema):
    id: int
    tracking_number: str
    title: str
    topic: str
    reasons: str
    proposal: str
    status: str
    decision: str
    solicitation_id: int | None
    solicitation_title: str
    org: str
    received_on: dt.date
    reply: str
    replied_on: dt.date | None
    open_to_support: bool
    supports: int
    answer_required: bool
    answer_due_on: dt.date | None


class SuggestionContactIn(In):
    contact: str = Field(max_length=254, description="an e-mail address or a mainland mobile")


class SuggestionConfirmIn(SuggestionContactIn):
    code: str = Field(max_length=12)


class SupportRequestOut(Schema):
    sent: bool


class SupportCountOut(Schema):
    supports: int


class SuggestionConversionOut(Schema):
    kind: str
    reference: str
    on: dt.date


class SuggestionTrackOut(Schema):
    tracking_number: str
    title: str
    status: str
    decision: str
    received_on: dt.date
    org: str
    reply: str
    replied_on: dt.date | None
    case_tracking_number: str | None
    conversions: list[SuggestionConversionOut]
    supports: int


class SuggestionSummaryOut(Schema):
    id: int
    tracking_number: str
    title: str
    topic: str
    status: str
    decision: str
    org: str
    solicitation_id: int | None
    received_on: dt.date
    replied_on: dt.date | None


class SuggestionListOut(Schema):
    count: int
    results: list[SuggestionSummaryOut]


class SuggestionProposerOut(Schema):
    name: str
    phone: str
    email: str
    address: str


class SuggestionEventOut(Schema):
    verb: str
    effective_on: dt.date
    created_at: dt.datetime
    actor: str | None
    actor_org: str | None
    from_status: str
    to_status: str
    payload: dict[str, Any]


class SuggestionAwardOut(Schema):
    description: str
    on: dt.date


class SuggestionOut(SuggestionSummaryOut):
    reasons: str
    proposal: str
    public_consent: bool
    forwarded_to: str | None
    reply: str
    published: bool
    answer_required: bool
    answer_due_on: dt.date | None
    case_tracking_number: str | None
    proposer: SuggestionProposerOut | None
    supports: int
    targets: dict[str, dt.date]
    events: list[SuggestionEventOut]
    conversions: list[SuggestionConversionOut]
    awards: list[SuggestionAwardOut]
    verbs: list[str]


class SuggestionListQuery(Input):
    status: str | None = Field(None, max_length=16)
    solicitation_id: int | None = Field(None, ge=1, le=2**63 - 1)
    q: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class SuggestionPublicQuery(Input):
    solicitation_id: int | None = Field(None, ge=1, le=2**63 - 1)


class SuggestionStatsQuery(Input):
    since: dt.date | None = None
    until: dt.date | None = None


class SuggestionCountRow(Schema):
    count: int


class SolicitationCount(SuggestionCountRow):
    solicitation_id: int | None
    title: str


class SuggestionTopicCount(SuggestionCountRow):
    topic: str


class SuggestionStatsOut(Schema):
    total: int
    reclassified: int
    by_status: dict[str, int]
    by_solicitation: list[SolicitationCount]
    by_topic: list[SuggestionTopicCount]
    decided: int
    adopted: int
    adoption_rate: float | None
    converted: int
    conversion_rate: float | None
    replied: int
    median_days_to_reply: float | None
    mean_days_to_reply: float | None


class SuggestionAssessIn(In):
    note: str = Field("", max_length=20_000)
    effective_on: dt.date | None = None


class SuggestionForwardIn(In):
    to_org: str = Field(max_length=64)
    note: str = Field("", max_length=20_000)


class SuggestionOpinionIn(In):
    opinion: str = Field(max_length=20_000)


class SuggestionDecideIn(In):
    decision: Literal["adopted", "partly_adopted", "not_adopted"]
    reason: str = Field(max_length=20_000)
    effective_on: dt.date | None = None


class SuggestionReplyIn(In):
    reply: str = Field(max_length=20_000)
    publish: bool = False
    effective_on: dt.date | None = None


class SuggestionConvertIn(In):
    kind: Literal["policy", "regulation", "deputy_motion"]
    reference: str = Field(max_length=200)
    on: dt.date


class SuggestionAwardIn(In):
    description: str = Field(max_length=500)
    on: dt.date


class SuggestionReclassifyIn(In):
    reason: str = Field(max_length=20_000)


# --- presenters -------------------------------------------------------------------------------


def _solicitation(sol: Solicitation) -> dict[str, Any]:
    return {
        "id": sol.pk,
        "org": sol.org.code,
        "org_name": sol.org.name,
        "title": sol.title,
        "description": sol.description,
        "question": sol.question,
        "opens_on": sol.opens_on,
        "closes_on": sol.closes_on,
        "support_threshold": sol.support_threshold,
        "is_open": sol.is_open(clock.today()),
    }


def _summary(sug: Suggestion) -> dict[str, Any]:
    return {
        "id": sug.pk,
        "tracking_number": sug.tracking_number,
        "title": sug.title,
        "topic": sug.topic,
        "status": sug.status,
        "decision": sug.decision,
        "org": sug.org.code,
        "solicitation_id": sug.solicitation_id,
        "received_on": sug.received_on,
        "replied_on": sug.replied_on,
    }


def present_suggestion(sug: Suggestion, viewer: User) -> dict[str, Any]:
    detail = sel.suggestion_detail(sug, viewer)
    return {
        **_summary(sug),
        "reasons": sug.reasons,
        "proposal": sug.proposal,
        "public_consent": sug.public_consent,
        "forwarded_to": sug.forwarded_to.code if sug.forwarded_to else None,
        "reply": sug.reply,
        "published": sug.published,
        "answer_required": sug.answer_required,
        "answer_due_on": sug.answer_due_on,
        "case_tracking_number": sug.case.tracking_number if sug.case else None,
        "proposer": detail["proposer"],
        "supports": detail["supports"],
        "targets": detail["targets"],
        "events": [
            {
                "verb": e.verb,
                "effective_on": e.effective_on,
                "created_at": e.created_at,
                "actor": e.actor.username if e.actor else None,
                "actor_org": e.actor_org.code if e.actor_org else None,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "payload": e.payload,
            }
            for e in detail["events"]
        ],
        "conversions": [
            {"kind": c.kind, "reference": c.reference, "on": c.on} for c in detail["conversions"]
        ],
        "awards": [{"description": a.description, "on": a.on} for a in detail["awards"]],
        "verbs": detail["verbs"],
    }


# --- public -----------------------------------------------------------------------------------


@router.get(
    "/solicitations",
    response={200: list[SolicitationOut], **ERRORS},
    summary="Open solicitations",
)
def solicitations(request: HttpRequest) -> list[dict[str, Any]]:
    return [_solicitation(s) for s in sel.open_solicitations()]


@router.get(
    "/solicitations/{solicitation_id}",
    response={200: SolicitationOut, **ERRORS},
    summary="A solicitation",
)
def solicitation(request: HttpRequest, solicitation_id: RowId) -> dict[str, Any]:
    return _solicitation(sel.solicitation_get(solicitation_id))


@router.post(
    "/suggestions",
    response={201: SuggestionReceiptOut, **ERRORS},
    auth=PublicOrStaff(),
    summary="Submit a suggestion",
)
def submit(request: HttpRequest, payload: SuggestionIn) -> Status[dict[str, Any]]:
    receipt = services.suggestion_submit(
        data=services.SuggestionSubmission(**payload.model_dump()),
        actor=caller(request),
        client_ip=client_ip(request),
    )
    sug = receipt.suggestion
    return Status(
        201,
        {
            "id": sug.pk,
            "tracking_number": sug.tracking_number,
            "access_key": receipt.access_key,
            "org": sug.org.code,
            "status": sug.status,
        },
    )


@router.get(
    "/suggestions/public",
    response={200: list[PublicSuggestionOut], **ERRORS},
    summary="Published suggestions and suggestions open to support",
)
def public_list(
    request: HttpRequest, filters: Query[SuggestionPublicQuery]
) -> list[dict[str, Any]]:
    return sel.public_suggestions(solicitation_id=filters.solicitation_id)


@router.get(
    "/suggestions/track/{tracking_number}",
    response={200: SuggestionTrackOut, **ERRORS},
    summary="Track a suggestion",
)
def track(
    request: HttpRequest, tracking_number: TrackingNumber, x_access_key: AccessKey = ""
) -> dict[str, Any]:
    sug = sel.tracked_suggestion(tracking_number, x_access_key, ip=client_ip(request))
    return sel.tracked_view(sug)


@router.post(
    "/suggestions/{suggestion_id}/supports",
    response={202: SupportRequestOut, **ERRORS},
    summary="Ask for a confirmation code to support a suggestion",
)
def support_request(
    request: HttpRequest, suggestion_id: RowId, payload: SuggestionContactIn
) -> Status[dict[str, Any]]:
    services.support_request(
        suggestion_id=suggestion_id, contact=payload.contact, client_ip=client_ip(request)
    )
    return Status(202, {"sent": True})


@router.post(
    "/suggestions/{suggestion_id}/supports/confirm",
    response={200: SupportCountOut, **ERRORS},
    summary="Confirm a support with the code",
)
def support_confirm(
    request: HttpRequest, suggestion_id: RowId, payload: SuggestionConfirmIn
) -> dict[str, Any]:
    count = services.support_confirm(
        suggestion_id=suggestion_id,
        contact=payload.contact,
        code=payload.code,
        client_ip=client_ip(request),
    )
    return {"supports": count}


# --- staff ------------------------------------------------------------------------------------


@router.post(
    "/solicitations",
    response={201: SolicitationOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Publish a solicitation",
)
def publish(request: HttpRequest, payload: SolicitationIn) -> Status[dict[str, Any]]:
    sol = services.solicitation_publish(actor=staff_user(request), **payload.model_dump())
    return Status(201, _solicitation(sol))


@router.post(
    "/solicitations/{solicitation_id}/close",
    response={200: SolicitationOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Close a solicitation",
)
def close(
    request: HttpRequest, solicitation_id: RowId, payload: SuggestionCloseIn
) -> dict[str, Any]:
    sol = services.solicitation_close(
        actor=staff_user(request), solicitation_id=solicitation_id, on=payload.on
    )
    return _solicitation(sol)


@router.get(
    "/suggestions/stats",
    response={200: SuggestionStatsOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Suggestion statistics",
)
def stats(request: HttpRequest, filters: Query[SuggestionStatsQuery]) -> dict[str, Any]:
    return sel.suggestion_stats(staff_user(request), since=filters.since, until=filters.until)


@router.get(
    "/suggestions",
    response={200: SuggestionListOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="List suggestions",
)
def list_suggestions(request: HttpRequest, filters: Query[SuggestionListQuery]) -> dict[str, Any]:
    qs = sel.staff_suggestions(
        staff_user(request),
        status=filters.status,
        solicitation_id=filters.solicitation_id,
        q=filters.q,
    )
    page = qs[filters.offset : filters.offset + filters.limit]
    return {"count": qs.count(), "results": [_summary(s) for s in page]}


@router.get(
    "/suggestions/{suggestion_id}",
    response={200: SuggestionOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="A suggestion",
)
def read(request: HttpRequest, suggestion_id: RowId) -> dict[str, Any]:
    user = staff_user(request)
    return present_suggestion(sel.suggestion_for(user, suggestion_id), user)


ACTIONS: dict[str, tuple[type[In], Callable[..., Any]]] = {
    "assess": (SuggestionAssessIn, services.suggestion_assess),
    "forward": (SuggestionForwardIn, services.suggestion_forward),
    "opinion": (SuggestionOpinionIn, services.suggestion_opinion),
    "decide": (SuggestionDecideIn, services.suggestion_decide),
    "reply": (SuggestionReplyIn, services.suggestion_reply),
    "convert": (SuggestionConvertIn, services.suggestion_convert),
    "award": (SuggestionAwardIn, services.suggestion_award),
    "reclassify": (SuggestionReclassifyIn, services.suggestion_reclassify),
}


def _register_action(verb: str, schema: type[In], service: Callable[..., Any]) -> None:
    def act(request: HttpRequest, suggestion_id: RowId, payload: schema) -> dict[str, Any]:  # type: ignore[valid-type]
        user = staff_user(request)
        sel.suggestion_for(user, suggestion_id)
        service(suggestion_id=suggestion_id, actor=user, **payload.model_dump())  # type: ignore[attr-defined]
        return present_suggestion(sel.suggestion_for(user, suggestion_id), user)

    act.__name__ = f"suggestion_{verb}"
    router.post(
        f"/suggestions/{{suggestion_id}}/actions/{verb}",
        response={200: SuggestionOut, **ERRORS},
        auth=STAFF_AUTH,
        summary=f"Suggestion: {verb}",
        operation_id=f"suggestion_{verb}",
    )(act)


for _verb, (_schema, _service) in ACTIONS.items():
    _register_action(_verb, _schema, _service)
