"""The suggestion state machine (domain.md §9): which verb may move a suggestion from where to
where, and who may do it. No review ladder: a reply ends the procedure; conversions follow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.core.errors import InvalidTransition, PermissionDenied

from .models import Suggestion

S = Suggestion.Status
R = User.Role


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    targets: frozenset[str]  # empty: the status does not change (a side verb)
    roles: frozenset[str]
    # Who acts: the holding office, or the policy department the suggestion was forwarded to.
    by_forwarded_to: bool = False


def _t(
    sources: Iterable[str],
    targets: Iterable[str],
    roles: Iterable[str],
    *,
    by_forwarded_to: bool = False,
) -> Transition:
    return Transition(
        frozenset(sources), frozenset(targets), frozenset(str(r) for r in roles), by_forwarded_to
    )


STAFF_ACTING: set[str] = {R.CLERK, R.HANDLER, R.HEAD}
DECIDERS: set[str] = {R.HANDLER, R.HEAD}
DECIDED: set[str] = {S.ADOPTED, S.PARTLY_ADOPTED, S.NOT_ADOPTED}

TRANSITIONS: dict[str, Transition] = {
    "assess": _t({S.RECEIVED}, {S.ASSESSED}, STAFF_ACTING),
    # Asking the policy department concerned for its opinion; the holder still decides.
    "forward": _t({S.RECEIVED, S.ASSESSED}, set(), STAFF_ACTING),
    "opinion": _t({S.ASSESSED}, set(), DECIDERS, by_forwarded_to=True),
    "decide": _t({S.ASSESSED}, DECIDED, DECIDERS),
    "reply": _t(DECIDED, {S.REPLIED}, DECIDERS),
    # Only an adopted or partly adopted suggestion can become a policy (checked in the service).
    "convert": _t({S.REPLIED, S.CONVERTED}, {S.CONVERTED}, STAFF_ACTING),
    "award": _t({S.REPLIED, S.CONVERTED}, set(), DECIDERS),
    # A personal claim sent as a suggestion becomes a petition (domain.md §9).
    "reclassify": _t({S.RECEIVED, S.ASSESSED}, {S.RECLASSIFIED}, STAFF_ACTING),
}
VERBS = tuple(TRANSITIONS)
SIDE_VERBS = frozenset(v for v, t in TRANSITIONS.items() if not t.targets)


def check_transition(suggestion: Suggestion, verb: str, target: str | None = None) -> None:
    transition = TRANSITIONS[verb]
    if suggestion.status not in transition.sources:
        raise InvalidTransition(
            _("cannot %(verb)s a suggestion that is %(status)s")
            % {"verb": verb, "status": suggestion.status},
            fields={"status": suggestion.status, "allowed_from": sorted(transition.sources)},
        )
    if target is not None and target not in transition.targets:
        raise InvalidTransition(
            _("%(verb)s cannot lead to %(target)s") % {"verb": verb, "target": target}
        )


def may_act(suggestion: Suggestion, verb: str, user: User) -> bool:
    """Role and organisation only (not the status)."""
    transition = TRANSITIONS[verb]
    if user.role not in transition.roles or user.org_id is None:
        return False
    if transition.by_forwarded_to:
        return user.org_id == suggestion.forwarded_to_id
    return user.org_id == suggestion.org_id


def check_actor(suggestion: Suggestion, verb: str, user: User) -> None:
    if not may_act(suggestion, verb, user):
        raise PermissionDenied(
            "forbidden",
            _("a %(role)s of this organisation may not %(verb)s this suggestion")
            % {"role": user.role, "verb": verb},
        )
