"""Words for what the petitioner is shown: steps, clocks and deadlines in plain language.

Presentation only: which steps, clocks and texts the petitioner may see is decided by the case
selectors (`petitioner_timeline`, `petitioner_deadlines`, `petitioner_options`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from petitiondesk.accounts.selectors import org_names
from petitiondesk.calendar.engine import ClockSpec, Method
from petitiondesk.calendar.profiles import Profile
from petitiondesk.cases.models import Case, Deadline

# What each clock is, in the petitioner's words.
RULE_LABELS: dict[str, Promise] = {
    "routing": gettext_lazy("The petition office registers and forwards your petition"),
    "notice": gettext_lazy("You are told in writing whether it is accepted (受理告知)"),
    "handling": gettext_lazy("Written reply on the matter (处理意见)"),
    "review_decision": gettext_lazy("Decision on your review request (复查意见)"),
    "rereview_decision": gettext_lazy("Decision on your re-review request (复核意见)"),
    "review_request": gettext_lazy("Your time to request a review (复查)"),
    "rereview_request": gettext_lazy("Your time to request a re-review (复核)"),
    "rating": gettext_lazy("Your time to rate the handling"),
}

STATE_LABELS: dict[str, Promise] = {
    Deadline.State.OPEN: gettext_lazy("due"),
    Deadline.State.MET: gettext_lazy("done in time"),
    Deadline.State.MISSED: gettext_lazy("late"),
}

VERB_LABELS: dict[str, Promise] = {
    "register": gettext_lazy("Petition received"),
    "route": gettext_lazy("Forwarded to the responsible organ"),
    "accept": gettext_lazy("Accepted (受理)"),
    "decline": gettext_lazy("Not accepted"),
    "extend": gettext_lazy("Handling time extended"),
    "reply": gettext_lazy("Written reply given (处理意见)"),
    "request_review": gettext_lazy("Review requested (复查)"),
    "decide_review": gettext_lazy("Review decided (复查意见)"),
    "request_rereview": gettext_lazy("Re-review requested (复核)"),
    "hearing": gettext_lazy("Hearing held (听证)"),
    "decide_rereview": gettext_lazy("Re-review decided (复核意见)"),
    "close": gettext_lazy("Closed"),
    "rate": gettext_lazy("You rated the handling"),
    "add_material": gettext_lazy("You added material"),
}

CATEGORY_HELP: dict[str, Promise] = {
    "": gettext_lazy("The petition office will classify it for you."),
    Case.Category.SUGGESTION: gettext_lazy(
        "Ideas and proposals to improve the work of a government body or public service."
    ),
    Case.Category.ACCUSATION: gettext_lazy(
        "Reporting wrongdoing by an official or body (e.g. abuse of power, corruption). The "
        "accused never see who you are."
    ),
    Case.Category.CLAIM: gettext_lazy(
        "A request about your own rights or interests, or a complaint about how a decision "
        "affected you. Only claims can be reviewed and re-reviewed."
    ),
}

DECLINE_REASONS: dict[str, Promise] = {
    "late": gettext_lazy("the time limit for this request has passed"),
    "skip_level": gettext_lazy("it was sent to an organ above the one that should handle it"),
    "same_matter_pending": gettext_lazy("the same matter is already being handled"),
    "final": gettext_lazy("the matter was already finally decided"),
    "not_a_petition": gettext_lazy("it is not a petition matter"),
    "out_of_scope": gettext_lazy("it is outside the scope of petition work"),
    "litigation": gettext_lazy("it belongs to a court procedure"),
    "other": gettext_lazy("another reason"),
}


def duration(spec: ClockSpec) -> str:
    """'15 days', '5 working days' or 'at once'."""
    if spec.method in (Method.IMMEDIATE, Method.SAME_DAY) or spec.days == 0:
        return _("at once")
    if spec.method == Method.WORKING_DAYS:
        return ngettext("%(n)d working day", "%(n)d working days", spec.days) % {"n": spec.days}
    return ngettext("%(n)d day", "%(n)d days", spec.days) % {"n": spec.days}


@dataclass(frozen=True)
class Stage:
    title: str
    what: str
    how_long: str


def stages(profile: Profile) -> list[Stage]:
    """The steps of the procedure with the profile's clocks, for the home page."""
    c = profile.clock
    return [
        Stage(
            _("Registration and forwarding"),
            _(
                "The petition office registers your petition and forwards it to the organ "
                "responsible for the matter."
            ),
            duration(c("routing")),
        ),
        Stage(
            _("Acceptance notice"),
            _("The responsible organ tells you in writing whether it accepts the matter."),
            duration(c("notice")),
        ),
        Stage(
            _("Handling and written reply"),
            _(
                "The organ looks into the matter and gives you a written reply. In a complex "
                "case it may extend this by up to %(days)s, and must tell you why."
            )
            % {"days": duration(ClockSpec(profile.max_extension_days, c("handling").method))},
            duration(c("handling")),
        ),
        Stage(
            _("Review (复查)"),
            _(
                "If you disagree with the reply to a claim, you may ask the organ one level up "
                "to review it within %(ask)s of receiving the reply. It decides within %(decide)s."
            )
            % {"ask": duration(c("review_request")), "decide": duration(c("review_decision"))},
            duration(c("review_decision")),
        ),
        Stage(
            _("Re-review (复核)"),
            _(
                "If you disagree with the review, you may ask the next level up for a re-review "
                "within %(ask)s. Its decision is final."
            )
            % {"ask": duration(c("rereview_request"))},
            duration(c("rereview_decision")),
        ),
        Stage(
            _("Your rating"),
            _("After each written reply you may say how satisfied you are with the handling."),
            duration(c("rating")),
        ),
    ]


