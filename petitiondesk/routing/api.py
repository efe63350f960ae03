"""Reply assistance over the JSON API: the similar answered cases of a case and the Art. 32
completeness check of a draft opinion. Thin adapters over `replies`; mounted by
petitiondesk/api/urls.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path as PathParam
from ninja import Query, Router, Schema
from pydantic import Field

from petitiondesk.api.auth import STAFF_AUTH, staff_user
from petitiondesk.api.schemas import ERRORS, In, Input
from petitiondesk.cases.selectors import READ_ROLES, access_case
from petitiondesk.core.errors import InvalidInput, PermissionDenied

from .replies import check_opinion, similar_replies

router = Router(tags=["reply assistance"])

RowId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
DRAFT_MAX = 20_000  # an opinion's limit (web/desk/forms.py OpinionForm)


class SimilarQuery(Input):
    k: int = Field(5, ge=1, le=20, description="how many cases")


class SimilarReplyOut(Schema):
    case_id: int
    tracking_number: str
    title: str
    score: float = Field(description="cosine similarity of title and content, 0–1")
    verb: str = Field(description="reply, decide_review or decide_rereview")
    outcome: str
    replied_on: dt.date
    org: str = Field(description="the organisation that gave the opinion")
    opinion: str


class SimilarRepliesOut(Schema):
    results: list[SimilarReplyOut]
    indexed: int | None = Field(description="answered cases in the model; null: not built yet")
    built_at: dt.datetime | None


class CheckIn(In):
    text: str = Field(max_length=DRAFT_MAX, description="the draft opinion, Chinese or English")


class ElementOut(Schema):
    element: str = Field(description="request, facts, opinion or legal_basis")
    present: bool
    evidence: str = Field(description="the text that matched, with some context")


class CheckOut(Schema):
    complete: bool
    elements: list[ElementOut]
    missing: list[str]


@router.get(
    "/petitions/{case_id}/similar-replies",
    response={200: SimilarRepliesOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Similar answered cases and their replies",
)
def similar(request: HttpRequest, case_id: RowId, query: Query[SimilarQuery]) -> dict[str, Any]:
    user = staff_user(request)
    case = access_case(user, case_id)
    found = similar_replies(user=user, case=case, k=query.k)
    return {
        "results": [r.__dict__ for r in found.results],
        "indexed": found.indexed,
        "built_at": found.built_at,
    }


@router.post(
    "/opinions/check",
    response={200: CheckOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Check a draft opinion for the four elements of Art. 32",
)
def check(request: HttpRequest, payload: CheckIn) -> dict[str, Any]:
    user = staff_user(request)
    if user.role not in READ_ROLES:
        raise PermissionDenied("forbidden", _("your role does not write opinions"))
    if not payload.text.strip():
        raise InvalidInput("empty_draft", _("the draft is empty"), fields={"text": "empty"})
    return check_opinion(payload.text).as_dict()
