"""The case state machine: the one place that says which verb may move a case from where to where.

See domain.md §4. Services call `check_transition` before anything else; a verb not allowed from the
current status is an `InvalidTransition` (HTTP 409).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.core.errors import InvalidTransition, PermissionDenied

from .models import Case

S = Case.Status
R = User.Role


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    targets: frozenset[str]  # empty: the status does not change
    roles: frozenset[str]  # staff roles that may perform it (the petitioner is checked apart)


def _t(sources: set[str], targets: set[str], roles: set[User.Role] | set[str]) -> Transition:
    return Transition(frozenset(sources), frozenset(targets), frozenset(str(r) for r in roles))


ALL_STATUSES = set(S.values)
OPEN_STATUSES = frozenset(
    {S.REGISTERED, S.ROUTED, S.ACCEPTED, S.REPLIED, S.UNDER_REVIEW, S.REVIEWED, S.UNDER_REREVIEW}
)
# "Being handled" for the same-matter rule (Art. 19 ¶3): an organ still owes a decision.
PENDING_STATUSES = frozenset({S.REGISTERED, S.ROUTED, S.ACCEPTED, S.UNDER_REVIEW, S.UNDER_REREVIEW})
STAFF_ACTING = {R.CLERK, R.HANDLER, R.HEAD}


def repeat_flag(*, status: str, other_org_id: int | None, org_id: int | None) -> str | None:
    """What an earlier case on the *same matter* (a `same_matter` link) means for a new one:
    `final` once it was finally decided (Art. 36 ¶3), `same_matter_pending` while another organ
    still owes a decision on it (Art. 19 ¶3), else nothing. Near-duplicates by other people are
    only duplicates: finality binds the petitioner who exhausted the ladder."""
    if status == S.FINAL:
        return "final"
    if status in PENDING_STATUSES and other_org_id != org_id:
        return "same_matter_pending"
    return None


TRANSITIONS: dict[str, Transition] = {
    "route": _t({S.REGISTERED}, {S.ROUTED}, {R.CLERK, R.HEAD}),
    "object": _t({S.ROUTED}, {S.REGISTERED}, STAFF_ACTING),
    "accept": _t({S.REGISTERED, S.ROUTED}, {S.ACCEPTED, S.DIVERTED}, {R.HANDLER, R.HEAD}),
    "decline": _t({S.REGISTERED, S.ROUTED}, {S.NOT_ACCEPTED}, STAFF_ACTING),
    "extend": _t({S.ACCEPTED}, set(), {R.HANDLER, R.HEAD}),
    "reply": _t({S.ACCEPTED}, {S.REPLIED}, {R.HANDLER, R.HEAD}),
    "request_review": _t({S.REPLIED}, {S.UNDER_REVIEW}, STAFF_ACTING),
    "decide_review": _t({S.UNDER_REVIEW}, {S.REVIEWED}, {R.HANDLER, R.HEAD}),
    "request_rereview": _t({S.REVIEWED}, {S.UNDER_REREVIEW}, STAFF_ACTING),
    "hearing": _t({S.UNDER_REREVIEW}, set(), {R.HANDLER, R.HEAD}),
    "decide_rereview": _t({S.UNDER_REREVIEW}, {S.FINAL}, {R.HANDLER, R.HEAD}),
    "close": _t({S.REPLIED, S.REVIEWED}, {S.CLOSED}, STAFF_ACTING),
    "link": _t(ALL_STATUSES, set(), {*STAFF_ACTING, R.SUPERVISOR}),
    # Naming the handler (承办人) inside the holding organ; a handler may take a case themself.
    "assign": _t(set(OPEN_STATUSES), set(), {R.HANDLER, R.HEAD}),
    # Staff may file documents at any stage, even after finality (the record must be complete).
    "attach": _t(ALL_STATUSES, set(), STAFF_ACTING),
    # The petitioner's own steps.
    "rate": _t({S.REPLIED, S.REVIEWED, S.FINAL, S.CLOSED}, set(), set()),
    "add_material": _t(set(OPEN_STATUSES), set(), set()),
    # A bulk import of another system's history: a freshly registered case takes the status the
    # source gives it (cases/services.py `case_import_status`); never an action of the API.
    "import_status": _t({S.REGISTERED}, ALL_STATUSES - {S.REGISTERED}, STAFF_ACTING),
    # The recorded delivery of the latest opinion's notice (notices app): the petitioner's windows
    # restart from that date (cases/services.py `case_deliver`).
    "deliver": _t({S.REPLIED, S.REVIEWED, S.FINAL}, set(), STAFF_ACTING),
}
VERBS = tuple(
    v
    for v in TRANSITIONS
    if v not in {"rate", "add_material", "attach", "import_status", "deliver"}
)
# Not steps of the procedure: they never move the "previous step" date that later steps must follow.
SIDE_VERBS = frozenset({"link", "assign", "attach", "rate", "add_material", "deliver"})


def check_transition(case: Case, verb: str, target: str | None = None) -> None:
    """Raise `InvalidTransition` unless `verb` may run from the case's status (to `target`)."""
    transition = TRANSITIONS[verb]
    if case.status not in transition.sources:
        raise InvalidTransition(
            _("cannot %(verb)s a case that is %(status)s") % {"verb": verb, "status": case.status},
            fields={"status": case.status, "allowed_from": sorted(transition.sources)},
        )
    if target is not None and target not in transition.targets:
        raise InvalidTransition(
            _("%(verb)s cannot lead to %(target)s") % {"verb": verb, "target": target}
        )


def check_role(user: User, verb: str) -> None:
    if user.role not in TRANSITIONS[verb].roles:
        raise PermissionDenied(
            "forbidden",
            _("a %(role)s may not %(verb)s a case") % {"role": user.role, "verb": verb},
        )
