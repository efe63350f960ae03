"""Reading cases, with the permission check built in (`access_*`), and paged lists."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import org_ancestor_ids, org_shielding_ids, org_subtree_ids
from petitiondesk.core import clock
from petitiondesk.core.errors import InvalidInput, NotFound, PermissionDenied
from petitiondesk.core.ratelimit import check_limit, count_hit
from petitiondesk.intake.services import hash_access_key

from . import deadlines as dl
from .models import Case, Deadline, ReadAudit
from .transitions import TRANSITIONS, repeat_flag

security_log = logging.getLogger("petitiondesk.security")
READ_ROLES = frozenset(User.Role.values) - {User.Role.ADMIN}
PAGE_SIZE = 50


def visible_cases(user: User) -> QuerySet[Case]:
    """Cases a staff member may read: held, routed, registered or last decided by their org or its
    subordinates; never an accusation against their own org or a superior (Art. 30 ¶3)."""
    if user.role not in READ_ROLES or user.org_id is None:
        return Case.objects.none()
    scope = org_subtree_ids(user.org_id)
    return Case.objects.filter(
        Q(org_id__in=scope)
        | Q(registered_by_org_id__in=scope)
        | Q(routed_by_org_id__in=scope)
        | Q(handled_by_org_id__in=scope)
    ).exclude(accused_orgs__in=org_shielding_ids(user.org_id))


def access_case(user: User, case_id: int, *, view: str | None = None) -> Case:
    """The case if the user may read it; otherwise the same 404 as for a case that does not exist.

    `view` names a read that shows the case's contents: such reads of confidential cases and
    accusations are recorded with who, which case and what view (domain.md §6, security.md).
    """
    case = visible_cases(user).filter(pk=case_id).select_related("org").first()
    if case is None:
        raise NotFound("not_found", _("no such case"))
    if view and is_sensitive(case):
        ReadAudit.objects.create(case=case, user=user, org_id=user.org_id, view=view[:64])
        security_log.info(
            "read confidential case=%s by user=%s org=%s view=%s",
            case.pk,
            user.username,
            user.org_id,
            view,
        )
    return case


def is_sensitive(case: Case) -> bool:
    """Reads of these cases are audited: the petitioner asked for confidentiality, or it is an
    accusation (whose accuser must be protected, Art. 30 ¶3)."""
    return case.confidential or case.category == Case.Category.ACCUSATION


@dataclass
class CaseFilters:
    status: str | None = None
    org: str | None = None
    overdue: bool | None = None
    due_before: dt.date | None = None
    q: str | None = None
    page: int = 1


def case_list(user: User, filters: CaseFilters) -> tuple[list[Case], int]:
    qs = visible_cases(user)
    if filters.status:
        if filters.status not in Case.Status.values:
            raise InvalidInput("invalid_input", _("unknown status %s") % filters.status)
        qs = qs.filter(status=filters.status)
    if filters.org:
        qs = qs.filter(org__code=filters.org)
    if filters.overdue is not None:
        qs = qs.filter(is_overdue=filters.overdue)
    if filters.due_before:
        # A subquery, not a join: no duplicate rows, so no DISTINCT over every column.
        qs = qs.filter(
            pk__in=Deadline.objects.filter(
                state=Deadline.State.OPEN, duty=True, due_on__lt=filters.due_before
            ).values("case_id")
        )
    if filters.q:
        qs = qs.filter(Q(title__icontains=filters.q) | Q(content__icontains=filters.q))
    if filters.page < 1:
        raise InvalidInput("invalid_input", _("page starts at 1"))
    qs = qs.order_by("-received_on", "-id")
    total = qs.count()
    start = (filters.page - 1) * PAGE_SIZE
    return list(qs.select_related("org")[start : start + PAGE_SIZE]), total


def case_detail(case: Case, viewer: User) -> dict[str, object]:
    """Deadlines, events, links and attachments of a case, for reading by `viewer`. Links to cases
    the viewer may not see are left out: even a case id can tell an accused organ it is accused."""
    earlier = [
        {
            "other_id": link.other_id,
            "relation": link.relation,
            "score": link.score,
            "basis": link.basis,
        }
        for link in case.links_out.all()
    ]
    links = earlier + [
        {
            "other_id": link.case_id,
            "relation": link.relation,
            "score": link.score,
            "basis": link.basis,
        }
        for link in case.links_in.all()
    ]
    visible = visible_among(viewer, [link["other_id"] for link in links])
    shown = [link for link in links if link["other_id"] in visible]
    return {
        "deadlines": list(case.deadlines.all()),
        "events": list(case.events.select_related("actor", "actor_org").all()),
        "links": shown,
        # Only the cases this one repeats can stop it (a later repeat never stops its original).
        # A flag is shown even when the earlier case is out of the viewer's scope (it was decided
        # higher up): the accept verb refuses on it all the same, and says its tracking number.
        "flags": repeat_flags(
            case,
            [link["other_id"] for link in earlier if link["relation"] == "same_matter"],
            visible=visible,
        ),
        "attachments": list(case.attachments.all()),
    }


def repeat_flags(
    case: Case, same_matter_ids: list[int], *, visible: set[int] | None = None
) -> list[dict[str, object]]:
    """The finality and same-matter-pending flags of a case (cases/transitions.py repeat_flag): one
    per linked case on the same matter that stops it, with what staff need to act on it."""
    if not same_matter_ids:
        return []
    flags = []
    for other in Case.objects.filter(pk__in=same_matter_ids).select_related("org").order_by("-pk"):
        kind = repeat_flag(status=other.status, other_org_id=other.org_id, org_id=case.org_id)
        if kind:
            flags.append(
                {
                    "kind": kind,
                    "case_id": other.pk,
                    "tracking_number": other.tracking_number,
                    "status": other.status,
                    "org": other.org.code,
                    "org_name": other.org.name,
                    "visible": visible is None or other.pk in visible,
                }
            )
    return flags


def visible_among(viewer: User | None, case_ids: list[int]) -> set[int]:
    """Which of `case_ids` the viewer may read (none for the public)."""
    if viewer is None or not case_ids:
        return set()
    return set(visible_cases(viewer).filter(pk__in=case_ids).values_list("pk", flat=True))


# --- the petitioner's side --------------------------------------------------------------------


def _throttle_keys(tracking_number: str, ip: str) -> list[str]:
    # Hashed: whatever a caller sends becomes a safe cache key of fixed length.
    number = hashlib.sha256(tracking_number.encode("utf-8", "replace")).hexdigest()[:32]
    return [f"track-fail:ip:{ip}", f"track-fail:tn:{number}"]


def access_tracked_case(*, tracking_number: str, access_key: str, ip: str) -> Case:
    """The case behind a query code. Wrong number and wrong key get the same 404; failed guesses
    are counted per IP and per tracking number and refused with 429 past the limit."""
    limit = settings.PETITIONDESK_TRACK_MAX_FAILURES
    window = settings.PETITIONDESK_TRACK_WINDOW_SECONDS
    keys = _throttle_keys(tracking_number, ip)
    check_limit(keys, limit=limit, window=window)
    case = Case.objects.filter(tracking_number=tracking_number).first()
    if (
        case is None
        or not case.access_key_hash
        or not hmac.compare_digest(case.access_key_hash, hash_access_key(access_key or ""))
    ):
        count_hit(keys, window=window)
        raise NotFound("not_found", _("no case with that tracking number and access key"))
    return case


def tracked_case(case_id: int) -> Case:
    """The case whose access key the petitioner gave earlier in this browser session (the portal
    keeps only the id, server-side, after `access_tracked_case`)."""
    case = Case.objects.filter(pk=case_id).select_related("org").first()
    if case is None:
        raise NotFound("not_found", _("no such case"))
    return case


# --- what each reader is shown ----------------------------------------------------------------

REDACTED = "confidential"
PETITIONER_FIELDS = ("name", "phone", "id_number", "address", "email")


def may_see_confidential_petitioner(case: Case, viewer: User) -> bool:
    """A petitioner who asked for confidentiality is known only to the case's assigned handler or,
    while nobody is assigned, to the handlers and heads of the holding organ (domain.md §6)."""
    if viewer.org_id != case.org_id or viewer.role not in (User.Role.HANDLER, User.Role.HEAD):
        return False
    return case.assignee_id is None or case.assignee_id == viewer.pk


def petitioners_for(case: Case, viewer: User) -> list[dict[str, str]]:
    """The petitioners as `viewer` may see them (see `may_see_confidential_petitioner`)."""
    hide = case.confidential and not may_see_confidential_petitioner(case, viewer)
    return [
        {f: (REDACTED if hide and getattr(p, f) else getattr(p, f)) for f in PETITIONER_FIELDS}
        for p in case.petitioners.all()
    ]


# What the petitioner is told of each step: texts addressed to them, no internal notes or staff.
PETITIONER_PAYLOAD = {
    "register": ("channel",),
    "route": ("to_org",),
    "accept": ("claim_route", "procedure"),
    "decline": ("reason_code", "reason"),
    "extend": ("days", "reason", "due_on"),
    "reply": ("outcome", "opinion", "delivered_on"),
    "request_review": ("to_org",),
    "decide_review": ("outcome", "opinion", "delivered_on"),
    "request_rereview": ("to_org",),
    "hearing": ("from", "to"),
    "decide_rereview": ("outcome", "opinion", "delivered_on"),
    "close": (),
    "rate": ("rating",),
    "add_material": (),
}
OPINION_VERBS = ("reply", "decide_review", "decide_rereview")


def petitioner_timeline(case: Case) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(timeline, written replies) of the case as its petitioner sees them (Art. 21)."""
    all_events = list(case.events.all())
    events = [e for e in all_events if e.verb in PETITIONER_PAYLOAD]
    timeline = [
        {
            "verb": e.verb,
            "effective_on": e.effective_on,
            "text": {k: e.payload[k] for k in PETITIONER_PAYLOAD[e.verb] if k in e.payload},
        }
        for e in events
    ]
    replies: list[dict[str, Any]] = []
    for e in all_events:
        if e.verb in OPINION_VERBS:
            keys = ("outcome", "opinion", "delivered_on")
            replies.append({"verb": e.verb, **{k: e.payload.get(k) for k in keys}})
        elif e.verb == "deliver" and replies and e.payload.get("of") == replies[-1]["verb"]:
            # A confirmed delivery of the latest opinion (notices app) replaces the date given
            # with the opinion.
            replies[-1]["delivered_on"] = e.payload.get("delivered_on")
    return timeline, replies


