"""People's suggestions (domain.md §9): one service per verb, each one transaction writing the
change and one `SuggestionEvent` together; and public support with confirmation codes.

Support counting never updates a counter on the suggestion row: each person has their own
`Support` row, and the count is the number of confirmed rows (a partial index), so a thousand
supporters confirming at once never queue on one row lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.calendar.profiles import profile_for_received
from petitiondesk.cases.models import Case, CaseEvent
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    RuleRefusal,
)
from petitiondesk.core.ratelimit import hit
from petitiondesk.core.text import clean_text
from petitiondesk.intake.services import (
    TRACKING_ALPHABET,
    PetitionerData,
    Submission,
    _petition_department_for,
    check_received_on,
    hash_access_key,
    new_access_key,
    petition_submit,
)
from petitiondesk.notices.sms import get_backend

from .models import (
    REPLY_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Award,
    Conversion,
    Solicitation,
    Suggestion,
    SuggestionEvent,
    Support,
)
from .transitions import DECIDED, SIDE_VERBS, STAFF_ACTING, check_actor, check_transition

log = logging.getLogger("petitiondesk.suggestions")

S = Suggestion.Status
CODE_TTL = dt.timedelta(minutes=15)
CODE_ATTEMPTS = 5  # wrong codes allowed per code
CODES_MAX = 5  # codes sent to one person for one suggestion
RESEND_SECONDS = 60
MOBILE = re.compile(r"1[3-9]\d{9}")


# --- solicitations ----------------------------------------------------------------------------


def solicitation_publish(
    *,
    actor: User,
    title: str,
    description: str,
    question: str,
    opens_on: dt.date,
    closes_on: dt.date,
    support_threshold: int = 0,
) -> Solicitation:
    """An office asks the public a question between two dates (inclusive)."""
    if actor.role not in STAFF_ACTING or actor.org_id is None:
        raise PermissionDenied("forbidden", _("a %s may not publish solicitations") % actor.role)
    if closes_on < opens_on:
        raise InvalidInput(
            "invalid_input",
            _("the closing date is before the opening date"),
            fields={"closes_on": "before opens_on"},
        )
    if closes_on < clock.today():
        raise InvalidInput(
            "invalid_input",
            _("the closing date is in the past"),
            fields={"closes_on": "in the past"},
        )
    if support_threshold < 0:
        raise InvalidInput(
            "invalid_input",
            _("support_threshold cannot be negative"),
            fields={"support_threshold": "negative"},
        )
    return Solicitation.objects.create(
        org_id=actor.org_id,
        title=clean_text(title, "title", limit=TITLE_MAX, required=True),
        description=clean_text(description, "description", limit=TEXT_MAX, required=True),
        question=clean_text(question, "question", limit=TEXT_MAX, required=True),
        opens_on=opens_on,
        closes_on=closes_on,
        support_threshold=support_threshold,
        created_by=actor,
    )


def solicitation_close(
    *, actor: User, solicitation_id: int, on: dt.date | None = None
) -> Solicitation:
    """Stop accepting suggestions: the closing date becomes `on` (default yesterday, so that it
    is closed at once)."""
    with write_transaction():
        if actor.role not in STAFF_ACTING:
            raise PermissionDenied("forbidden", _("a %s may not close solicitations") % actor.role)
        sol = Solicitation.objects.select_for_update().filter(pk=solicitation_id).first()
        if sol is None or actor.org_id != sol.org_id:
            raise NotFound("not_found", _("no such solicitation"))
        close_on = on or clock.today() - dt.timedelta(days=1)
        if close_on > sol.closes_on:
            raise InvalidInput(
                "invalid_input",
                _("closing cannot extend the solicitation"),
                fields={"on": "after closes_on"},
            )
        sol.closes_on = close_on
        if sol.opens_on > close_on:
            sol.opens_on = close_on
        sol.save(update_fields=["closes_on", "opens_on"])
    return sol


# --- submission -------------------------------------------------------------------------------


@dataclass
class SuggestionSubmission:
    title: str
    reasons: str
    proposal: str
    topic: str = ""
    solicitation_id: int | None = None
    proposer_name: str = ""
    proposer_phone: str = ""
    proposer_email: str = ""
    proposer_address: str = ""
    public_consent: bool = False
    division_code: str = ""
    received_on: dt.date | None = None


@dataclass
class SuggestionReceipt:
    suggestion: Suggestion
    access_key: str


def new_suggestion_number(received_on: dt.date) -> str:
    return f"JY{received_on:%Y%m%d}" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def suggestion_submit(
    *, data: SuggestionSubmission, actor: User | None, client_ip: str = ""
) -> SuggestionReceipt:
    """Register a suggestion from the public (rate-limited per address like petitions) or from
    staff (who may backdate `received_on`). A suggestion answering a solicitation goes to the
    office that published it, and only while it is open."""
    if actor is None:
        hit(
            [f"suggest:ip:{client_ip}"],
            limit=settings.PETITIONDESK_PUBLIC_SUBMIT_MAX,
            window=settings.PETITIONDESK_PUBLIC_SUBMIT_WINDOW_SECONDS,
        )
    elif actor.role not in STAFF_ACTING or actor.org_id is None:
        raise PermissionDenied("forbidden", _("a %s may not register suggestions") % actor.role)
    today = clock.today()
    if actor is None:
        if data.received_on not in (None, today):
            raise PermissionDenied("forbidden", _("only staff may set received_on"))
        received_on = today
    else:
        received_on = check_received_on(data.received_on or today)
    title = clean_text(data.title, "title", limit=TITLE_MAX, required=True)
    reasons = clean_text(data.reasons, "reasons", limit=TEXT_MAX, required=True)
    proposal = clean_text(data.proposal, "proposal", limit=TEXT_MAX, required=True)
    name = clean_text(data.proposer_name, "proposer_name", limit=100, required=True)
    phone = clean_text(data.proposer_phone, "proposer_phone", limit=40)
    email = clean_text(data.proposer_email, "proposer_email", limit=254)
    address = clean_text(data.proposer_address, "proposer_address", limit=300)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput(
                "invalid_input",
                _("proposer_email is not an e-mail address"),
                fields={"proposer_email": "not an e-mail address"},
            ) from None
    if not (phone or email or address):
        raise InvalidInput(
            "missing_field",
            _("give a phone number, an e-mail address or a postal address for the reply"),
            fields={"proposer_phone": "required unless e-mail or address"},
        )
    division = clean_text(data.division_code, "division_code", limit=12)
    if division and not division.isdigit():
        raise InvalidInput(
            "invalid_input", _("division_code must be digits"), fields={"division_code": "digits"}
        )

    solicitation = None
    if data.solicitation_id is not None:
        solicitation = Solicitation.objects.filter(pk=data.solicitation_id).first()
        if solicitation is None:
            raise InvalidInput(
                "unknown_solicitation",
                _("no such solicitation"),
                fields={"solicitation_id": "unknown"},
            )
        # Staff entering a backdated letter check the solicitation on the day it was received.
        if not solicitation.is_open(received_on):
            raise RuleRefusal(
                "solicitation_closed",
                _("this solicitation is not open for suggestions"),
                fields={"solicitation_id": "not open"},
            )
    holder: Organisation
    if solicitation is not None:
        holder = solicitation.org
    elif actor is not None:
        assert actor.org is not None
        holder = actor.org
    else:
        holder = _petition_department_for(division)

    access_key = new_access_key()
    suggestion = Suggestion(
        tracking_number=new_suggestion_number(received_on),
        access_key_hash=hash_access_key(access_key),
        solicitation=solicitation,
        topic=clean_text(data.topic, "topic", limit=64),
        title=title,
        reasons=reasons,
        proposal=proposal,
        proposer_name=name,
        proposer_phone=phone,
        proposer_email=email,
        proposer_address=address,
        public_consent=bool(data.public_consent),
        status=S.RECEIVED,
        org=holder,
        received_on=received_on,
    )
    with write_transaction():
        suggestion.save()
        SuggestionEvent.objects.create(
            suggestion=suggestion,
            verb="submit",
            actor=actor,
            actor_org_id=actor.org_id if actor else None,
            effective_on=received_on,
            to_status=S.RECEIVED,
            payload={
                "channel": Case.Channel.WEB if actor is None else Case.Channel.LETTER,
                "org": holder.code,
                "solicitation": solicitation.pk if solicitation else None,
            },
        )
    return SuggestionReceipt(suggestion=suggestion, access_key=access_key)


# --- staff verbs ------------------------------------------------------------------------------


@dataclass
class SuggestionStep:
    suggestion: Suggestion
    verb: str
    actor: User
    effective_on: dt.date
    from_status: str
    payload: dict[str, Any]
    to_status: str = ""


def _last_step_on(suggestion: Suggestion) -> dt.date:
    last = (
        SuggestionEvent.objects.filter(suggestion=suggestion)
        .exclude(verb__in=[*SIDE_VERBS, "threshold_reached"])
        .order_by("-effective_on")
        .values_list("effective_on", flat=True)
        .first()
    )
    return max(last or suggestion.received_on, suggestion.received_on)


def _effective_on(suggestion: Suggestion, effective_on: dt.date | None) -> dt.date:
    today = clock.today()
    previous = _last_step_on(suggestion)
    if effective_on is None:
        return max(today, previous)
    if effective_on > today:
        raise InvalidInput(
            "future_date",
            _("effective_on %(d)s is in the future") % {"d": effective_on},
            fields={"effective_on": "in the future"},
        )
    if effective_on < previous:
        raise InvalidInput(
            "date_before_previous_step",
            _("effective_on %(d)s is before the previous step (%(p)s)")
            % {"d": effective_on, "p": previous},
            fields={"effective_on": "before the previous step"},
        )
    return effective_on


@contextmanager
def acting(
    *,
    suggestion_id: int,
    verb: str,
    actor: User,
    effective_on: dt.date | None = None,
    target: str | None = None,
) -> Iterator[SuggestionStep]:
    """Lock the suggestion, check the verb and the actor, yield a step; on a clean exit write the
    change (with a version check) and the event."""
    with write_transaction():
        suggestion = Suggestion.objects.select_for_update().filter(pk=suggestion_id).first()
        if suggestion is None or not _may_see(actor, suggestion):
            raise NotFound("not_found", _("no such suggestion"))
        check_transition(suggestion, verb, target)
        check_actor(suggestion, verb, actor)
        step = SuggestionStep(
            suggestion=suggestion,
            verb=verb,
            actor=actor,
            effective_on=_effective_on(suggestion, effective_on),
            from_status=suggestion.status,
            payload={},
            to_status=target or "",
        )
        yield step
        if step.to_status:
            suggestion.status = step.to_status
        updated = Suggestion.objects.filter(pk=suggestion.pk, version=suggestion.version).update(
            **{
                f.attname: getattr(suggestion, f.attname)
                for f in Suggestion._meta.concrete_fields
                if f.attname not in ("id", "version", "created_at")
            },
            version=F("version") + 1,
        )
        if updated != 1:
            raise Conflict("conflict", _("the suggestion was changed meanwhile; try again"))
        suggestion.version += 1
        SuggestionEvent.objects.create(
            suggestion=suggestion,
            verb=verb,
            actor=actor,
            actor_org_id=actor.org_id,
            effective_on=step.effective_on,
            from_status=step.from_status,
            to_status=step.to_status,
            payload=step.payload,
        )


def _may_see(actor: User, suggestion: Suggestion) -> bool:
    # Imported here: the selectors import this module's contact helpers.
    from .selectors import visible_suggestions

    return visible_suggestions(actor).filter(pk=suggestion.pk).exists()


def suggestion_assess(
    *, suggestion_id: int, actor: User, note: str, effective_on: dt.date | None = None
) -> Suggestion:
    with acting(
        suggestion_id=suggestion_id,
        verb="assess",
        actor=actor,
        effective_on=effective_on,
        target=S.ASSESSED,
    ) as step:
        step.payload["note"] = clean_text(note, "note", limit=TEXT_MAX)
    return step.suggestion


def suggestion_forward(*, suggestion_id: int, actor: User, to_org: str, note: str) -> Suggestion:
    """Ask the policy department concerned (`to_org`, a code) for its opinion."""
    org = Organisation.objects.filter(code=to_org, is_active=True).first()
    if org is None:
        raise InvalidInput(
            "unknown_org", _("unknown organisation(s): %s") % to_org, fields={"to_org": "unknown"}
        )
    with acting(suggestion_id=suggestion_id, verb="forward", actor=actor) as step:
        if org.pk == step.suggestion.org_id:
            raise InvalidInput(
                "invalid_input",
                _("the suggestion is already with this organisation"),
                fields={"to_org": "the holder"},
            )
        step.suggestion.forwarded_to = org
        step.payload.update(to_org=org.code, note=clean_text(note, "note", limit=TEXT_MAX))
    return step.suggestion


def suggestion_opinion(*, suggestion_id: int, actor: User, opinion: str) -> Suggestion:
    """The forwarded-to department's opinion, recorded on the suggestion's timeline."""
    text = clean_text(opinion, "opinion", limit=TEXT_MAX, required=True)
    with acting(suggestion_id=suggestion_id, verb="opinion", actor=actor) as step:
        step.payload["opinion"] = text
    return step.suggestion


def suggestion_decide(
    *,
    suggestion_id: int,
    actor: User,
    decision: str,
    reason: str,
    effective_on: dt.date | None = None,
) -> Suggestion:
    if decision not in DECIDED:
        raise InvalidInput(
            "invalid_input",
            _("decision must be one of %s") % ", ".join(sorted(DECIDED)),
            fields={"decision": "unknown"},
        )
    text = clean_text(reason, "reason", limit=TEXT_MAX, required=True)
    with acting(
        suggestion_id=suggestion_id,
        verb="decide",
        actor=actor,
        effective_on=effective_on,
        target=decision,
    ) as step:
        step.suggestion.decision = decision
        step.payload.update(decision=decision, reason=text)
    return step.suggestion


def suggestion_reply(
    *,
    suggestion_id: int,
    actor: User,
    reply: str,
    publish: bool = False,
    effective_on: dt.date | None = None,
) -> Suggestion:
    """The written reply to the proposer; `publish` shows it on the public pages, which needs the
    proposer's consent."""
    text = clean_text(reply, "reply", limit=REPLY_MAX, required=True)
    with acting(
        suggestion_id=suggestion_id,
        verb="reply",
        actor=actor,
        effective_on=effective_on,
        target=S.REPLIED,
    ) as step:
        sug = step.suggestion
        if publish and not sug.public_consent:
            raise RuleRefusal(
                "no_consent",
                _("the proposer did not consent to publication"),
                fields={"publish": "no consent"},
            )
        sug.reply = text
        sug.replied_on = step.effective_on
        sug.published = bool(publish)
        channel, to = _proposer_contact(sug)
        step.payload.update(published=sug.published, decision=sug.decision, sent_to=channel)
    if channel:
        # After the commit: the reply is stored whatever the mail server does, and the proposer
        # also reads it on their tracking page.
        transaction.on_commit(lambda: _send_reply(step.suggestion, channel, to))
    return step.suggestion


