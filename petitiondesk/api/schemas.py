"""Request and response shapes of the JSON API v1 (api.md). Validation of rules lives in services."""

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from ninja.params.functions import Header, Path
from pydantic import AfterValidator, ConfigDict, Field, field_validator


class ErrorBody(Schema):
    code: str = Field(description="machine-readable, e.g. invalid_input, not_found (docs/api.md)")
    message: str
    fields: dict[str, Any] = Field(description="the fields at fault, or details such as right_org")


class ErrorOut(Schema):
    """The one error envelope of the API: {"error": {"code", "message", "fields"}}."""

    error: ErrorBody


# Every error status the API answers with (docs/api.md "Errors"); declared on each route as
# `response={200: SomeOut, **ERRORS}` so that the OpenAPI schema documents them.
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429)
ERRORS: dict[int, type[ErrorOut]] = dict.fromkeys(ERROR_STATUSES, ErrorOut)


def storable(value: Any) -> Any:
    """`value` if every text in it can be stored; else a ValueError, which the API answers with 400
    `invalid_input` naming the field. A lone surrogate (JSON can spell one, "\\ud800") cannot be
    encoded for any database, and PostgreSQL refuses NUL in text (SQLite takes it): unchecked,
    either fails deep inside a service or a query as a 500."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            storable(item)
    return value


# The petitioner's access key, under the header name clients send (`X-Access-Key`); a parameter
# named `x_access_key` would otherwise be documented, and proxies drop headers with underscores.
# Use as `x_access_key: AccessKey = ""`.
AccessKey = Annotated[
    str, Header(alias="X-Access-Key", description="the access key given on submission")
]
# A tracking number in a path: `tracking_number: TrackingNumber` (text checked as in `storable`).
TrackingNumber = Annotated[str, Path(), AfterValidator(storable)]


class Input(Schema):
    """Any request model, body or query string: all its text is checked by `storable`."""

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)


class In(Input):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class PetitionerIn(In):
    name: str = ""
    phone: str = ""
    id_number: str = ""
    address: str = ""
    email: str = ""


class SubmitIn(In):
    title: str
    content: str
    category: Literal["claim", "suggestion", "accusation"] | None = None
    topic: str | None = None
    division_code: str = ""
    channel: Literal["web", "api", "letter", "visit", "phone", "fax", "email"] | None = None
    received_on: dt.date | None = None
    to_org: str | None = None
    petitioners: list[PetitionerIn] = []
    representatives: int = Field(0, ge=0, le=10_000)
    people_count: int = Field(1, ge=1, le=1_000_000)
    anonymous: bool = False
    confidential: bool = False
    accused_orgs: list[str] = Field(default_factory=list, max_length=20)
    urgent: bool = False
    location: str = Field("", description="where the problem is (not the petitioner's address)")
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)


class DeadlineOut(Schema):
    rule: str
    start_on: dt.date
    due_on: dt.date
    method: str
    calendar_version: str
    provisional: bool
    statutory: bool
    state: str


class FlagOut(Schema):
    """An earlier case on the same matter that stops this one: `final` (Art. 36 ¶3) or
    `same_matter_pending` (Art. 19 ¶3)."""

    kind: Literal["final", "same_matter_pending"]
    case_id: int
    tracking_number: str
    status: str
    org: str


class SuggestionOut(Schema):
    value: str
    label: str
    confidence: float


class DuplicateOut(Schema):
    id: int
    score: float
    relation: str = "duplicate"  # or same_matter: the same petitioner on the same matter
    basis: list[str] = []


class SubmitOut(Schema):
    id: int
    tracking_number: str
    access_key: str | None = None
    status: str
    received_on: dt.date
    org: str
    deadlines: list[DeadlineOut]
    duplicates: list[DuplicateOut]
    flags: list[FlagOut] = []
    suggested_routes: list[dict[str, object]]
    suggestions: dict[str, list[SuggestionOut]] = {}


class PetitionerOut(Schema):
    name: str
    phone: str
    id_number: str
    address: str
    email: str


class EventOut(Schema):
    verb: str
    effective_on: dt.date
    created_at: dt.datetime
    actor: str | None
    actor_org: str | None
    by_petitioner: bool
    from_status: str
    to_status: str
    payload: dict[str, object]


class LinkOut(Schema):
    other_id: int
    relation: str
    score: float | None = None  # estimated text similarity, for links proposed at intake
    basis: list[str] = []  # why: same_text, similar_text, same_petitioner, same_org


class CaseSummaryOut(Schema):
    id: int
    tracking_number: str
    title: str
    status: str
    category: str
    topic: str
    channel: str
    received_on: dt.date
    org: str
    is_overdue: bool


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    by_petitioner: bool


class CaseOut(CaseSummaryOut):
    content: str
    division_code: str
    profile: str
    claim_route: int | None
    outcome: str
    rating: str
    extension_days: int
    anonymous: bool
    confidential: bool
    people_count: int
    representatives: int
    location: str
    lat: float | None
    lng: float | None
    petitioners: list[PetitionerOut]
    accused_orgs: list[str]
    deadlines: list[DeadlineOut]
    events: list[EventOut]
    links: list[LinkOut]
    flags: list[FlagOut] = []
    attachments: list[AttachmentOut]
    version: int


class CaseListOut(Schema):
    count: int
    page: int
    page_size: int
    results: list[CaseSummaryOut]


class Action(In):
    effective_on: dt.date | None = None


class RouteIn(Action):
    to_org: str
    mode: Literal["forward", "assign", "report_urgent", "to_political_legal", "to_discipline"] = (
        "forward"
    )
    assign_due_on: dt.date | None = None


class ReasonIn(Action):
    reason: str


class AcceptIn(Action):
    claim_route: int | None = Field(None, ge=1, le=6)
    category: Literal["claim", "suggestion", "accusation"] | None = None
    topic: str | None = None
    new_facts: str | None = None


class DeclineIn(Action):
    reason_code: str
    reason: str


class ExtendIn(Action):
    days: int = Field(ge=1, le=366)
    reason: str
    approved_by: str | None = None
    petitioner_notified_on: dt.date | None = None


class OpinionIn(Action):
    outcome: Literal["support", "explain", "not_support"]
    opinion: str
    delivered_on: dt.date | None = None


class AppealIn(Action):
    to_org: str
    justified_reason: str | None = None
    approved_by: str | None = None


class HearingIn(Action):
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")


class AssignIn(Action):
    username: str = Field(max_length=150)


class LinkIn(Action):
    other_id: int
    relation: Literal["duplicate", "same_matter", "related"]


class TrackEventOut(Schema):
    verb: str
    effective_on: dt.date
    text: dict[str, object]


class TrackOut(Schema):
    tracking_number: str
    title: str
    status: str
    category: str
    received_on: dt.date
    org: str
    deadlines: list[DeadlineOut]
    timeline: list[TrackEventOut]
    replies: list[dict[str, object]]
    rating: str


class RateIn(In):
    rating: Literal["satisfied", "basically_satisfied", "dissatisfied"]
    comment: str | None = None


class TrackAppealIn(In):
    to_org: str


class MaterialIn(In):
    text: str
