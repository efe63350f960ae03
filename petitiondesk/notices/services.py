"""Issuing written notices and delivering them (docs/notices.md).

`notice_issue` freezes a notice (facts, text, template version, number) and its PDF as an
attachment of the case, and creates its deliveries, in one transaction. E-mail and SMS deliveries
are sent by the `send_delivery` task (enqueued on commit and, for retries, by the scheduler's
`deliveries_sweep`): each attempt first claims the row with a conditional UPDATE, so two workers
never send one delivery at once, and a delivery already sent is never sent again.
`notice_delivery_confirm` records the receipt; for an opinion it restarts the petitioner's windows
through `cases.services.case_deliver`.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.cases.attachments import attachment_discard, attachment_store, upload_dir
from petitiondesk.cases.models import Case, CaseEvent
from petitiondesk.cases.selectors import visible_cases
from petitiondesk.cases.services import case_deliver
from petitiondesk.cases.transitions import TRANSITIONS
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleRefusal
from petitiondesk.core.files import PDF

from .facts import OPINION_KINDS, StaffFields, build_facts, step_event
from .models import Delivery, Kind, Language, Notice, NoticeSequence, NoticeTemplate
from .rendering import check_body, render_body, render_pdf

log = logging.getLogger("petitiondesk.notices")

R = User.Role
# Who issues and confirms: the staff of the organ that took the step the notice reports; a
# supervision notice comes from a supervisor or a petition department (Art. 40).
ISSUER_ROLES = frozenset({R.CLERK, R.HANDLER, R.HEAD})
SUPERVISION_ROLES = frozenset({R.SUPERVISOR, R.CLERK, R.HEAD})
SENT_BY_TASK = frozenset({Delivery.Channel.EMAIL, Delivery.Channel.SMS})
# While an attempt runs, its row is not due again: a worker that dies mid-send is retried after.
ATTEMPT_LEASE = dt.timedelta(minutes=10)
ORG_PD = Organisation.Kind.PETITION_DEPARTMENT
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,30}$")


@dataclass(frozen=True)
class DeliveryRequest:
    channel: str
    address: str | None = None


# --- templates ---------------------------------------------------------------------------------


def template_active(kind: str, language: str) -> NoticeTemplate:
    found = NoticeTemplate.objects.filter(kind=kind, language=language, is_active=True).first()
    if found is None:
        raise InvalidInput(
            "no_template",
            _("there is no active template for %(kind)s (%(lang)s)")
            % {"kind": kind, "lang": language},
        )
    return found


def template_revise(
    *, kind: str, language: str, title: str, body: str, actor: User | None
) -> NoticeTemplate:
    """A new version of a kind's template; the previous one is kept, inactive (issued notices
    name the version they were written from)."""
    check_body(body)
    with write_transaction():
        current = (
            NoticeTemplate.objects.select_for_update()
            .filter(kind=kind, language=language)
            .order_by("-version")
            .first()
        )
        NoticeTemplate.objects.filter(kind=kind, language=language, is_active=True).update(
            is_active=False
        )
        return NoticeTemplate.objects.create(
            kind=kind,
            language=language,
            title=title,
            body=body,
            version=(current.version + 1) if current else 1,
            is_active=True,
            updated_by=actor,
        )


# --- issuing ----------------------------------------------------------------------------------


def _next_serial(org: Organisation, year: int) -> int:
    """The next number of `org` in `year`. Must run inside a transaction (the row is locked)."""
    NoticeSequence.objects.get_or_create(org=org, year=year)
    seq = NoticeSequence.objects.select_for_update().get(org=org, year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return seq.last


def _check_issuer(case: Case, kind: str, actor: User, event: CaseEvent | None) -> Organisation:
    """The issuing organisation, or `PermissionDenied`."""
    if actor.org is None:
        raise PermissionDenied("forbidden", _("staff of an organisation only"))
    if kind == Kind.SUPERVISION:
        by_department = actor.org.kind == Organisation.Kind.PETITION_DEPARTMENT
        if actor.role not in SUPERVISION_ROLES or (
            actor.role != R.SUPERVISOR and not by_department
        ):
            raise PermissionDenied(
                "forbidden",
                _("a supervision notice is issued by a supervisor or a petition department"),
            )
        if actor.org_id == case.org_id:
            raise PermissionDenied("forbidden", _("an organ does not supervise itself"))
        return actor.org
    step_org = (event.actor_org_id if event else None) or case.org_id
    if actor.role not in ISSUER_ROLES or actor.org_id != step_org:
        raise PermissionDenied(
            "forbidden",
            _(
                "only the clerks, handlers and heads of the organisation that took the step may "
                "issue its notice"
            ),
        )
    return actor.org


def may_issue(case: Case, user: User) -> bool:
    """Whether `user` may issue some notice on `case` (the service checks the kind exactly): staff
    of the holding or the last deciding organ, or a supervising body (for a supervision notice)."""
    if user.org_id is None:
        return False
    if user.role in ISSUER_ROLES and user.org_id in (case.org_id, case.handled_by_org_id):
        return True
    if user.org_id == case.org_id:
        return False
    if user.role == R.SUPERVISOR:
        return True
    # Only now the organisation's kind (a query, which the holder's own staff never pay).
    org = user.org
    return user.role in SUPERVISION_ROLES and org is not None and org.kind == ORG_PD


def may_confirm(notice: Notice, user: User) -> bool:
    """Only the issuing organisation records the delivery of its notice."""
    roles = SUPERVISION_ROLES if notice.kind == Kind.SUPERVISION else ISSUER_ROLES
    return user.role in roles and user.org_id == notice.org_id


def _address(case: Case, channel: str, given: str | None, kind: str) -> str:
    if channel not in Delivery.Channel.values:
        raise InvalidInput(
            "invalid_input",
            _("channel must be one of %s") % ", ".join(Delivery.Channel.values),
            fields={"channel": "unknown"},
        )
    address = (given or "").strip()
    if not address and kind != Kind.SUPERVISION:
        if case.anonymous:
            raise RuleRefusal(
                "anonymous_petitioner",
                _("the petitioner is anonymous: there is nobody to deliver the notice to"),
                fields={"deliver": "anonymous petitioner"},
            )
        petitioners = list(case.petitioners.all())
        field = {"email": "email", "sms": "phone", "post": "address"}.get(channel)
        if field:
            address = next((getattr(p, field) for p in petitioners if getattr(p, field)), "")
        else:  # in person: to the petitioner by name
            address = next((p.name for p in petitioners if p.name), "")
    if not address and channel != Delivery.Channel.IN_PERSON:
        raise RuleRefusal(
            "no_address",
            _("no %(channel)s address for this delivery: give one") % {"channel": channel},
            fields={"address": "required"},
        )
    if channel == Delivery.Channel.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidInput(
                "invalid_input",
                _("%s is not an e-mail address") % address,
                fields={"address": "not an e-mail address"},
            ) from None
    if channel == Delivery.Channel.SMS and not _PHONE.match(address):
        raise InvalidInput(
            "invalid_input",
            _("%s is not a phone number") % address,
            fields={"address": "not a phone number"},
        )
    if len(address) > 300:
        raise InvalidInput("too_long", _("the address is too long"), fields={"address": "≤ 300"})
    return address


def _event(case: Case, verb: str, actor: User | None, payload: dict[str, Any]) -> None:
    """A notice's step in the case timeline (not a step of the procedure: the status stays)."""
    CaseEvent.objects.create(
        case=case,
        verb=verb,
        actor=actor,
        actor_org_id=actor.org_id if actor else None,
        effective_on=clock.today(),
        from_status=case.status,
        to_status=case.status,
        payload=payload,
    )