def _proposer_contact(sug: Suggestion) -> tuple[str, str]:
    """Where the written reply goes: the proposer's e-mail, else their mobile, else nowhere."""
    if sug.proposer_email:
        return Support.Channel.EMAIL, sug.proposer_email
    if sug.proposer_phone:
        return Support.Channel.SMS, sug.proposer_phone
    return "", ""


def _send_reply(sug: Suggestion, channel: str, to: str) -> None:
    subject = _("Reply to your suggestion %(tn)s") % {"tn": sug.tracking_number}
    try:
        if channel == Support.Channel.SMS:
            text = _(
                "Your suggestion %(tn)s has been answered; read the reply with your access key "
                "on the suggestions page."
            ) % {"tn": sug.tracking_number}
            get_backend().send(to=to, text=text, key=f"suggestion-reply-{sug.pk}")
        else:
            send_mail(subject, f"{sug.title}\n\n{sug.reply}", None, [to])
    except Exception:  # the reply stays readable on the tracking page; the failure is logged
        log.exception("sending the reply to suggestion %s failed", sug.pk)


def suggestion_convert(
    *, suggestion_id: int, actor: User, kind: str, reference: str, on: dt.date
) -> Suggestion:
    """Record what an adopted suggestion became: a policy, a regulation or a deputy's motion."""
    if kind not in Conversion.Kind.values:
        raise InvalidInput(
            "invalid_input",
            _("kind must be one of %s") % ", ".join(Conversion.Kind.values),
            fields={"kind": "unknown"},
        )
    ref = clean_text(reference, "reference", limit=200, required=True)
    if on > clock.today():
        raise InvalidInput(
            "future_date", _("the date cannot be in the future"), fields={"on": "future"}
        )
    with acting(
        suggestion_id=suggestion_id, verb="convert", actor=actor, target=S.CONVERTED
    ) as step:
        sug = step.suggestion
        if sug.decision not in (S.ADOPTED, S.PARTLY_ADOPTED):
            raise RuleRefusal(
                "not_adopted",
                _("only an adopted or partly adopted suggestion can be converted"),
            )
        if on < sug.received_on:
            raise InvalidInput(
                "invalid_input",
                _("the date is before the suggestion was received"),
                fields={"on": "before received_on"},
            )
        conversion = Conversion.objects.create(
            suggestion=sug, kind=kind, reference=ref, on=on, recorded_by=actor
        )
        step.payload.update(kind=kind, reference=ref, on=on.isoformat(), id=conversion.pk)
    return step.suggestion


