"""What a notice says: its facts, read from the case and its events plus what staff fill in.

Each kind of notice reports one step of the case (`STEP_OF_KIND`); a notice of a step the case has
not taken is refused. Facts are plain JSON values (dates as ISO text), frozen with the notice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases import deadlines as dl
from petitiondesk.cases.models import CONTENT_MAX, TEXT_FIELD_MAX, Case, CaseEvent, Deadline
from petitiondesk.cases.selectors import appeal_target
from petitiondesk.core import clock
from petitiondesk.core.errors import Conflict, InvalidInput
from petitiondesk.core.text import clean_text

from .models import Kind, Language

K = Kind
# The step of the case each kind of notice reports (the supervision notice reports a missed clock).
STEP_OF_KIND = {
    K.ACCEPTANCE: "accept",
    K.DIVERSION: "accept",
    K.NON_ACCEPTANCE: "decline",
    K.EXTENSION: "extend",
    K.HANDLING_OPINION: "reply",
    K.REVIEW_OPINION: "decide_review",
    K.REREVIEW_OPINION: "decide_rereview",
}
OPINION_KINDS = frozenset({K.HANDLING_OPINION, K.REVIEW_OPINION, K.REREVIEW_OPINION})
APPEAL_REQUEST: dict[str, str] = {
    K.REVIEW_OPINION: "request_review",
    K.REREVIEW_OPINION: "request_rereview",
}
PREVIOUS_OPINION: dict[str, str] = {K.REVIEW_OPINION: "reply", K.REREVIEW_OPINION: "decide_review"}

ZH, EN = Language.ZH_HANS.value, Language.EN.value
# Art. 31 routes 1–5 as a notice names the procedure.
PROCEDURES = {
    ZH: {
        1: "诉讼",
        2: "仲裁",
        3: "党员申诉",
        4: "行政复议等行政程序",
        5: "申请有关机关履行法定职责",
    },
    EN: {
        1: "litigation",
        2: "arbitration",
        3: "Party-member appeal",
        4: "administrative reconsideration or another administrative procedure",
        5: "an application to the competent body to perform its duty",
    },
}
OUTCOMES = {
    ZH: {"support": "予以支持", "explain": "予以解释说明", "not_support": "不予支持"},
    EN: {"support": "Supported", "explain": "Explained", "not_support": "Not supported"},
}
RULES = {
    ZH: {
        "routing": "转送交办",
        "notice": "受理告知",
        "handling": "办理",
        "assignment": "交办",
        "review_decision": "复查",
        "rereview_decision": "复核",
        "urgent_report": "紧急报告",
    },
    EN: {
        "routing": "routing",
        "notice": "acceptance notice",
        "handling": "handling",
        "assignment": "assignment",
        "review_decision": "review",
        "rereview_decision": "re-review",
        "urgent_report": "urgent report",
    },
}
# The legal basis a non-acceptance notice cites by default, by reason code (staff may write
# another).
DECLINE_BASIS = {
    "late": "《信访工作条例》第三十五条、第三十六条",
    "skip_level": "《信访工作条例》第三十五条、第三十六条",
    "same_matter_pending": "《信访工作条例》第十九条第三款",
    "final": "《信访工作条例》第三十六条第三款",
    "not_a_petition": "《信访工作条例》第二十三条",
    "out_of_scope": "《信访工作条例》第二十三条",
    "litigation": "《信访工作条例》第二十二条第二款、第二十八条",
    "other": "《信访工作条例》第二十三条",
}
ANONYMOUS = {ZH: "匿名信访人", EN: "the petitioner (anonymous)"}


@dataclass(frozen=True)
class StaffFields:
    """What staff write on issuance (prefilled from the case where it has them)."""

    request: str | None = None
    facts_found: str | None = None
    legal_basis: str | None = None
    answer_by: dt.date | None = None
    requirements: str | None = None


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _latest(events: list[CaseEvent], verb: str) -> CaseEvent | None:
    found = [e for e in events if e.verb == verb]
    return found[-1] if found else None


def _not_applicable(kind: str, why: str) -> Conflict:
    return Conflict(
        "notice_not_applicable",
        _("a %(kind)s cannot be issued: %(why)s") % {"kind": Kind(kind).label, "why": why},
        fields={"kind": kind},
    )


def step_event(case: Case, kind: str, events: list[CaseEvent]) -> CaseEvent | None:
    """The event the notice reports, or `Conflict("notice_not_applicable")` when the case's
    history does not support the kind. None for a supervision notice (it reports a clock)."""
    if kind == K.SUPERVISION:
        return None
    verb = STEP_OF_KIND[Kind(kind)]
    event = _latest(events, verb)
    if event is None:
        raise _not_applicable(kind, _("the case has no %(verb)s step") % {"verb": verb})
    if kind == K.ACCEPTANCE and event.to_status != Case.Status.ACCEPTED:
        raise _not_applicable(kind, _("the claim was diverted to another procedure"))
    if kind == K.DIVERSION and event.to_status != Case.Status.DIVERTED:
        raise _not_applicable(kind, _("the case was not diverted to another procedure"))
    return event


def missed_clock(case: Case, deadlines: list[Deadline]) -> Deadline:
    """The organ's missed clock a supervision notice is about."""
    missed = [
        d
        for d in dl.owed(deadlines, *{d.rule for d in deadlines})
        if d.duty and d.state == Deadline.State.MISSED
    ]
    if not missed:
        raise _not_applicable(K.SUPERVISION, _("no clock of the case is overdue"))
    return missed[0]