def _new_delivery(notice: Notice, channel: str, address: str) -> Delivery:
    now = timezone.now()
    by_task = channel in SENT_BY_TASK
    message_id = ""
    if channel == Delivery.Channel.EMAIL:
        from petitiondesk.mail.outbound import make_message_id

        message_id = make_message_id()
    return Delivery.objects.create(
        notice=notice,
        channel=channel,
        address=address,
        # Post and in-person deliveries are handed over by staff: nothing to transmit.
        state=Delivery.State.PENDING if by_task else Delivery.State.SENT,
        next_attempt_at=now if by_task else None,
        sent_at=None if by_task else now,
        key=secrets.token_hex(16),
        message_id=message_id,
    )


def _enqueue(delivery_ids: list[int]) -> None:
    from .tasks import send_delivery

    for delivery_id in delivery_ids:
        send_delivery.enqueue(delivery_id)


def notice_issue(
    *,
    case_id: int,
    actor: User,
    kind: str,
    language: str = Language.ZH_HANS,
    fields: StaffFields | None = None,
    deliver: Sequence[DeliveryRequest] = (),
) -> Notice:
    """Issue a notice of `kind` on the case: checked against its history and the actor's
    organisation, frozen (facts, text, template version, number, PDF attached to the case), and
    delivered on commit through each requested channel."""
    if kind not in Kind.values:
        raise InvalidInput(
            "invalid_input",
            _("kind must be one of %s") % ", ".join(Kind.values),
            fields={"kind": "unknown"},
        )
    if language not in Language.values:
        raise InvalidInput("invalid_input", _("unknown language"), fields={"language": "unknown"})
    if not visible_cases(actor).filter(pk=case_id).exists():
        raise NotFound("not_found", _("no such case"))
    template = template_active(kind, language)
    storage_name: str | None = None
    try:
        with write_transaction():
            case = Case.objects.select_for_update().select_related("org").filter(pk=case_id).first()
            if case is None:
                raise NotFound("not_found", _("no such case"))
            events = list(case.events.select_related("actor_org"))
            event = step_event(case, kind, events)
            org = _check_issuer(case, kind, actor, event)
            addresses = [(d.channel, _address(case, d.channel, d.address, kind)) for d in deliver]
            facts = build_facts(
                case=case,
                kind=kind,
                language=language,
                issuer=org,
                event=event,
                events=events,
                deadlines=list(case.deadlines.all()),
                petitioner_names=[p.name for p in case.petitioners.all()],
                fields=fields or StaffFields(),
            )
            today = clock.today()
            serial = _next_serial(org, today.year)
            number = f"〔{today.year}〕第{serial}号"
            facts.update(number=number, issued_on=today.isoformat())
            with translation.override(language):  # dates and numbers as the notice's language
                text = render_body(template.body, facts)
                pdf = render_pdf(
                    title=template.title,
                    number=number,
                    org=org.name,
                    issued_on=today,
                    language=language,
                    body_html=text,
                )
            attachment = attachment_store(
                case=case,
                data=pdf,
                filename=f"{template.title}-{case.tracking_number}-{today.year}-{serial}",
                file_type=PDF,
                actor=actor,
            )
            storage_name = attachment.storage_name
            notice = Notice.objects.create(
                case=case,
                kind=kind,
                language=language,
                org=org,
                year=today.year,
                serial=serial,
                number=number,
                template=template,
                template_version=template.version,
                title=template.title,
                facts=facts,
                text=text,
                attachment=attachment,
                event_id_ref=event.pk if event and kind in OPINION_KINDS else None,
                issued_by=actor,
            )
            deliveries = [_new_delivery(notice, ch, address) for ch, address in addresses]
            _event(
                case,
                "notice_issue",
                actor,
                {
                    "notice_id": notice.pk,
                    "kind": kind,
                    "number": number,
                    "attachment_id": attachment.pk,
                    "template_version": template.version,
                    "deliveries": [{"id": d.pk, "channel": d.channel} for d in deliveries],
                },
            )
            to_send = [d.pk for d in deliveries if d.channel in SENT_BY_TASK]
            transaction.on_commit(lambda: _enqueue(to_send))
    except BaseException:
        if storage_name is not None:  # the row was not stored: nothing can reach the file
            attachment_discard(storage_name)
        raise
    return notice