def suggestion_award(
    *, suggestion_id: int, actor: User, description: str, on: dt.date
) -> Suggestion:
    text = clean_text(description, "description", limit=500, required=True)
    if on > clock.today():
        raise InvalidInput(
            "future_date", _("the date cannot be in the future"), fields={"on": "future"}
        )
    with acting(suggestion_id=suggestion_id, verb="award", actor=actor) as step:
        if step.suggestion.decision not in (S.ADOPTED, S.PARTLY_ADOPTED):
            raise RuleRefusal(
                "not_adopted", _("only an adopted or partly adopted suggestion can be awarded")
            )
        award = Award.objects.create(
            suggestion=step.suggestion, description=text, on=on, recorded_by=actor
        )
        step.payload.update(description=text, on=on.isoformat(), id=award.pk)
    return step.suggestion


def suggestion_reclassify(*, suggestion_id: int, actor: User, reason: str) -> Case:
    """A personal claim sent as a suggestion becomes a petition in one step: the petition is
    registered as received on the suggestion's date (its clocks start then), the proposer is the
    petitioner and keeps the same access key, and both timelines record the move."""
    text = clean_text(reason, "reason", limit=TEXT_MAX, required=True)
    with acting(
        suggestion_id=suggestion_id, verb="reclassify", actor=actor, target=S.RECLASSIFIED
    ) as step:
        sug = step.suggestion
        first = sug.events.filter(verb="submit").values_list("payload", flat=True).first() or {}
        receipt = petition_submit(
            submission=Submission(
                title=sug.title,
                content=f"{sug.reasons}\n\n{sug.proposal}",
                category=Case.Category.CLAIM,
                topic=sug.topic,
                channel=first.get("channel") or Case.Channel.LETTER,
                received_on=sug.received_on,
                petitioners=[
                    PetitionerData(
                        name=sug.proposer_name,
                        phone=sug.proposer_phone,
                        address=sug.proposer_address,
                        email=sug.proposer_email,
                    )
                ],
            ),
            actor=actor,
        )
        case = receipt.case
        # The proposer's access key opens the petition too: they were given only the one.
        Case.objects.filter(pk=case.pk).update(access_key_hash=sug.access_key_hash)
        case.access_key_hash = sug.access_key_hash
        CaseEvent.objects.create(
            case=case,
            verb="reclassified_from_suggestion",
            actor=actor,
            actor_org_id=actor.org_id,
            effective_on=step.effective_on,
            to_status=case.status,
            payload={"suggestion": sug.tracking_number, "reason": text},
        )
        sug.case = case
        step.payload.update(case=case.tracking_number, reason=text)
    return case