def appeal_target(case: Case) -> Organisation | None:
    """Where an appeal of the case's latest opinion goes: the organ directly above the one that
    decided (Art. 35, 36); None before any opinion or when nothing is above it."""
    if case.handled_by_org_id is None:
        return None
    ancestors = org_ancestor_ids(case.handled_by_org_id)
    return Organisation.objects.filter(pk=ancestors[0]).first() if ancestors else None


# Clocks the petitioner is shown: the steps owed to them and their own windows (not the organs'
# internal ones: objection, assignment, urgent report).
PETITIONER_DEADLINES = (
    "routing",
    "notice",
    "handling",
    "review_decision",
    "rereview_decision",
    "review_request",
    "rereview_request",
    "rating",
)


def petitioner_deadlines(case: Case) -> list[Deadline]:
    return [
        d
        for d in case.deadlines.all()
        if d.rule in PETITIONER_DEADLINES and d.state != Deadline.State.VOID
    ]


@dataclass(frozen=True)
class PetitionerOptions:
    """What the petitioner may do on their case now, and until when (None: not open)."""

    add_material: bool
    rate_until: dt.date | None
    appeal_verb: str | None  # "request_review" or "request_rereview"
    appeal_until: dt.date | None
    appeal_to: Organisation | None


APPEAL_WINDOWS = {"request_review": "review_request", "request_rereview": "rereview_request"}


