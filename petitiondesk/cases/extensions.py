"""Extension requests (Art. 34): a handler asks, a head of the handling organ approves or refuses.

The approval runs `services.case_extend` with the head as actor and approver, so every rule of an
extension (open handling clock, total length, the head's approval, the petitioner's notice, not
after the clock ran out) is checked in one place. A request is checked against the same rules up
front so that a head is not asked to approve what could never be granted.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import InvalidInput, NotFound, PermissionDenied, RuleRefusal
from petitiondesk.core.text import clean_text

from . import services
from .models import TEXT_FIELD_MAX, Case, CaseEvent, ExtensionRequest
from .transitions import check_role, check_transition


def _check_holder(case: Case, actor: User) -> None:
    if actor.org_id != case.org_id:
        raise PermissionDenied(
            "forbidden", _("only the organisation holding the case may extend its clock")
        )


def _event(case: Case, actor: User, verb: str, payload: dict[str, object]) -> None:
    CaseEvent.objects.create(
        case=case,
        verb=verb,
        actor=actor,
        actor_org_id=actor.org_id,
        effective_on=clock.today(),
        from_status=case.status,
        to_status=case.status,
        payload=payload,
    )


def pending_extension(case: Case) -> ExtensionRequest | None:
    return (
        case.extension_requests.filter(state=ExtensionRequest.State.PENDING)
        .select_related("requested_by")
        .first()
    )


def extension_request(*, case_id: int, actor: User, days: int, reason: str) -> ExtensionRequest:
    """Ask a head of the holding organ to extend the handling clock by `days`."""
    reason = clean_text(reason, "reason", limit=TEXT_FIELD_MAX, required=True)
    if days < 1:
        raise InvalidInput(
            "invalid_input", _("days must be a positive number"), fields={"days": "≥ 1"}
        )
    with write_transaction():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            raise NotFound("not_found", _("no such case"))
        check_transition(case, "extend")
        check_role(actor, "extend")
        _check_holder(case, actor)
        services.check_extendable(case, case.deadlines.all(), days)
        if pending_extension(case) is not None:
            raise RuleRefusal(
                "extension_pending", _("an extension request of this case awaits a decision")
            )
        request = ExtensionRequest.objects.create(
            case=case, days=days, reason=reason, requested_by=actor
        )
        _event(case, actor, "extension_request", {"days": days, "reason": reason})
    return request


def _pending_for_head(request_id: int, actor: User) -> ExtensionRequest:
    pending = ExtensionRequest.objects.filter(pk=request_id, state=ExtensionRequest.State.PENDING)
    case_id = pending.values_list("case_id", flat=True).first()
    if case_id is not None:
        # The case first, as every verb locks it, so that a decision and a verb never deadlock.
        Case.objects.select_for_update().filter(pk=case_id).first()
    request = pending.select_for_update().select_related("case").first()
    if request is None:
        raise NotFound("not_found", _("no pending extension request"))
    if actor.role != User.Role.HEAD:
        raise PermissionDenied("forbidden", _("only a head approves or refuses an extension"))
    _check_holder(request.case, actor)
    return request


def extension_approve(
    *,
    request_id: int,
    actor: User,
    petitioner_notified_on: dt.date | None,
    effective_on: dt.date | None = None,
) -> Case:
    """A head approves: the clock is extended (`case_extend`) and the request marked approved."""
    with write_transaction():
        request = _pending_for_head(request_id, actor)
        case = services.case_extend(
            case_id=request.case_id,
            actor=actor,
            days=request.days,
            reason=request.reason,
            approved_by=actor.username,
            petitioner_notified_on=petitioner_notified_on,
            effective_on=effective_on,
        )
        request.state = ExtensionRequest.State.APPROVED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.save(update_fields=["state", "decided_by", "decided_at"])
    return case


def extension_refuse(*, request_id: int, actor: User, reason: str) -> Case:
    """A head refuses: the clock stays as it is."""
    reason = clean_text(reason, "reason", limit=TEXT_FIELD_MAX, required=True)
    with write_transaction():
        request = _pending_for_head(request_id, actor)
        case = request.case
        request.state = ExtensionRequest.State.REFUSED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.save(update_fields=["state", "decided_by", "decided_at"])
        _event(case, actor, "extension_refuse", {"days": request.days, "reason": reason})
    return case