# --- sending ----------------------------------------------------------------------------------


def _plain_text(notice: Notice) -> str:
    text = re.sub(r"</(p|h2|li)>", "\n", notice.text)
    return html.unescape(strip_tags(text)).strip()


def _sms_text(notice: Notice) -> str:
    facts = notice.facts
    if notice.language == Language.EN:
        return (
            f"[{facts.get('org')}] {notice.title} {notice.number} on your petition "
            f"{facts.get('tracking_number')} has been issued."
        )
    return (
        f"【{facts.get('org')}】您的信访事项（编号{facts.get('tracking_number')}）的"
        f"《{notice.title}》（{notice.number}）已出具，请注意查收。"
    )


def _transmit(delivery: Delivery) -> None:
    notice = delivery.notice
    if delivery.channel == Delivery.Channel.EMAIL:
        from petitiondesk.mail.outbound import remember_outbound

        # Remembered first: a reply can only come after the mail went out.
        remember_outbound(message_id=delivery.message_id, case_id=notice.case_id)
        sender = getattr(settings, "PETITIONDESK_MAIL_ADDRESS", "") or settings.DEFAULT_FROM_EMAIL
        message = EmailMessage(
            subject=f"{notice.title} {notice.number}",
            body=_plain_text(notice),
            from_email=sender,
            to=[delivery.address],
            headers={"Message-ID": delivery.message_id},
        )
        if notice.attachment is not None:
            data = (upload_dir() / notice.attachment.storage_name).read_bytes()
            message.attach(notice.attachment.filename, data, PDF.content_type)
        message.send(fail_silently=False)
    elif delivery.channel == Delivery.Channel.SMS:
        from .sms import get_backend

        get_backend().send(to=delivery.address, text=_sms_text(notice), key=delivery.key)


def retry_delay(attempts: int) -> dt.timedelta:
    """Back-off after the `attempts`-th failed attempt: 1, 2, 4, … times the base delay."""
    return dt.timedelta(seconds=settings.PETITIONDESK_NOTICE_RETRY_SECONDS * 2 ** (attempts - 1))