def _text(value: str | None, name: str, *, required: bool, limit: int = TEXT_FIELD_MAX) -> str:
    return clean_text(value, name, limit=limit, required=required)


def build_facts(
    *,
    case: Case,
    kind: str,
    language: str,
    issuer: Organisation,
    event: CaseEvent | None,
    events: list[CaseEvent],
    deadlines: list[Deadline],
    petitioner_names: list[str],
    fields: StaffFields,
) -> dict[str, Any]:
    """The notice's facts, checked (`InvalidInput` for a missing or bad staff field)."""
    facts: dict[str, Any] = {
        "tracking_number": case.tracking_number,
        "title": case.title,
        "petitioner": "、".join(n for n in petitioner_names if n) or ANONYMOUS[language],
        "received_on": _iso(case.received_on),
        "org": issuer.name,
        "holder": case.org.name,
        "category": case.category,
    }
    payload = event.payload if event else {}
    accept = _latest(events, "accept")
    if accept:
        facts["accepted_on"] = _iso(accept.effective_on)
    if kind == K.ACCEPTANCE:
        handling = [d for d in deadlines if d.rule == "handling" and d.state != "void"]
        facts["handling_due_on"] = _iso(handling[-1].due_on) if handling else None
    elif kind == K.DIVERSION:
        route = int(payload.get("claim_route") or case.claim_route or 0)
        facts["claim_route"] = route
        facts["procedure"] = PROCEDURES[language].get(route, "")
    elif kind == K.NON_ACCEPTANCE:
        assert event is not None
        code = payload.get("reason_code", "other")
        facts.update(
            declined_on=_iso(event.effective_on),
            reason_code=code,
            reason=payload.get("reason", ""),
            legal_basis=_text(fields.legal_basis, "legal_basis", required=False)
            or DECLINE_BASIS.get(code, DECLINE_BASIS["other"]),
        )
    elif kind == K.EXTENSION:
        assert event is not None
        facts.update(
            extended_on=_iso(event.effective_on),
            days=payload.get("days"),
            reason=payload.get("reason", ""),
            due_on=payload.get("due_on"),
        )
    elif kind in OPINION_KINDS:
        assert event is not None
        outcome = payload.get("outcome", "")
        facts.update(
            decided_on=_iso(event.effective_on),
            outcome=outcome,
            outcome_text=OUTCOMES[language].get(outcome, outcome),
            opinion=payload.get("opinion", ""),
            # The request is prefilled with the petition's content when staff give none.
            request=_text(fields.request, "request", required=False, limit=CONTENT_MAX)
            or case.content,
            facts_found=_text(fields.facts_found, "facts_found", required=True, limit=CONTENT_MAX),
            legal_basis=_text(fields.legal_basis, "legal_basis", required=True),
        )
        target = appeal_target(case)
        if kind != K.REREVIEW_OPINION:
            facts["appeal_org"] = target.name if target else ""
        if kind in APPEAL_REQUEST:
            request = _latest(events, APPEAL_REQUEST[kind])
            previous = _latest(events, PREVIOUS_OPINION[kind])
            facts["requested_on"] = _iso(request.effective_on) if request else None
            facts["decided_by"] = previous.actor_org.name if previous and previous.actor_org else ""
    elif kind == K.SUPERVISION:
        missed = missed_clock(case, deadlines)
        if fields.answer_by is None:
            raise InvalidInput(
                "missing_field",
                _("a supervision notice needs answer_by, the date to answer by"),
                fields={"answer_by": "required"},
            )
        if fields.answer_by < clock.today():
            raise InvalidInput(
                "invalid_input",
                _("answer_by must not be in the past"),
                fields={"answer_by": "in the past"},
            )
        facts.update(
            addressee=case.org.name,
            rule=missed.rule,
            rule_text=RULES[language].get(missed.rule, missed.rule),
            missed_due_on=_iso(missed.due_on),
            answer_by=_iso(fields.answer_by),
            requirements=_text(fields.requirements, "requirements", required=False),
        )
    return facts