def _window_until(case: Case, deadlines: list[Deadline], verb: str, rule: str) -> dt.date | None:
    """The due date of the open window `rule` if `verb` is allowed now, else None."""
    if case.status not in TRANSITIONS[verb].sources:
        return None
    today = clock.today()
    open_windows = [d for d in dl.owed(deadlines, rule) if today <= d.due_on]
    return open_windows[0].due_on if open_windows else None


def petitioner_options(case: Case) -> PetitionerOptions:
    """The petitioner's steps that are open today: the services refuse the others all the same."""
    deadlines = list(case.deadlines.all())
    appeal_verb, appeal_until = None, None
    # Only a claim's opinion opens an appeal window (case_reply), so the windows say it all.
    for verb, rule in APPEAL_WINDOWS.items():
        until = _window_until(case, deadlines, verb, rule)
        if until is not None:
            appeal_verb, appeal_until = verb, until
    appeal_to = appeal_target(case) if appeal_verb else None
    if appeal_to is None:
        appeal_verb, appeal_until = None, None
    return PetitionerOptions(
        add_material=case.status in TRANSITIONS["add_material"].sources,
        rate_until=_window_until(case, deadlines, "rate", "rating"),
        appeal_verb=appeal_verb,
        appeal_until=appeal_until,
        appeal_to=appeal_to,
    )


# --- the audit of confidential reads ----------------------------------------------------------

AUDIT_ROLES = frozenset({User.Role.SUPERVISOR, User.Role.ADMIN})


@dataclass
class AuditFilters:
    since: dt.date | None = None
    until: dt.date | None = None
    case_id: int | None = None
    username: str | None = None


def read_audits(user: User, filters: AuditFilters) -> QuerySet[ReadAudit]:
    """Recorded reads of confidential cases and accusations: admins see all, supervisors those of
    cases in their jurisdiction; nobody else (security.md)."""
    if user.role not in AUDIT_ROLES:
        raise PermissionDenied(
            "forbidden", _("only supervisors and administrators may read the audit log")
        )
    qs = ReadAudit.objects.select_related("user", "org", "case")
    if user.role != User.Role.ADMIN:
        qs = qs.filter(case_id__in=visible_cases(user).values("id"))
    if filters.since:
        qs = qs.filter(at__date__gte=filters.since)
    if filters.until:
        qs = qs.filter(at__date__lte=filters.until)
    if filters.case_id:
        qs = qs.filter(case_id=filters.case_id)
    if filters.username:
        qs = qs.filter(user__username=filters.username)
    return qs.order_by("-at", "-id")
