"""Case verbs: one service function per verb of api.md, each one transaction.

Every function is keyword-only, checks the transition (`transitions.check_transition`), the actor's
role and organisation, and the rules of the Regulations, then writes the case change, its deadlines
and one `CaseEvent` together. A refused call raises a `DomainError` and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import org_accused_scope, org_ancestor_ids
from petitiondesk.calendar.engine import ClockSpec, Method, hearing_days_inclusive
from petitiondesk.calendar.profiles import Profile, get_profile
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleRefusal,
)
from petitiondesk.core.text import clean_text
from petitiondesk.routing.advice import record_choice
from petitiondesk.supervision.services import breach_record

from . import deadlines as dl
from .models import CONTENT_MAX, TEXT_FIELD_MAX, Case, CaseEvent, CaseLink, Deadline
from .selectors import appeal_target, visible_cases
from .transitions import SIDE_VERBS, check_role, check_transition, repeat_flag

security_log = logging.getLogger("petitiondesk.security")

S = Case.Status

# Art. 31: the five routes that divert a claim to another legal procedure. Stored in events as
# written here; pages show them translated (gettext_noop marks them for the catalogue).
CLAIM_ROUTES = {
    1: gettext_noop("litigation (诉讼)"),
    2: gettext_noop("arbitration (仲裁)"),
    3: gettext_noop("Party-member appeal (党员申诉)"),
    4: gettext_noop(
        "administrative reconsideration or other administrative procedure (行政复议等)"
    ),
    5: gettext_noop("duty performance (履职)"),
    6: gettext_noop("petition handling (信访程序)"),
}
ROUTE_MODES = ("forward", "assign", "report_urgent", "to_political_legal", "to_discipline")
DECLINE_REASONS = (
    "late",
    "skip_level",
    "same_matter_pending",
    "final",
    "not_a_petition",
    "out_of_scope",
    "litigation",
    "other",
)


# --- the frame every verb runs in -------------------------------------------------------------


@dataclass
class Step:
    """A verb in progress on a locked case."""

    case: Case
    verb: str
    actor: User | None
    by_petitioner: bool
    effective_on: dt.date
    from_status: str
    deadlines: list[Deadline]
    changed: set[str] = field(default_factory=set)
    touched: list[Deadline] = field(default_factory=list)
    created: list[Deadline] = field(default_factory=list)
    breaches: list[Deadline] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def profile(self) -> Profile:
        return get_profile(self.case.profile)

    def set(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self.case, name, value)
            self.changed.add(name)

    def open_deadlines(self, *rules: str) -> list[Deadline]:
        return dl.open_of(self.deadlines, *rules)

    def settle(self, *rules: str, done_on: dt.date | None = None) -> None:
        for d in dl.owed(self.deadlines, *rules):
            was_open = d.state == Deadline.State.OPEN
            dl.settle(d, done_on or self.effective_on)
            self.touched.append(d)
            if was_open and d.duty and d.state == Deadline.State.MISSED:
                # Done late before any sweep saw it (e.g. a backdated entry): the breach happened
                # all the same, so it is recorded as the sweep would have.
                self.breaches.append(d)

    def void(self, *rules: str) -> None:
        for d in dl.owed(self.deadlines, *rules):
            dl.void(d, self.effective_on)
            self.touched.append(d)

    def start(self, rule: str, start: dt.date | None = None, **kwargs: Any) -> Deadline:
        d = dl.new_deadline(self.case, rule, start or self.effective_on, **kwargs)
        self.created.append(d)
        return d


def resolve_effective_on(case: Case, effective_on: dt.date | None) -> dt.date:
    """Default today; never in the future; never before the previous step (api.md)."""
    today = clock.today()
    if effective_on is None:
        return max(today, case.last_effective_on)
    if effective_on > today:
        raise InvalidInput(
            "future_date",
            _("effective_on %(d)s is in the future") % {"d": effective_on},
            fields={"effective_on": "in the future"},
        )
    if effective_on < case.last_effective_on:
        raise InvalidInput(
            "date_before_previous_step",
            _("effective_on %(d)s is before the previous step (%(p)s)")
            % {"d": effective_on, "p": case.last_effective_on},
            fields={"effective_on": "before the previous step"},
        )
    return effective_on


@contextmanager
def acting(
    *,
    case_id: int,
    verb: str,
    actor: User | None,
    effective_on: dt.date | None,
    by_petitioner: bool = False,
    holder_only: bool = True,
    target: str | None = None,
) -> Iterator[Step]:
    """Lock the case, check the verb, yield a `Step`; on clean exit write change, deadlines, event."""
    with write_transaction():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            raise NotFound("not_found", _("no such case"))
        check_transition(case, verb, target)
        if not by_petitioner:
            if actor is None:
                raise PermissionDenied("forbidden", _("staff only"))
            check_role(actor, verb)
            if holder_only and actor.org_id != case.org_id:
                raise PermissionDenied(
                    "forbidden",
                    _("only the organisation holding the case may %(verb)s it") % {"verb": verb},
                )
        step = Step(
            case=case,
            verb=verb,
            actor=actor,
            by_petitioner=by_petitioner,
            effective_on=resolve_effective_on(case, effective_on),
            from_status=case.status,
            deadlines=list(case.deadlines.all()),
        )
        yield step
        _write(step)


# What a verb may change on a clock it already has.
DEADLINE_COLUMNS = [
    "state",
    "done_on",
    "start_on",
    "due_on",
    "extension_days",
    "hearing_days",
    "calendar_version",
    "provisional",
]


def _write(step: Step) -> None:
    case = step.case
    if "org" in step.changed and case.assignee_id is not None:
        step.set(assignee=None)  # a handler belongs to the organ the case has left
    if step.verb not in SIDE_VERBS and step.effective_on > case.last_effective_on:
        step.set(last_effective_on=step.effective_on)
    overdue = dl.outstanding_breach(step.deadlines)  # new clocks are open: they cannot be late
    if overdue != case.is_overdue:
        step.set(is_overdue=overdue)
    if step.changed:
        values = {name: getattr(case, name) for name in step.changed}
        # The row lock already serialises writers; the version check also catches a writer that
        # slipped past it (e.g. a connection without row locks).
        updated = Case.objects.filter(pk=case.pk, version=case.version).update(
            **values, version=F("version") + 1, updated_at=timezone.now()
        )
        if updated != 1:
            raise Conflict("conflict", _("the case was changed by someone else; reload and retry"))
        case.version += 1
    touched = set(step.touched)
    if len(touched) == 1:
        # Most verbs touch one clock. bulk_update builds a CASE WHEN per column for it, which took
        # a fifth of a bulk import's time; a plain UPDATE writes the same row.
        [d] = touched
        Deadline.objects.filter(pk=d.pk).update(**{f: getattr(d, f) for f in DEADLINE_COLUMNS})
    elif touched:
        Deadline.objects.bulk_update(touched, DEADLINE_COLUMNS)
    if step.created:
        Deadline.objects.bulk_create(step.created)
        step.deadlines.extend(step.created)
    for d in step.breaches:
        breach_record(
            case_id=case.pk, deadline_id=d.pk, rule=d.rule, due_on=d.due_on, org_id=d.org_id
        )
    CaseEvent.objects.create(
        case=case,
        verb=step.verb,
        actor=step.actor,
        actor_org_id=step.actor.org_id if step.actor else None,
        by_petitioner=step.by_petitioner,
        effective_on=step.effective_on,
        from_status=step.from_status,
        to_status=case.status,
        payload=step.payload,
    )


def _text(value: str | None, name: str, *, required: bool = True, limit: int = CONTENT_MAX) -> str:
    return clean_text(value, name, limit=limit, required=required)


def _org(code: str, name: str = "to_org") -> Organisation:
    org = Organisation.objects.filter(code=code, is_active=True).first()
    if org is None:
        raise InvalidInput(
            "unknown_org",
            _("no organisation with code %(c)s") % {"c": code},
            fields={name: "unknown"},
        )
    return org


def _linked_cases(case: Case, relations: Iterable[str]) -> list[Case]:
    rel = list(relations)
    ids = set(
        CaseLink.objects.filter(case=case, relation__in=rel).values_list("other_id", flat=True)
    ) | set(CaseLink.objects.filter(other=case, relation__in=rel).values_list("case_id", flat=True))
    return list(Case.objects.filter(pk__in=ids).select_related("org"))


# --- routing ----------------------------------------------------------------------------------


def case_route(
    *,
    case_id: int,
    actor: User,
    to_org: str,
    mode: str = "forward",
    assign_due_on: dt.date | None = None,
    effective_on: dt.date | None = None,
) -> Case:
    """Forward or assign the case to the responsible organ (Art. 22): routing clock met/missed."""
    if mode not in ROUTE_MODES:
        raise InvalidInput("invalid_input", _("mode must be one of %s") % ", ".join(ROUTE_MODES))
    target = _org(to_org)
    with acting(case_id=case_id, verb="route", actor=actor, effective_on=effective_on) as step:
        case = step.case
        if target.pk == case.org_id:
            raise InvalidInput("invalid_input", _("the case is already held by %s") % target.name)
        if case.category == Case.Category.ACCUSATION:
            accused = case.accused_orgs.values_list("id", flat=True)
            if target.pk in org_accused_scope(*accused):
                security_log.warning(
                    "refused routing accusation case=%s to accused org=%s by user=%s",
                    case.pk,
                    target.code,
                    actor.pk,
                )
                raise RuleRefusal(
                    "confidential_to_accused",
                    _(
                        "an accusation may not be routed to the accused organisation or its subordinates"
                    ),
                )
        if mode == "to_political_legal" and target.kind != Organisation.Kind.POLITICAL_LEGAL:
            raise InvalidInput(
                "invalid_input", _("%s is not a political-legal department") % target.name
            )
        if mode == "to_discipline" and target.kind != Organisation.Kind.DISCIPLINE:
            raise InvalidInput("invalid_input", _("%s is not a discipline organ") % target.name)
        if mode == "report_urgent" and target.pk not in org_ancestor_ids(case.org_id):
            raise InvalidInput(
                "invalid_input", _("an urgent report goes to a superior organisation")
            )
        if mode == "assign":
            if assign_due_on is None:
                raise InvalidInput(
                    "missing_field",
                    _("assign needs assign_due_on"),
                    fields={"assign_due_on": "required"},
                )
            if assign_due_on <= step.effective_on:
                raise InvalidInput(
                    "invalid_input",
                    _("assign_due_on must be after the routing date"),
                    fields={"assign_due_on": "not after effective_on"},
                )
        elif assign_due_on is not None:
            raise InvalidInput("invalid_input", _("assign_due_on is only for mode assign"))

        step.settle("routing", "urgent_report")
        step.void("notice", "objection", "assignment")
        step.set(
            status=S.ROUTED,
            routed_by_org=case.org,
            org=target,
        )
        if not case.anonymous:  # nobody to notify (domain.md §2)
            step.start("notice", org_id=target.pk)
        step.start("objection", org_id=target.pk)
        if assign_due_on is not None:
            days = (assign_due_on - step.effective_on).days
            step.start(
                "assignment",
                spec=ClockSpec(days=days, method=Method.CALENDAR_STRICT),
                statutory=False,
                org_id=target.pk,
            )
        step.payload = {"to_org": target.code, "mode": mode}
        if assign_due_on:
            step.payload["assign_due_on"] = assign_due_on.isoformat()
        record_choice(case.pk, org=target.code)
    return step.case


def case_object(
    *, case_id: int, actor: User, reason: str, effective_on: dt.date | None = None
) -> Case:
    """The receiving organ objects to a wrong routing within 5 working days (Art. 23 ¶3)."""
    reason = _text(reason, "reason", limit=TEXT_FIELD_MAX)
    with acting(case_id=case_id, verb="object", actor=actor, effective_on=effective_on) as step:
        window = dl.owed(step.deadlines, "objection")
        if not window or step.effective_on > window[0].due_on:
            due = window[0].due_on if window else None
            raise RuleRefusal(
                "late",
                _("the objection window ended on %(d)s") % {"d": due},
                fields={"due_on": due.isoformat() if due else None},
            )
        router = step.case.routed_by_org
        if router is None:
            raise InvalidInput("invalid_input", _("the case was not routed"))
        step.settle("objection")
        step.void("notice", "assignment")
        step.set(status=S.REGISTERED, org=router)
        # The router owes a new routing decision, on a fresh clock.
        step.start("routing", org_id=router.pk)
        step.payload = {"reason": reason, "back_to": router.code}
    return step.case


# --- acceptance -------------------------------------------------------------------------------


def case_accept(
    *,
    case_id: int,
    actor: User,
    claim_route: int | None = None,
    category: str | None = None,
    topic: str | None = None,
    new_facts: str | None = None,
    effective_on: dt.date | None = None,
) -> Case:
    """Accept (受理) and give written notice (Art. 23); claims are sorted into a route (Art. 31)."""
    if category is not None and category not in Case.Category.values:
        raise InvalidInput(
            "invalid_input", _("unknown category %s") % category, fields={"category": "unknown"}
        )
    with acting(case_id=case_id, verb="accept", actor=actor, effective_on=effective_on) as step:
        case = step.case
        if category:
            step.set(category=category)
        if topic is not None:
            step.set(topic=_text(topic, "topic", required=False, limit=64))
        if not case.category:
            raise InvalidInput(
                "missing_field",
                _("classify the case before accepting it"),
                fields={"category": "required"},
            )
        if case.category == Case.Category.CLAIM:
            if claim_route not in CLAIM_ROUTES:
                raise InvalidInput(
                    "missing_field",
                    _("a claim needs claim_route 1-6 (Art. 31)"),
                    fields={"claim_route": "1-6"},
                )
        elif claim_route is not None:
            raise InvalidInput("invalid_input", _("claim_route applies to claims only"))
        _check_repeat_rules(case, new_facts)

        step.settle("notice", "routing", "assignment", "urgent_report")
        step.void("objection")
        step.payload = {"category": case.category}
        record_choice(case.pk, category=case.category, topic=case.topic)
        if new_facts:
            step.payload["new_facts"] = _text(new_facts, "new_facts", limit=TEXT_FIELD_MAX)
        if claim_route is not None:
            step.payload["claim_route"] = claim_route
            step.payload["procedure"] = CLAIM_ROUTES[claim_route]
            step.set(claim_route=claim_route)
        if claim_route is not None and claim_route <= 5:
            step.set(status=S.DIVERTED)  # another legal procedure applies (Art. 31)
        else:
            step.set(status=S.ACCEPTED)
            handling = step.profile.handling_clock(case.category)
            if handling is not None:
                spec, statutory = handling
                step.start("handling", spec=spec, statutory=statutory)
    return step.case


def _check_repeat_rules(case: Case, new_facts: str | None) -> None:
    """Finality (Art. 36 ¶3) and same matter pending elsewhere (Art. 19 ¶3), for the cases linked
    to this one as the same matter (by intake's repeat matching or by hand)."""
    linked = _linked_cases(case, [CaseLink.Relation.SAME_MATTER])
    flags = {
        c.pk: repeat_flag(status=c.status, other_org_id=c.org_id, org_id=case.org_id)
        for c in linked
    }
    final = [c for c in linked if flags[c.pk] == "final"]
    if final and not (new_facts or "").strip():
        raise RuleRefusal(
            "final",
            _("the same matter was finally decided in %(t)s; only new facts or reasons reopen it")
            % {"t": final[0].tracking_number},
            fields={"linked_case": final[0].pk},
        )
    pending = [c for c in linked if flags[c.pk] == "same_matter_pending"]
    if pending:
        other = pending[0]
        raise RuleRefusal(
            "same_matter_pending",
            _("the same matter is being handled by %(org)s as %(t)s (status %(s)s)")
            % {"org": other.org.name, "t": other.tracking_number, "s": other.status},
            fields={"linked_case": other.pk},
        )


def case_decline(
    *,
    case_id: int,
    actor: User,
    reason_code: str,
    reason: str,
    effective_on: dt.date | None = None,
) -> Case:
    """Not accepted (不予受理), with the reason the petitioner is told."""
    if reason_code not in DECLINE_REASONS:
        raise InvalidInput(
            "invalid_input",
            _("reason_code must be one of %s") % ", ".join(DECLINE_REASONS),
            fields={"reason_code": "unknown"},
        )
    reason = _text(reason, "reason", limit=TEXT_FIELD_MAX)
    with acting(case_id=case_id, verb="decline", actor=actor, effective_on=effective_on) as step:
        step.settle("notice", "routing", "assignment", "urgent_report")
        step.void("objection")
        step.set(status=S.NOT_ACCEPTED)
        step.payload = {"reason_code": reason_code, "reason": reason}
    return step.case


# --- handling ---------------------------------------------------------------------------------


def check_extendable(case: Case, deadlines: Iterable[Deadline], days: int) -> Deadline:
    """The open handling clock an extension of `days` would move, or the Art. 34 refusal: no open
    clock, or more than the profile's total. Shared by `case_extend` and extension requests."""
    handling = dl.open_of(deadlines, "handling")
    if not handling:
        raise RuleRefusal("not_extendable", _("the case has no open handling clock to extend"))
    limit = get_profile(case.profile).max_extension_days
    if case.extension_days + days > limit:
        raise RuleRefusal(
            "extension_too_long",
            _("extensions may total at most %(n)d days (already %(a)d)")
            % {"n": limit, "a": case.extension_days},
            fields={"days": f"at most {limit - case.extension_days}"},
        )
    return handling[0]


def case_extend(
    *,
    case_id: int,
    actor: User,
    days: int,
    reason: str,
    approved_by: str | None,
    petitioner_notified_on: dt.date | None,
    effective_on: dt.date | None = None,
) -> Case:
    """Extend the handling clock (Art. 34): head's approval and a notice to the petitioner needed."""
    reason = _text(reason, "reason", limit=TEXT_FIELD_MAX)
    if not isinstance(days, int) or days < 1:
        raise InvalidInput(
            "invalid_input", _("days must be a positive number"), fields={"days": "≥ 1"}
        )
    with acting(case_id=case_id, verb="extend", actor=actor, effective_on=effective_on) as step:
        case = step.case
        clock_row = check_extendable(case, step.deadlines, days)
        approver = User.objects.filter(
            username=approved_by or "", org_id=case.org_id, role=User.Role.HEAD, is_active=True
        ).first()
        if approver is None:
            raise RuleRefusal(
                "extension_not_approved",
                _("an extension needs the approval of a head of the handling organ"),
                fields={"approved_by": "a head of the handling organ"},
            )
        if petitioner_notified_on is None and not case.anonymous:
            raise RuleRefusal(
                "extension_not_notified",
                _("an extension takes effect only once the petitioner is notified of its reason"),
                fields={"petitioner_notified_on": "required"},
            )
        if petitioner_notified_on is not None and not (
            case.last_effective_on <= petitioner_notified_on <= clock.today()
        ):
            raise InvalidInput(
                "invalid_input",
                _("petitioner_notified_on must be between the last step and today"),
                fields={"petitioner_notified_on": "out of range"},
            )
        if step.effective_on > clock_row.due_on:
            raise RuleRefusal(
                "late", _("the handling clock already ran out on %(d)s") % {"d": clock_row.due_on}
            )
        clock_row.extension_days += days
        dl.apply_due(clock_row, dl.recompute(clock_row))
        step.touched.append(clock_row)
        step.set(extension_days=case.extension_days + days)
        step.payload = {
            "days": days,
            "reason": reason,
            "approved_by": approver.username,
            "petitioner_notified_on": petitioner_notified_on.isoformat()
            if petitioner_notified_on
            else None,
            "due_on": clock_row.due_on.isoformat(),
        }
    return step.case


def _delivery(step: Step, delivered_on: dt.date | None) -> dt.date:
    delivered = delivered_on or step.effective_on
    if delivered < step.effective_on or delivered > clock.today():
        raise InvalidInput(
            "invalid_input",
            _("delivered_on must be between the decision date and today"),
            fields={"delivered_on": "out of range"},
        )
    # What follows an opinion (an appeal, a rating) cannot come before the petitioner has it.
    if delivered > step.case.last_effective_on:
        step.set(last_effective_on=delivered)
    return delivered


def _opinion(outcome: str, opinion: str) -> tuple[str, str]:
    if outcome not in Case.Outcome.values:
        raise InvalidInput(
            "invalid_input",
            _("outcome must be one of %s") % ", ".join(Case.Outcome.values),
            fields={"outcome": "unknown"},
        )
    return outcome, _text(opinion, "opinion")


def case_reply(
    *,
    case_id: int,
    actor: User,
    outcome: str,
    opinion: str,
    delivered_on: dt.date | None = None,
    effective_on: dt.date | None = None,
) -> Case:
    """The written handling opinion (信访处理意见书); its delivery opens the review window."""
    outcome, opinion = _opinion(outcome, opinion)
    with acting(case_id=case_id, verb="reply", actor=actor, effective_on=effective_on) as step:
        delivered = _delivery(step, delivered_on)
        step.settle("handling")
        step.set(status=S.REPLIED, outcome=outcome, handled_by_org=step.case.org)
        if step.case.category == Case.Category.CLAIM:
            step.start("review_request", delivered)
        step.start("rating", delivered)
        step.payload = {
            "outcome": outcome,
            "opinion": opinion,
            "delivered_on": delivered.isoformat(),
        }
    return step.case


# --- appeals ----------------------------------------------------------------------------------


def _request_appeal(
    *,
    case_id: int,
    actor: User | None,
    by_petitioner: bool,
    verb: str,
    window_rule: str,
    decision_rule: str,
    to_status: str,
    to_org: str | None,
    justified_reason: str | None,
    approved_by: str | None,
    effective_on: dt.date | None,
) -> Case:
    named = _org(to_org) if to_org else None
    with acting(
        case_id=case_id,
        verb=verb,
        actor=actor,
        by_petitioner=by_petitioner,
        effective_on=effective_on,
        holder_only=False,
    ) as step:
        case = step.case
        if case.category != Case.Category.CLAIM:
            raise RuleRefusal(
                "not_reviewable", _("only claims handled as petitions can be appealed")
            )
        decided_by = case.handled_by_org
        assert decided_by is not None
        right = appeal_target(case)
        target = named or right
        if (
            not by_petitioner
            and actor is not None
            and actor.org_id not in {case.org_id, target.pk if target else None}
        ):
            raise PermissionDenied(
                "forbidden", _("register an appeal at the holding or the receiving organ")
            )
        windows = dl.owed(step.deadlines, window_rule)
        window = windows[0] if windows else None
        if right is None or target is None:
            raise RuleRefusal(
                "no_superior", _("%s has no superior organ to appeal to") % decided_by.name
            )
        if target.pk != right.pk:
            ancestors = org_ancestor_ids(decided_by.pk)
            until = window.due_on.isoformat() if window else None
            code = "skip_level" if target.pk in ancestors else "wrong_org"
            raise RuleRefusal(
                code,
                _("the appeal goes to %(org)s (%(code)s), by %(until)s")
                % {"org": right.name, "code": right.code, "until": until},
                fields={"right_org": right.code, "until": until},
            )
        if window is None or step.effective_on > window.due_on:
            if not (justified_reason or "").strip() or by_petitioner:
                due = window.due_on.isoformat() if window else None
                raise RuleRefusal(
                    "late",
                    _("the request window ended on %(d)s") % {"d": due},
                    fields={"due_on": due},
                )
            approver = User.objects.filter(
                username=approved_by or "",
                role=User.Role.HEAD,
                is_active=True,
                org_id__in=[target.pk, case.org_id],
            ).first()
            if approver is None:
                raise RuleRefusal(
                    "late",
                    _(
                        "a late request is accepted only with a justified reason and a head's approval"
                    ),
                    fields={"approved_by": "a head of the receiving organ"},
                )
            step.payload["justified_reason"] = _text(
                justified_reason, "justified_reason", limit=TEXT_FIELD_MAX
            )
            step.payload["approved_by"] = approver.username
        step.settle(window_rule)
        step.void("rating")
        step.set(status=to_status, org=target)
        step.start(decision_rule, org_id=target.pk)
        step.payload["to_org"] = target.code
    return step.case


def case_request_review(
    *,
    case_id: int,
    actor: User | None,
    to_org: str | None = None,
    justified_reason: str | None = None,
    approved_by: str | None = None,
    by_petitioner: bool = False,
    effective_on: dt.date | None = None,
) -> Case:
    """Review request (复查) to the organ one level above the handler, within 30 days (Art. 35).
    Without `to_org` it goes to that organ (`appeal_target`)."""
    return _request_appeal(
        case_id=case_id,
        actor=actor,
        by_petitioner=by_petitioner,
        verb="request_review",
        window_rule="review_request",
        decision_rule="review_decision",
        to_status=S.UNDER_REVIEW,
        to_org=to_org,
        justified_reason=justified_reason,
        approved_by=approved_by,
        effective_on=effective_on,
    )


def case_request_rereview(
    *,
    case_id: int,
    actor: User | None,
    to_org: str | None = None,
    justified_reason: str | None = None,
    approved_by: str | None = None,
    by_petitioner: bool = False,
    effective_on: dt.date | None = None,
) -> Case:
    """Re-review request (复核) to the organ above the reviewer, within 30 days (Art. 36).
    Without `to_org` it goes to that organ (`appeal_target`)."""
    return _request_appeal(
        case_id=case_id,
        actor=actor,
        by_petitioner=by_petitioner,
        verb="request_rereview",
        window_rule="rereview_request",
        decision_rule="rereview_decision",
        to_status=S.UNDER_REREVIEW,
        to_org=to_org,
        justified_reason=justified_reason,
        approved_by=approved_by,
        effective_on=effective_on,
    )


def _decide(
    *,
    case_id: int,
    actor: User,
    verb: str,
    decision_rule: str,
    to_status: str,
    next_window: str | None,
    outcome: str,
    opinion: str,
    delivered_on: dt.date | None,
    effective_on: dt.date | None,
) -> Case:
    outcome, opinion = _opinion(outcome, opinion)
    with acting(case_id=case_id, verb=verb, actor=actor, effective_on=effective_on) as step:
        delivered = _delivery(step, delivered_on)
        step.settle(decision_rule)
        step.set(status=to_status, outcome=outcome, handled_by_org=step.case.org)
        if next_window:
            step.start(next_window, delivered)
        step.start("rating", delivered)
        step.payload = {
            "outcome": outcome,
            "opinion": opinion,
            "delivered_on": delivered.isoformat(),
        }
    return step.case


def case_decide_review(
    *,
    case_id: int,
    actor: User,
    outcome: str,
    opinion: str,
    delivered_on: dt.date | None = None,
    effective_on: dt.date | None = None,
) -> Case:
    """The review opinion (复查意见); its delivery opens the re-review window."""
    return _decide(
        case_id=case_id,
        actor=actor,
        verb="decide_review",
        decision_rule="review_decision",
        to_status=S.REVIEWED,
        next_window="rereview_request",
        outcome=outcome,
        opinion=opinion,
        delivered_on=delivered_on,
        effective_on=effective_on,
    )


def case_decide_rereview(
    *,
    case_id: int,
    actor: User,
    outcome: str,
    opinion: str,
    delivered_on: dt.date | None = None,
    effective_on: dt.date | None = None,
) -> Case:
    """The re-review opinion (复核意见): the matter becomes final (Art. 36 ¶3)."""
    return _decide(
        case_id=case_id,
        actor=actor,
        verb="decide_rereview",
        decision_rule="rereview_decision",
        to_status=S.FINAL,
        next_window=None,
        outcome=outcome,
        opinion=opinion,
        delivered_on=delivered_on,
        effective_on=effective_on,
    )


# The petitioner's windows an opinion's delivery opens, by the verb of the opinion.
DELIVERY_WINDOWS = {
    "reply": ("review_request", "rating"),
    "decide_review": ("rereview_request", "rating"),
    "decide_rereview": ("rating",),
}


def case_deliver(
    *, case_id: int, actor: User, opinion_event_id: int, delivered_on: dt.date, **payload: Any
) -> Case:
    """Record the confirmed delivery of the case's latest opinion (a postal receipt, the
    petitioner's acknowledgement; notices app): the windows it opened restart from `delivered_on`,
    their due dates recomputed by the deadline engine. Never before the decision, never in the
    future. `payload` (e.g. the notice's number) goes into the event."""
    with acting(case_id=case_id, verb="deliver", actor=actor, effective_on=None) as step:
        case = step.case
        opinion = case.events.filter(verb__in=DELIVERY_WINDOWS).order_by("-id").first()
        if opinion is None or opinion.pk != opinion_event_id:
            raise RuleRefusal(
                "not_latest_opinion",
                _("the case has moved past this opinion: its delivery no longer starts a window"),
            )
        if not opinion.effective_on <= delivered_on <= clock.today():
            raise InvalidInput(
                "invalid_input",
                _("delivered_on must be between the decision (%(d)s) and today")
                % {"d": opinion.effective_on},
                fields={"delivered_on": "out of range"},
            )
        moved = []
        for d in dl.owed(step.deadlines, *DELIVERY_WINDOWS[opinion.verb]):
            d.start_on = delivered_on
            dl.apply_due(d, dl.recompute(d))
            if d.state == Deadline.State.MISSED and d.due_on >= clock.today():
                d.state = Deadline.State.OPEN  # the window had not really begun
            step.touched.append(d)
            moved.append({"rule": d.rule, "due_on": d.due_on.isoformat()})
        # As in `_delivery`: what follows the opinion cannot come before the petitioner has it.
        if delivered_on > case.last_effective_on:
            step.set(last_effective_on=delivered_on)
        step.payload = {
            **payload,
            "of": opinion.verb,
            "delivered_on": delivered_on.isoformat(),
            "windows": moved,
        }
    return step.case


def case_hearing(
    *,
    case_id: int,
    actor: User,
    date_from: dt.date,
    date_to: dt.date,
    effective_on: dt.date | None = None,
) -> Case:
    """A hearing (听证): its days, inclusive, are added to the re-review clock (Art. 36)."""
    try:
        days = hearing_days_inclusive(date_from, date_to)
    except ValueError:
        raise InvalidInput(
            "invalid_input",
            _("a hearing cannot end before it starts"),
            fields={"to": "before from"},
        ) from None
    with acting(case_id=case_id, verb="hearing", actor=actor, effective_on=effective_on) as step:
        rows = step.open_deadlines("rereview_decision")
        if not rows:
            raise RuleRefusal("not_extendable", _("no open re-review clock"))
        row = rows[0]
        if date_from < row.start_on:
            raise InvalidInput(
                "invalid_input", _("the hearing starts before the re-review request")
            )
        row.hearing_days += days
        dl.apply_due(row, dl.recompute(row))
        step.touched.append(row)
        step.payload = {
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "days": days,
            "due_on": row.due_on.isoformat(),
        }
    return step.case


def case_close(
    *, case_id: int, actor: User, reason: str, effective_on: dt.date | None = None
) -> Case:
    """Close a replied or reviewed case once the petitioner's appeal window has passed."""
    reason = _text(reason, "reason", limit=TEXT_FIELD_MAX)
    with acting(case_id=case_id, verb="close", actor=actor, effective_on=effective_on) as step:
        window_rule = "review_request" if step.case.status == S.REPLIED else "rereview_request"
        windows = [
            d for d in step.deadlines if d.rule == window_rule and d.state != Deadline.State.VOID
        ]
        still_open = [
            d for d in windows if d.state == Deadline.State.OPEN and step.effective_on <= d.due_on
        ]
        if still_open:
            raise RuleRefusal(
                "window_open",
                _("the petitioner may still appeal until %(d)s") % {"d": still_open[0].due_on},
                fields={"until": still_open[0].due_on.isoformat()},
            )
        for d in step.open_deadlines(window_rule):
            d.state = Deadline.State.MISSED  # the window lapsed unused
            step.touched.append(d)
        step.set(status=S.CLOSED)
        step.payload = {"reason": reason}
    return step.case


def case_link(
    *, case_id: int, actor: User, other_id: int, relation: str, effective_on: dt.date | None = None
) -> Case:
    if relation not in CaseLink.Relation.values:
        raise InvalidInput(
            "invalid_input", _("relation must be one of %s") % ", ".join(CaseLink.Relation.values)
        )
    if other_id == case_id:
        raise InvalidInput("invalid_input", _("a case cannot be linked to itself"))
    # Only cases the actor may read: "no case" for an invisible one too, so that linking cannot
    # probe for accusations the actor may not know of.
    if not visible_cases(actor).filter(pk=other_id).exists():
        raise InvalidInput(
            "invalid_input", _("no case %s") % other_id, fields={"other_id": "unknown"}
        )
    with acting(
        case_id=case_id, verb="link", actor=actor, effective_on=effective_on, holder_only=False
    ) as step:
        _link, created = CaseLink.objects.get_or_create(
            case=step.case, other_id=other_id, relation=relation
        )
        step.payload = {"other_id": other_id, "relation": relation, "created": created}
    return step.case


def case_assign(
    *, case_id: int, actor: User, username: str, effective_on: dt.date | None = None
) -> Case:
    """Name the handler of the case in the holding organ: a head names anyone who handles there, a
    handler only themself. Confidential petitioner details then go to that handler alone."""
    with acting(case_id=case_id, verb="assign", actor=actor, effective_on=effective_on) as step:
        assignee = User.objects.filter(username=username, is_active=True).first()
        if (
            assignee is None
            or assignee.org_id != step.case.org_id
            or assignee.role not in (User.Role.HANDLER, User.Role.HEAD)
        ):
            raise InvalidInput(
                "invalid_assignee",
                _("%s is not a handler or head of the organisation holding the case") % username,
                fields={"username": "not a handler of the holding organisation"},
            )
        if actor.role != User.Role.HEAD and assignee.pk != actor.pk:
            raise PermissionDenied(
                "forbidden", _("a handler may assign only themself; a head assigns others")
            )
        step.set(assignee=assignee)
        step.payload = {"assignee": assignee.username}
    return step.case


# --- bulk import ------------------------------------------------------------------------------


def case_import_status(
    *,
    case_id: int,
    actor: User,
    status: str,
    source: str,
    source_status: str,
    effective_on: dt.date | None = None,
) -> Case:
    """Give a case that a bulk import just registered the status its source system reports, as
    one event (docs/import-export.md). The registration's clocks are voided: the steps happened
    in the source system on dates this one never saw, so they count neither as met nor as missed,
    and thousands of historical cases never reach the overdue sweep."""
    with acting(
        case_id=case_id,
        verb="import_status",
        actor=actor,
        effective_on=effective_on,
        holder_only=False,  # the import may register cases for other organs (its organ column)
        target=status,
    ) as step:
        step.void(*{d.rule for d in step.deadlines})
        step.set(status=status)
        step.payload = {
            "source": _text(source, "source", limit=64),
            "source_status": _text(source_status, "source_status", required=False, limit=200),
        }
    return step.case


# --- the petitioner's own steps ---------------------------------------------------------------


def case_rate(*, case_id: int, rating: str, comment: str | None = None) -> Case:
    """The petitioner's satisfaction rating, within the window after a delivered opinion."""
    if rating not in Case.Rating.values:
        raise InvalidInput(
            "invalid_input",
            _("rating must be one of %s") % ", ".join(Case.Rating.values),
            fields={"rating": "unknown"},
        )
    with acting(
        case_id=case_id, verb="rate", actor=None, by_petitioner=True, effective_on=None
    ) as step:
        windows = dl.owed(step.deadlines, "rating")
        if not windows or step.effective_on > windows[0].due_on:
            raise RuleRefusal("late", _("the rating window is closed"))
        step.settle("rating")
        step.set(rating=rating)
        step.payload = {
            "rating": rating,
            "comment": _text(comment, "comment", required=False, limit=TEXT_FIELD_MAX),
        }
    return step.case


def case_add_material(*, case_id: int, text: str) -> Case:
    with acting(
        case_id=case_id, verb="add_material", actor=None, by_petitioner=True, effective_on=None
    ) as step:
        step.payload = {"text": _text(text, "text")}
    return step.case
