"""Reading suggestions, with the permission check built in, and their statistics.

Staff see the suggestions held by their organisation or its subordinates, and those forwarded to
them for an opinion; the admin role reads no contents. Proposer details are shown only to the
holding office. The public sees open solicitations, published replies and suggestions open to
support, never proposer details.
"""

from __future__ import annotations

import datetime as dt
import hmac
import statistics
from collections import Counter
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.accounts.selectors import org_subtree_ids
from petitiondesk.calendar.profiles import profile_for_received
from petitiondesk.core import clock
from petitiondesk.core.errors import InvalidTransition, NotFound, PermissionDenied
from petitiondesk.core.ratelimit import check_limit, count_hit
from petitiondesk.intake.services import hash_access_key

from .models import Solicitation, Suggestion, SuggestionEvent, Support
from .transitions import TRANSITIONS, check_transition, may_act

READ_ROLES = frozenset(User.Role.values) - {User.Role.ADMIN}
S = Suggestion.Status


def open_solicitations(on: dt.date | None = None) -> QuerySet[Solicitation]:
    day = on or clock.today()
    return (
        Solicitation.objects.filter(opens_on__lte=day, closes_on__gte=day)
        .select_related("org")
        .order_by("closes_on", "id")
    )


def solicitation_get(solicitation_id: int) -> Solicitation:
    sol = Solicitation.objects.filter(pk=solicitation_id).select_related("org").first()
    if sol is None:
        raise NotFound("not_found", _("no such solicitation"))
    return sol


def staff_solicitations(actor: User) -> QuerySet[Solicitation]:
    """Solicitations of the staff member's organisation and its subordinates, newest first."""
    if actor.role not in READ_ROLES or actor.org_id is None:
        return Solicitation.objects.none()
    return Solicitation.objects.filter(org_id__in=org_subtree_ids(actor.org_id)).select_related(
        "org"
    )


def support_count(suggestion_id: int) -> int:
    """Confirmed supports, counted off the partial index (no counter row to contend on)."""
    return Support.objects.filter(suggestion_id=suggestion_id, confirmed_at__isnull=False).count()


def public_suggestions(*, solicitation_id: int | None = None) -> list[dict[str, Any]]:
    """Published replies and suggestions open to public support (the proposer consented), with
    their support counts; never the proposer's details."""
    qs = (
        Suggestion.objects.filter(Q(published=True) | Q(public_consent=True))
        .exclude(status=S.RECLASSIFIED)
        .select_related("solicitation", "org")
        .order_by("-received_on", "-id")
    )
    if solicitation_id is not None:
        qs = qs.filter(solicitation_id=solicitation_id)
    rows = list(qs[:200])
    counts = dict(
        Support.objects.filter(suggestion_id__in=[r.pk for r in rows], confirmed_at__isnull=False)
        .values_list("suggestion_id")
        .annotate(n=Count("id"))
        .values_list("suggestion_id", "n")
    )
    return [public_view(r, supports=counts.get(r.pk, 0)) for r in rows]


def public_view(sug: Suggestion, *, supports: int | None = None) -> dict[str, Any]:
    """What anyone may read of a suggestion: the reply only once published."""
    return {
        "id": sug.pk,
        "tracking_number": sug.tracking_number,
        "title": sug.title,
        "topic": sug.topic,
        "reasons": sug.reasons,
        "proposal": sug.proposal,
        "status": sug.status,
        "decision": sug.decision if sug.published else "",
        "solicitation_id": sug.solicitation_id,
        "solicitation_title": sug.solicitation.title if sug.solicitation else "",
        "org": sug.org.name,
        "received_on": sug.received_on,
        "reply": sug.reply if sug.published else "",
        "replied_on": sug.replied_on if sug.published else None,
        "open_to_support": sug.public_consent and sug.status != S.RECLASSIFIED,
        "supports": support_count(sug.pk) if supports is None else supports,
        "answer_required": sug.answer_required,
        "answer_due_on": sug.answer_due_on,
    }


