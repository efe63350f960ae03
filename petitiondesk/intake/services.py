"""Taking petitions in: every channel ends here (domain.md §2).

The hot path of the system: one transaction of a few inserts and one duplicate lookup, nothing that
can wait until after commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import org_accused_scope
from petitiondesk.calendar.profiles import profile_for_received
from petitiondesk.cases import deadlines as dl
from petitiondesk.cases.models import (
    CONTENT_MAX,
    PETITIONERS_MAX,
    TITLE_MAX,
    Case,
    CaseEvent,
    CaseLink,
    Deadline,
    Petitioner,
)
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import InvalidInput, PermissionDenied, RuleRefusal
from petitiondesk.core.memo import TTLMemo
from petitiondesk.core.ratelimit import hit
from petitiondesk.core.text import clean_text
from petitiondesk.routing import similarity
from petitiondesk.routing.identity import identity_keys
from petitiondesk.routing.similarity import Match

from .store import registration_store

STAFF_CHANNELS = frozenset(Case.Channel.values)
PUBLIC_CHANNELS = frozenset({Case.Channel.WEB, Case.Channel.API})
EARLIEST_RECEIPT = dt.date(1995, 1, 1)  # the first national regulations on letters and visits
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


@dataclass
class PetitionerData:
    name: str = ""
    phone: str = ""
    id_number: str = ""
    address: str = ""
    email: str = ""


@dataclass
class Submission:
    title: str
    content: str
    category: str | None = None
    topic: str | None = None
    division_code: str = ""
    channel: str | None = None
    received_on: dt.date | None = None
    to_org: str | None = None
    petitioners: Sequence[PetitionerData] = field(default_factory=list)
    representatives: int = 0
    people_count: int = 1
    anonymous: bool = False
    confidential: bool = False
    accused_orgs: Sequence[str] = field(default_factory=list)
    urgent: bool = False
    location: str = ""  # where the problem is (Open311 address_string)
    lat: float | None = None
    lng: float | None = None


@dataclass
class Receipt:
    case: Case
    access_key: str | None
    deadlines: list[Deadline]
    duplicates: list[tuple[int, float]]
    # The earlier cases this one repeats that the submitter may read, with why (staff only).
    matches: list[Match] = field(default_factory=list)


def hash_access_key(key: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()


def new_tracking_number(received_on: dt.date) -> str:
    return f"XF{received_on:%Y%m%d}" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def new_access_key() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(12))


def content_fingerprint(title: str, content: str) -> str:
    """Exact-repeat fingerprint: NFKC, whitespace removed (repeats differ only in spacing)."""
    text = unicodedata.normalize("NFKC", f"{title}\n{content}")
    return hashlib.sha256("".join(text.split()).encode()).hexdigest()


def _receiving_org(
    sub: Submission, actor: User | None, orgs: dict[str, Organisation]
) -> Organisation:
    """Who holds a new case: the organ written to, else the staff member's org, else the
    petition department of the division (nearest enclosing level)."""
    if sub.to_org:
        return orgs[sub.to_org]
    if actor is not None and actor.org_id is not None:
        assert actor.org is not None
        return actor.org
    return _petition_departments.get(
        sub.division_code, lambda: _petition_department_for(sub.division_code)
    )


# Division code -> the petition department that receives its public submissions.
_petition_departments: TTLMemo[Organisation] = TTLMemo(
    lambda: settings.PETITIONDESK_ORG_CACHE_SECONDS
)


def _petition_department_for(division_code: str) -> Organisation:
    """The petition department of the division, else of its city, else of its province, else the
    top-level one."""
    code = division_code
    candidates = [code, code[:4] + "00", code[:2] + "0000"] if len(code) == 6 else []
    departments = Organisation.objects.filter(
        kind=Organisation.Kind.PETITION_DEPARTMENT, is_active=True
    )
    found = {o.division_code: o for o in departments.filter(division_code__in=candidates)}
    for c in candidates:
        if c in found:
            return found[c]
    top = departments.order_by("parent_id", "id").first()
    if top is None:
        raise InvalidInput("no_petition_department", _("no petition department is configured"))
    return top


def check_received_on(received_on: dt.date) -> dt.date:
    """A date of receipt staff record: not in the future, not before the first regulations."""
    if received_on > clock.today():
        raise InvalidInput(
            "future_date",
            _("received_on cannot be in the future"),
            fields={"received_on": "future"},
        )
    if received_on < EARLIEST_RECEIPT:
        raise InvalidInput(
            "invalid_input",
            _("received_on is implausibly early"),
            fields={"received_on": "too early"},
        )
    return received_on


def _location(sub: Submission) -> tuple[str, float | None, float | None]:
    location = clean_text(sub.location, "location", limit=300)
    if (sub.lat is None) != (sub.lng is None):
        raise InvalidInput(
            "invalid_input",
            _("give both lat and long, or neither"),
            fields={"lat": "with long"},
        )
    if sub.lat is not None and sub.lng is not None:
        if not (-90 <= sub.lat <= 90 and -180 <= sub.lng <= 180):
            raise InvalidInput(
                "invalid_input",
                _("lat must be within ±90 and long within ±180"),
                fields={"lat": "out of range"},
            )
        return location, float(sub.lat), float(sub.lng)
    return location, None, None


def petition_submit(*, submission: Submission, actor: User | None, client_ip: str = "") -> Receipt:
    """Register a petition from any channel. `actor` is staff registering it, or None (public,
    limited per `client_ip` to PETITIONDESK_PUBLIC_SUBMIT_MAX per window)."""
    if actor is None:
        hit(
            [f"submit:ip:{client_ip}"],
            limit=settings.PETITIONDESK_PUBLIC_SUBMIT_MAX,
            window=settings.PETITIONDESK_PUBLIC_SUBMIT_WINDOW_SECONDS,
        )
    sub = submission
    today = clock.today()
    title = clean_text(sub.title, "title", limit=TITLE_MAX, required=True)
    content = clean_text(sub.content, "content", limit=CONTENT_MAX, required=True)
    if sub.category and sub.category not in Case.Category.values:
        raise InvalidInput(
            "invalid_input", _("unknown category %s") % sub.category, fields={"category": "unknown"}
        )
    division = clean_text(sub.division_code, "division_code", limit=12)
    if division and not division.isdigit():
        raise InvalidInput(
            "invalid_input", _("division_code must be digits"), fields={"division_code": "digits"}
        )

    if actor is None:
        channel = sub.channel or Case.Channel.WEB
        if channel not in PUBLIC_CHANNELS:
            raise PermissionDenied("forbidden", _("only staff may register %s petitions") % channel)
        if sub.received_on not in (None, today):
            raise PermissionDenied("forbidden", _("only staff may set received_on"))
        received_on = today
    else:
        if actor.role not in (User.Role.CLERK, User.Role.HANDLER, User.Role.HEAD):
            raise PermissionDenied("forbidden", _("a %s may not register petitions") % actor.role)
        channel = sub.channel or Case.Channel.LETTER
        if channel not in STAFF_CHANNELS:
            raise InvalidInput(
                "invalid_input", _("unknown channel %s") % channel, fields={"channel": "unknown"}
            )
        received_on = check_received_on(sub.received_on or today)

    profile = profile_for_received(received_on)
    if sub.people_count < 1 or sub.representatives < 0:
        raise InvalidInput("invalid_input", _("people_count must be ≥ 1 and representatives ≥ 0"))
    if sub.representatives > sub.people_count:
        raise InvalidInput(
            "invalid_input",
            _("more representatives than people"),
            fields={"representatives": "> people_count"},
        )
    if sub.representatives > profile.max_representatives:
        raise RuleRefusal(
            "too_many_representatives",
            _("a group may elect at most %(n)d representatives (Art. 20)")
            % {"n": profile.max_representatives},
            fields={"representatives": f"at most {profile.max_representatives}"},
        )
    if len(sub.petitioners) > PETITIONERS_MAX:
        raise InvalidInput(
            "too_long",
            _("at most %d petitioners") % PETITIONERS_MAX,
            fields={"petitioners": "too many"},
        )
    location, lat, lng = _location(sub)
    petitioners = [
        Petitioner(
            name=clean_text(p.name, "petitioners.name", limit=100),
            phone=clean_text(p.phone, "petitioners.phone", limit=40),
            id_number=clean_text(p.id_number, "petitioners.id_number", limit=40),
            address=clean_text(p.address, "petitioners.address", limit=300),
            email=clean_text(p.email, "petitioners.email", limit=254),
        )
        for p in ([] if sub.anonymous else sub.petitioners)
    ]
    for p in petitioners:
        for name, value in identity_keys(
            phone=p.phone, id_number=p.id_number, email=p.email
        ).items():
            setattr(p, name, value)
    if not sub.anonymous and not any(p.name for p in petitioners):
        raise InvalidInput(
            "missing_field",
            _("name at least one petitioner, or submit anonymously"),
            fields={"petitioners": "required unless anonymous"},
        )
    if sub.accused_orgs and sub.category != Case.Category.ACCUSATION:
        raise InvalidInput(
            "invalid_input",
            _("accused_orgs apply to accusations only"),
            fields={"accused_orgs": "accusations only"},
        )

    wanted = {c for c in [sub.to_org, *sub.accused_orgs] if c}
    orgs = (
        {o.code: o for o in Organisation.objects.filter(code__in=wanted, is_active=True)}
        if wanted
        else {}
    )
    unknown = sorted(wanted - set(orgs))
    if unknown:
        raise InvalidInput(
            "unknown_org",
            _("unknown organisation(s): %s") % ", ".join(unknown),
            fields={"org": unknown},
        )
    holder = _receiving_org(sub, actor, orgs)
    if sub.accused_orgs and holder.pk in org_accused_scope(*(orgs[c].pk for c in sub.accused_orgs)):
        raise RuleRefusal(
            "confidential_to_accused",
            _("an accusation cannot be lodged with the accused organisation"),
        )

    access_key = None if sub.anonymous else new_access_key()
    fingerprint = content_fingerprint(title, content)
    case = Case(
        tracking_number=new_tracking_number(received_on),
        access_key_hash=hash_access_key(access_key) if access_key else "",
        title=title,
        content=content,
        content_hash=fingerprint,
        category=sub.category or "",
        topic=clean_text(sub.topic, "topic", limit=64),
        division_code=division,
        channel=channel,
        status=Case.Status.REGISTERED,
        profile=profile.name,
        received_on=received_on,
        last_effective_on=received_on,
        org=holder,
        registered_by_org=holder if actor is None else (actor.org or holder),
        registered_by=actor,
        anonymous=sub.anonymous,
        confidential=sub.confidential,
        people_count=sub.people_count,
        representatives=sub.representatives,
        location=location,
        lat=lat,
        lng=lng,
    )
    if holder.kind == Organisation.Kind.PETITION_DEPARTMENT:
        first_rules = ["routing"]
    else:
        # An anonymous petitioner cannot be notified: no notice duty (domain.md §2).
        first_rules = [] if sub.anonymous else ["notice"]
    if sub.urgent:
        first_rules.append("urgent_report")
    deadlines = [dl.new_deadline(case, r, received_on, profile=profile) for r in first_rules]
    event = CaseEvent(
        case=case,
        verb="register",
        actor=actor,
        actor_org_id=actor.org_id if actor else None,
        by_petitioner=actor is None,
        effective_on=received_on,
        to_status=case.status,
        payload={
            "channel": channel,
            "org": holder.code,
            "registered_at": timezone.now().isoformat(),
        },
    )
    signature = similarity.hasher().signature(similarity.case_text(title, content))
    matches = similarity.intake_matches(
        title=title,
        content=content,
        petitioners=petitioners,
        holder_id=holder.pk,
        signature=signature,
    )

    duplicates = registration_store(
        case=case,
        petitioners=petitioners,
        deadlines=deadlines,
        event=event,
        accused=[orgs[c] for c in sub.accused_orgs],
        links=[
            CaseLink(other_id=m.case_id, relation=m.relation, score=m.score, basis=m.basis)
            for m in matches
        ],
    )
    # Other processes find the case by catching up with the database; this one knows it now.
    transaction.on_commit(lambda: similarity.remember(case.pk, signature))
    # Imported here: the case selectors use this module's key hashing.
    from petitiondesk.cases.selectors import visible_among

    # The links are stored for staff who may see both cases; the submitter is told only of the
    # earlier cases they may read themselves (never the public, never an accused organ).
    scores = {d: 1.0 for d in duplicates} | {m.case_id: m.score for m in matches}
    shown = visible_among(actor, list(scores))
    return Receipt(
        case=case,
        access_key=access_key,
        deadlines=deadlines,
        duplicates=sorted(
            ((d, s) for d, s in scores.items() if d in shown), key=lambda p: (-p[1], -p[0])
        ),
        matches=[m for m in matches if m.case_id in shown],
    )


def petition_submit_with_files(
    *, submission: Submission, uploads: Sequence[Any], client_ip: str = ""
) -> Receipt:
    """A public submission with its attachments, all or nothing: every file is checked before the
    case is created, and the case and its files commit together."""
    # Imported here: the case modules use this module's key hashing.
    from petitiondesk.cases.attachments import attachment_add, check_uploads, upload_dir

    check_uploads(uploads)
    stored: list[str] = []
    try:
        with write_transaction():
            receipt = petition_submit(submission=submission, actor=None, client_ip=client_ip)
            for upload in uploads:
                added = attachment_add(case_id=receipt.case.pk, upload=upload, actor=None)
                stored.append(added.storage_name)
    except BaseException:
        # The rows were rolled back, so nothing can reach these files any more.
        for name in stored:
            (upload_dir() / name).unlink(missing_ok=True)
        raise
    return receipt