# --- public support ---------------------------------------------------------------------------


def normalise_contact(contact: str) -> tuple[str, str]:
    """(channel, normalised contact) of an e-mail address or a mainland mobile number, so that
    differently written forms of the same contact are one person: case, full-width characters,
    spaces, dashes, a +86 prefix and an e-mail "+tag" are ignored."""
    value = unicodedata.normalize("NFKC", contact or "").strip()
    if "@" in value:
        local, _at, domain = value.lower().rpartition("@")
        local = local.split("+", 1)[0]
        email = f"{local}@{domain}"
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput(
                "invalid_input",
                _("give an e-mail address or a mobile number"),
                fields={"contact": "not an e-mail address"},
            ) from None
        return Support.Channel.EMAIL, email
    digits = re.sub(r"[\s\-().]", "", value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
    if not MOBILE.fullmatch(digits):
        raise InvalidInput(
            "invalid_input",
            _("give an e-mail address or a mobile number"),
            fields={"contact": "not a mobile number"},
        )
    return Support.Channel.SMS, digits


def identity_hash(normalised: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"support:{normalised}".encode(), hashlib.sha256
    ).hexdigest()


def _code_hash(identity: str, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"code:{identity}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def network_of(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) network of an address: one household or one small provider
    block, so that a burst rotating addresses within it is still one sender."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def _supportable(suggestion_id: int) -> Suggestion:
    sug = Suggestion.objects.filter(pk=suggestion_id).only("id", "public_consent", "status").first()
    if sug is None or not sug.public_consent or sug.status == S.RECLASSIFIED:
        raise NotFound("not_found", _("no such suggestion open to support"))
    return sug


def _send_code(channel: str, to: str, code: str, key: str) -> None:
    text = _(
        "Your confirmation code for supporting a suggestion is %(code)s (valid 15 minutes)."
    ) % {"code": code}
    if channel == Support.Channel.SMS:
        get_backend().send(to=to, text=text, key=key)
    else:
        send_mail(_("Confirm your support"), text, None, [to])


def support_request(*, suggestion_id: int, contact: str, client_ip: str) -> None:
    """Send a 6-digit code (valid 15 minutes) to the supporter's e-mail or mobile; a new request
    replaces the code. Limited per address and per network (429), and per person on their own row:
    a new code at most every `RESEND_SECONDS` and at most `CODES_MAX` codes (no SMS bombing)."""
    channel, normalised = normalise_contact(contact)
    window = settings.PETITIONDESK_SUPPORT_WINDOW_SECONDS
    network = network_of(client_ip)
    hit([f"support:ip:{client_ip}"], limit=settings.PETITIONDESK_SUPPORT_IP_MAX, window=window)
    if network:
        hit(
            [f"support:net:{network}"],
            limit=settings.PETITIONDESK_SUPPORT_NETWORK_MAX,
            window=window,
        )
    identity = identity_hash(normalised)
    sug = _supportable(suggestion_id)
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = clock.now()
    values = {
        "channel": channel,
        "code_hash": _code_hash(identity, code),
        "attempts": 0,
        "expires_at": now + CODE_TTL,
        "ip": client_ip or None,
        "network": network,
    }
    with write_transaction():
        row = (
            Support.objects.select_for_update()
            .filter(suggestion=sug, identity_hash=identity)
            .only("id", "confirmed_at", "codes_sent", "expires_at")
            .first()
        )
        if row is None:
            try:
                with transaction.atomic():
                    Support.objects.create(suggestion=sug, identity_hash=identity, **values)
            except IntegrityError:  # the same person twice at once: one code is enough
                raise RateLimited(
                    _("a code was sent a moment ago; please wait"), retry_after=RESEND_SECONDS
                ) from None
        else:
            if row.confirmed_at is not None:
                raise Conflict("already_supported", _("you already support this suggestion"))
            sent_at = row.expires_at - CODE_TTL
            if row.codes_sent >= CODES_MAX:
                raise RateLimited(_("too many codes requested"), retry_after=window)
            if now < sent_at + dt.timedelta(seconds=RESEND_SECONDS):
                raise RateLimited(
                    _("a code was sent a moment ago; please wait"), retry_after=RESEND_SECONDS
                )
            Support.objects.filter(pk=row.pk).update(**values, codes_sent=F("codes_sent") + 1)
    # Sent once the code is stored: a code that failed to store must never reach anyone.
    _send_code(channel, normalised, code, f"support:{sug.pk}:{values['code_hash']!s:.16}")


def support_confirm(*, suggestion_id: int, contact: str, code: str, client_ip: str) -> int:
    """Count the support once the right code is given; return the new count. At most
    `CODE_ATTEMPTS` wrong codes per code. Reaching the solicitation's threshold requires an
    official answer, set once by a conditional UPDATE."""
    _channel, normalised = normalise_contact(contact)
    identity = identity_hash(normalised)
    row = (
        Support.objects.filter(
            suggestion_id=suggestion_id,
            identity_hash=identity,
            suggestion__public_consent=True,
        )
        .exclude(suggestion__status=S.RECLASSIFIED)
        .select_related("suggestion__solicitation")
        .only(
            "id",
            "code_hash",
            "attempts",
            "expires_at",
            "confirmed_at",
            "ip",
            "suggestion__id",
            "suggestion__answer_required",
            "suggestion__received_on",
            "suggestion__solicitation__support_threshold",
        )
        .first()
    )
    if row is None:
        _supportable(suggestion_id)  # 404 when the suggestion is not open to support
        raise RuleRefusal("wrong_code", _("wrong or expired code"), fields={"code": "wrong"})
    if row.confirmed_at is not None:
        raise Conflict("already_supported", _("you already support this suggestion"))
    if row.attempts >= CODE_ATTEMPTS:
        raise RuleRefusal(
            "too_many_attempts",
            _("too many wrong codes; ask for a new one"),
            fields={"code": "too many attempts"},
        )
    now = clock.now()
    if row.expires_at <= now:
        raise RuleRefusal("code_expired", _("the code has expired; ask for a new one"))
    good = hmac.compare_digest(row.code_hash, _code_hash(identity, (code or "").strip()))
    live = Support.objects.filter(
        pk=row.pk, confirmed_at__isnull=True, attempts__lt=CODE_ATTEMPTS, code_hash=row.code_hash
    )
    if not good:
        live.update(attempts=F("attempts") + 1)
        raise RuleRefusal("wrong_code", _("wrong or expired code"), fields={"code": "wrong"})
    if live.update(confirmed_at=now, ip=client_ip or row.ip) != 1:
        # Another request confirmed (or a new code replaced) it in between.
        if Support.objects.filter(pk=row.pk, confirmed_at__isnull=False).exists():
            raise Conflict("already_supported", _("you already support this suggestion"))
        raise RuleRefusal("wrong_code", _("wrong or expired code"), fields={"code": "wrong"})
    # Imported here: the selectors import this module's helpers.
    from .selectors import support_count

    count = support_count(suggestion_id)
    sug = row.suggestion
    if sug.solicitation is not None and not sug.answer_required:
        threshold = sug.solicitation.support_threshold
        if 0 < threshold <= count:
            _threshold_reached(sug, count, threshold)
    return count


def _threshold_reached(sug: Suggestion, count: int, threshold: int) -> None:
    today = clock.today()
    days = profile_for_received(sug.received_on).suggestion_targets.get("answer", 30)
    due = today + dt.timedelta(days=days)
    with write_transaction():
        # Many confirmations may cross the threshold at once: only one UPDATE finds the flag off.
        won = Suggestion.objects.filter(pk=sug.pk, answer_required=False).update(
            answer_required=True, answer_due_on=due
        )
        if won:
            SuggestionEvent.objects.create(
                suggestion_id=sug.pk,
                verb="threshold_reached",
                effective_on=today,
                payload={"supports": count, "threshold": threshold, "due_on": due.isoformat()},
            )
