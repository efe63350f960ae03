"""Request and response shapes of the JSON API v1 (api.md). Validation of rules lives in services."""

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class In(Schema):
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


class DeadlineOut(Schema):
    rule: str
    start_on: dt.date
    due_on: dt.date
    method: str
    calendar_version: str
    provisional: bool
    statutory: bool
    state: str


class DuplicateOut(Schema):
    id: int
    score: float


class SubmitOut(Schema):
    id: int
    tracking_number: str
    access_key: str | None = None
    status: str
    received_on: dt.date
    org: str
    deadlines: list[DeadlineOut]
    duplicates: list[DuplicateOut]
    suggested_routes: list[dict[str, object]]


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
    petitioners: list[PetitionerOut]
    accused_orgs: list[str]
    deadlines: list[DeadlineOut]
    events: list[EventOut]
    links: list[LinkOut]
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