def public_suggestion(suggestion_id: int) -> Suggestion:
    """A suggestion anyone may read (published or open to support), else 404."""
    sug = (
        Suggestion.objects.filter(Q(published=True) | Q(public_consent=True), pk=suggestion_id)
        .exclude(status=S.RECLASSIFIED)
        .select_related("solicitation", "org")
        .first()
    )
    if sug is None:
        raise NotFound("not_found", _("no such suggestion"))
    return sug


def visible_suggestions(actor: User) -> QuerySet[Suggestion]:
    if actor.role not in READ_ROLES or actor.org_id is None:
        return Suggestion.objects.none()
    scope = org_subtree_ids(actor.org_id)
    return Suggestion.objects.filter(Q(org_id__in=scope) | Q(forwarded_to_id__in=scope))


def staff_suggestions(
    actor: User,
    *,
    status: str | None = None,
    solicitation_id: int | None = None,
    q: str | None = None,
) -> QuerySet[Suggestion]:
    qs = visible_suggestions(actor).select_related("org", "solicitation", "forwarded_to")
    if status:
        qs = qs.filter(status=status)
    if solicitation_id is not None:
        qs = qs.filter(solicitation_id=solicitation_id)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(tracking_number__iexact=q.strip()))
    return qs.order_by("-received_on", "-id")


def suggestion_for(actor: User, suggestion_id: int) -> Suggestion:
    """The suggestion if the staff member may read it; else the same 404 as a missing one."""
    sug = (
        visible_suggestions(actor)
        .filter(pk=suggestion_id)
        .select_related("org", "solicitation", "forwarded_to", "case")
        .first()
    )
    if sug is None:
        raise NotFound("not_found", _("no such suggestion"))
    return sug


def shows_proposer(suggestion: Suggestion, viewer: User) -> bool:
    return viewer.org_id is not None and viewer.org_id == suggestion.org_id


def available_verbs(suggestion: Suggestion, actor: User) -> list[str]:
    out = []
    for verb in TRANSITIONS:
        if not may_act(suggestion, verb, actor):
            continue
        try:
            check_transition(suggestion, verb)
        except InvalidTransition:
            continue
        if verb in ("convert", "award") and suggestion.decision not in (
            S.ADOPTED,
            S.PARTLY_ADOPTED,
        ):
            continue
        if verb == "opinion" and suggestion.forwarded_to_id is None:
            continue
        out.append(verb)
    return out


def suggestion_targets(suggestion: Suggestion) -> dict[str, dt.date]:
    """Internal target dates from the profile (calendar days from receipt)."""
    targets = profile_for_received(suggestion.received_on).suggestion_targets
    return {
        rule: suggestion.received_on + dt.timedelta(days=days)
        for rule, days in targets.items()
        if rule in ("assess", "reply")
    }


def suggestion_detail(suggestion: Suggestion, viewer: User) -> dict[str, Any]:
    """Everything a staff page shows: proposer details only to the holding office."""
    proposer = shows_proposer(suggestion, viewer)
    return {
        "suggestion": suggestion,
        "show_proposer": proposer,
        "proposer": {
            "name": suggestion.proposer_name,
            "phone": suggestion.proposer_phone,
            "email": suggestion.proposer_email,
            "address": suggestion.proposer_address,
        }
        if proposer
        else None,
        "events": list(suggestion.events.select_related("actor", "actor_org")),
        "conversions": list(suggestion.conversions.all()),
        "awards": list(suggestion.awards.all()),
        "supports": support_count(suggestion.pk),
        "targets": suggestion_targets(suggestion),
        "verbs": available_verbs(suggestion, viewer),
    }


def _throttle_keys(tracking_number: str, ip: str) -> list[str]:
    return [f"track-sug:ip:{ip}", f"track-sug:no:{tracking_number}"]


