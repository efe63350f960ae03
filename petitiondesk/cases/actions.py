"""What a member of staff may do to a case now, and the one map from verbs to their services.

`VERB_SERVICES` is shared by the API and the pages, so both run the same service for a verb.
`available_actions` asks the same questions the services ask first (`check_transition`,
`check_role`, the holder rule, where an appeal is registered); the services still check
everything, so an action offered here can still be refused by a rule of the Regulations (late,
final, …), but an action not offered here would always be refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.calendar.profiles import get_profile
from petitiondesk.core.errors import DomainError, NotFound

from . import deadlines as dl
from . import services
from .attachments import attachment_add
from .extensions import extension_approve, extension_refuse, extension_request
from .models import Case, Deadline, ExtensionRequest
from .selectors import appeal_target
from .transitions import check_role, check_transition

VERB_SERVICES: dict[str, Callable[..., Case]] = {
    "route": services.case_route,
    "object": services.case_object,
    "accept": services.case_accept,
    "decline": services.case_decline,
    "extend": services.case_extend,
    "reply": services.case_reply,
    "request_review": services.case_request_review,
    "decide_review": services.case_decide_review,
    "request_rereview": services.case_request_rereview,
    "hearing": services.case_hearing,
    "decide_rereview": services.case_decide_rereview,
    "close": services.case_close,
    "link": services.case_link,
    "assign": services.case_assign,
}

# The actions of the case page, in the order they are offered. Extensions go through a request
# that a head decides (cases/extensions.py) instead of the one-step `extend` of the API.
PAGE_ACTIONS = (
    "route",
    "accept",
    "object",
    "decline",
    "assign",
    "request_extension",
    "approve_extension",
    "refuse_extension",
    "reply",
    "request_review",
    "decide_review",
    "request_rereview",
    "hearing",
    "decide_rereview",
    "close",
    "link",
    "attach",
)
EXTENSION_ACTIONS = frozenset({"request_extension", "approve_extension", "refuse_extension"})
APPEALS = frozenset({"request_review", "request_rereview"})
NOT_HOLDER_ONLY = frozenset({"link", "attach", *APPEALS})


class Unknown:
    """Not given by the caller: look it up."""


UNKNOWN = Unknown()


def _allowed(case: Case, user: User, verb: str) -> bool:
    try:
        check_transition(case, verb)
        check_role(user, verb)
    except DomainError:
        return False
    return True


def _may_extend(
    case: Case, user: User, deadlines: Sequence[Deadline], pending: ExtensionRequest | None
) -> dict[str, bool]:
    if not _allowed(case, user, "extend") or user.org_id != case.org_id:
        return dict.fromkeys(EXTENSION_ACTIONS, False)
    room = case.extension_days < get_profile(case.profile).max_extension_days
    decides = pending is not None and user.role == User.Role.HEAD
    return {
        "request_extension": pending is None and room and bool(dl.open_of(deadlines, "handling")),
        "approve_extension": decides,
        "refuse_extension": decides,
    }


def available_actions(
    case: Case,
    user: User,
    *,
    deadlines: Sequence[Deadline] | None = None,
    pending: ExtensionRequest | Unknown | None = UNKNOWN,
) -> list[str]:
    """The page actions `user` may take on `case` now. `deadlines` (the case's) and `pending`
    (its pending extension request) save a query each when the caller has them."""
    if deadlines is None:
        deadlines = list(case.deadlines.all())
    if isinstance(pending, Unknown):
        pending = case.extension_requests.filter(state=ExtensionRequest.State.PENDING).first()
    extension = _may_extend(case, user, deadlines, pending)
    out = []
    for action in PAGE_ACTIONS:
        if action in EXTENSION_ACTIONS:
            allowed = extension[action]
        elif not _allowed(case, user, action):
            allowed = False
        elif action in APPEALS:
            target = appeal_target(case) if user.org_id != case.org_id else None
            allowed = user.org_id == case.org_id or (
                target is not None and user.org_id == target.pk
            )
        else:
            allowed = action in NOT_HOLDER_ONLY or user.org_id == case.org_id
        if allowed:
            out.append(action)
    return out


def action_run(*, action: str, case_id: int, actor: User, **fields: Any) -> None:
    """Run a page action through its service (the API's for the verbs they share)."""
    if action in VERB_SERVICES:
        VERB_SERVICES[action](case_id=case_id, actor=actor, **fields)
    elif action == "request_extension":
        extension_request(case_id=case_id, actor=actor, **fields)
    elif action in ("approve_extension", "refuse_extension"):
        pending = ExtensionRequest.objects.filter(
            case_id=case_id, state=ExtensionRequest.State.PENDING
        ).first()
        if pending is None:
            raise NotFound("not_found", _("no pending extension request"))
        decide = extension_approve if action == "approve_extension" else extension_refuse
        decide(request_id=pending.pk, actor=actor, **fields)
    elif action == "attach":
        attachment_add(case_id=case_id, upload=fields["file"], actor=actor)
    else:
        raise NotFound("not_found", _("no such action"))