@dataclass(frozen=True)
class Line:
    on: dt.date
    label: str
    detail: str


def _date(value: Any) -> str:
    try:
        return date_format(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value or "")


def _detail(verb: str, text: dict[str, Any], names: dict[str, str]) -> str:
    if verb in ("route", "request_review", "request_rereview") and text.get("to_org"):
        return _("to %(org)s") % {"org": names.get(text["to_org"], text["to_org"])}
    if verb == "accept" and text.get("procedure"):
        return _("Procedure: %(p)s") % {
            "p": _(str(text["procedure"]))
        }  # stored as CLAIM_ROUTES wrote it
    if verb == "decline":
        reason = DECLINE_REASONS.get(text.get("reason_code", ""), "")
        return " ".join(str(x) for x in (reason, text.get("reason", "")) if x)
    if verb == "extend" and text.get("days"):
        return _("by %(days)s days, to %(due)s: %(reason)s") % {
            "days": text["days"],
            "due": _date(text.get("due_on")),
            "reason": text.get("reason", ""),
        }
    if verb == "hearing":
        return _("from %(a)s to %(b)s") % {"a": _date(text.get("from")), "b": _date(text.get("to"))}
    if verb == "rate" and text.get("rating") in Case.Rating.values:
        return str(Case.Rating(text["rating"]).label)
    return ""


def timeline_lines(timeline: list[dict[str, Any]]) -> list[Line]:
    codes = sorted({e["text"]["to_org"] for e in timeline if e["text"].get("to_org")})
    names = org_names(codes)
    return [
        Line(
            e["effective_on"],
            str(VERB_LABELS.get(e["verb"], e["verb"])),
            _detail(e["verb"], e["text"], names),
        )
        for e in timeline
    ]


@dataclass(frozen=True)
class DeadlineRow:
    label: str
    due_on: dt.date
    state: str
    open: bool
    provisional: bool


def deadline_rows(deadlines: list[Deadline]) -> list[DeadlineRow]:
    return [
        DeadlineRow(
            label=str(RULE_LABELS.get(d.rule, d.rule)),
            due_on=d.due_on,
            state=str(STATE_LABELS.get(d.state, d.state)),
            open=d.state == Deadline.State.OPEN,
            provisional=d.provisional,
        )
        for d in deadlines
    ]


def reply_rows(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "label": str(VERB_LABELS.get(r["verb"], r["verb"])),
            "outcome": str(Case.Outcome(r["outcome"]).label)
            if r.get("outcome") in Case.Outcome.values
            else "",
            "opinion": r.get("opinion") or "",
            "delivered_on": dt.date.fromisoformat(r["delivered_on"])
            if r.get("delivered_on")
            else None,
        }
        for r in replies
    ]