def tracked_suggestion(tracking_number: str, access_key: str, *, ip: str = "") -> Suggestion:
    """The proposer's own suggestion. Wrong number and wrong key get the same 404; failed guesses
    are counted and refused with 429 past the limit, as for petitions."""
    limit = settings.PETITIONDESK_TRACK_MAX_FAILURES
    window = settings.PETITIONDESK_TRACK_WINDOW_SECONDS
    keys = _throttle_keys(tracking_number, ip)
    check_limit(keys, limit=limit, window=window)
    sug = (
        Suggestion.objects.filter(tracking_number=tracking_number)
        .select_related("org", "solicitation", "case")
        .first()
    )
    if sug is None or not hmac.compare_digest(
        sug.access_key_hash, hash_access_key(access_key or "")
    ):
        count_hit(keys, window=window)
        raise NotFound("not_found", _("no suggestion with that tracking number and access key"))
    return sug


def tracked_view(sug: Suggestion) -> dict[str, Any]:
    """The proposer's view: their own suggestion, the reply and what it became."""
    return {
        "tracking_number": sug.tracking_number,
        "title": sug.title,
        "status": sug.status,
        "decision": sug.decision if sug.replied_on else "",
        "received_on": sug.received_on,
        "org": sug.org.name,
        "reply": sug.reply,
        "replied_on": sug.replied_on,
        "case_tracking_number": sug.case.tracking_number if sug.case else None,
        "conversions": [
            {"kind": c.kind, "reference": c.reference, "on": c.on} for c in sug.conversions.all()
        ],
        "supports": support_count(sug.pk),
    }


def _days_to_reply(rows: list[tuple[dt.date, dt.date | None]]) -> list[int]:
    return [(replied - received).days for received, replied in rows if replied is not None]


def suggestion_stats(
    actor: User, *, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, Any]:
    """Suggestions per solicitation and topic, adoption and conversion rates and days to reply,
    over the suggestions the actor may read that were received in [since, until]."""
    if actor.role not in READ_ROLES or actor.org_id is None:
        raise PermissionDenied("forbidden", _("a %s may not read statistics") % actor.role)
    qs = visible_suggestions(actor)
    if since:
        qs = qs.filter(received_on__gte=since)
    if until:
        qs = qs.filter(received_on__lte=until)
    rows = list(
        qs.values_list(
            "id",
            "solicitation_id",
            "solicitation__title",
            "topic",
            "status",
            "decision",
            "received_on",
            "replied_on",
        )
    )
    converted = set(
        SuggestionEvent.objects.filter(
            suggestion_id__in=[r[0] for r in rows], verb="convert"
        ).values_list("suggestion_id", flat=True)
    )
    by_solicitation: Counter[tuple[int | None, str]] = Counter((r[1], r[2] or "") for r in rows)
    by_topic: Counter[str] = Counter(r[3] for r in rows)
    decided = [r for r in rows if r[5]]
    adopted = [r for r in decided if r[5] in (S.ADOPTED, S.PARTLY_ADOPTED)]
    days = _days_to_reply([(r[6], r[7]) for r in rows])
    return {
        "total": len(rows),
        "reclassified": sum(1 for r in rows if r[4] == S.RECLASSIFIED),
        "by_status": dict(Counter(r[4] for r in rows)),
        "by_solicitation": [
            {"solicitation_id": sid, "title": title, "count": n}
            for (sid, title), n in sorted(
                by_solicitation.items(), key=lambda kv: (-kv[1], kv[0][0] or 0)
            )
        ],
        "by_topic": [
            {"topic": t, "count": n} for t, n in sorted(by_topic.items(), key=lambda kv: -kv[1])
        ],
        "decided": len(decided),
        "adopted": len(adopted),
        "adoption_rate": round(len(adopted) / len(decided), 4) if decided else None,
        "converted": len(converted),
        "conversion_rate": round(len(converted) / len(adopted), 4) if adopted else None,
        "replied": len(days),
        "median_days_to_reply": statistics.median(days) if days else None,
        "mean_days_to_reply": round(statistics.fmean(days), 1) if days else None,
    }