def delivery_attempt(*, delivery_id: int) -> str:
    """One attempt to send a pending delivery that is due; what happened ("sent", "retry",
    "failed", or "skipped" when the row is not due, is being sent, or was sent already)."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, state=Delivery.State.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + ATTEMPT_LEASE)
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.select_related("notice", "notice__attachment", "notice__case").get(
        pk=delivery_id
    )
    case = delivery.notice.case
    try:
        _transmit(delivery)
    except Exception as exc:  # any failure of the backend: recorded and retried, never lost
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error)
        with write_transaction():
            if delivery.attempts >= settings.PETITIONDESK_NOTICE_MAX_ATTEMPTS:
                Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.PENDING).update(
                    state=Delivery.State.FAILED, next_attempt_at=None, last_error=error
                )
                _event(
                    case,
                    "notice_send_failed",
                    None,
                    {
                        "notice_id": delivery.notice_id,
                        "number": delivery.notice.number,
                        "delivery_id": delivery.pk,
                        "channel": delivery.channel,
                        "attempts": delivery.attempts,
                        "error": error,
                    },
                )
                return "failed"
            Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.PENDING).update(
                next_attempt_at=timezone.now() + retry_delay(delivery.attempts), last_error=error
            )
        return "retry"
    with write_transaction():
        Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.PENDING).update(
            state=Delivery.State.SENT, sent_at=timezone.now(), next_attempt_at=None, last_error=""
        )
        _event(
            case,
            "notice_sent",
            None,
            {
                "notice_id": delivery.notice_id,
                "number": delivery.notice.number,
                "delivery_id": delivery.pk,
                "channel": delivery.channel,
                "attempts": delivery.attempts,
            },
        )
    return "sent"


def deliveries_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Enqueue a send for every pending delivery that is due (retries, and those a crashed worker
    left behind); returns how many. A delivery enqueued twice is sent once (the claim)."""
    due = list(
        Delivery.objects.filter(
            state=Delivery.State.PENDING, next_attempt_at__lte=now or timezone.now()
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    _enqueue(due)
    return len(due)


# --- confirming -------------------------------------------------------------------------------


def notice_delivery_confirm(
    *,
    case_id: int,
    delivery_id: int,
    delivered_on: dt.date,
    actor: User,
    notice_id: int | None = None,
) -> Delivery:
    """Record that the notice reached its addressee on `delivered_on` (a postal receipt, the
    petitioner's acknowledgement). For the case's latest opinion, the petitioner's windows restart
    from that date (`case_deliver`)."""
    with write_transaction():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        deliveries = Delivery.objects.select_for_update().filter(
            pk=delivery_id, notice__case_id=case_id
        )
        if notice_id is not None:
            deliveries = deliveries.filter(notice_id=notice_id)
        delivery = deliveries.select_related("notice").first()
        if case is None or delivery is None:
            raise NotFound("not_found", _("no such delivery"))
        notice = delivery.notice
        if not may_confirm(notice, actor):
            raise PermissionDenied(
                "forbidden", _("only the issuing organisation confirms the delivery of its notice")
            )
        if delivery.state == Delivery.State.DELIVERED:
            if delivery.delivered_on == delivered_on:
                return delivery  # the same receipt recorded again
            raise Conflict(
                "already_delivered",
                _("the delivery was confirmed already, on %(d)s") % {"d": delivery.delivered_on},
            )
        if delivery.state != Delivery.State.SENT:
            raise Conflict(
                "not_sent",
                _("only a sent delivery can be confirmed (this one is %(s)s)")
                % {"s": delivery.state},
                fields={"state": delivery.state},
            )
        issued_on = timezone.localdate(notice.issued_at)
        if not issued_on <= delivered_on <= clock.today():
            raise InvalidInput(
                "invalid_input",
                _("delivered_on must be between the notice's date (%(d)s) and today")
                % {"d": issued_on},
                fields={"delivered_on": "out of range"},
            )
        payload = {
            "notice_id": notice.pk,
            "number": notice.number,
            "delivery_id": delivery.pk,
            "channel": delivery.channel,
        }
        latest_opinion = (
            case.events.filter(verb__in=("reply", "decide_review", "decide_rereview"))
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        if (
            notice.event_id_ref is not None
            and notice.event_id_ref == latest_opinion
            and case.status in TRANSITIONS["deliver"].sources
        ):
            case_deliver(
                case_id=case.pk,
                actor=actor,
                opinion_event_id=notice.event_id_ref,
                delivered_on=delivered_on,
                **payload,
            )
        else:
            _event(case, "notice_delivered", actor, {**payload, "delivered_on": str(delivered_on)})
        delivery.state = Delivery.State.DELIVERED
        delivery.delivered_on = delivered_on
        delivery.confirmed_by = actor
        delivery.save(update_fields=["state", "delivered_on", "confirmed_by"])
    return delivery
