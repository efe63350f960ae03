"""E-mail intake: a received message becomes a petition, material of a case, or a quarantined
message; every petition or material received is acknowledged (docs/email.md)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import TITLE_MAX, Case
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import DomainError, InvalidInput, InvalidTransition, RuleRefusal
from petitiondesk.intake.services import (
    EARLIEST_RECEIPT,
    PetitionerData,
    Submission,
    petition_submit,
)

from .models import InboundMessage
from .outbound import case_for_message_ids, make_message_id, remember_outbound
from .parse import DAEMON_NAMES, LOOP_HEADER, ParsedMail, parse_mail
from .selectors import REVIEW_STATES, access_message, check_may_act

log = logging.getLogger("petitiondesk.mail")
State = InboundMessage.State
Ack = InboundMessage.Ack
ACK_MAX_ATTEMPTS = 10
# A claim on an acknowledgement older than this is a crashed sender's: it is sent again.
ACK_STALE_CLAIM = dt.timedelta(minutes=10)
NAME_MAX = 100


@dataclass
class Ingested:
    message: InboundMessage
    created: bool  # False: the message had been imported before (nothing was done)


@dataclass
class _Outcome:
    state: str
    reason: str = ""
    case: Case | None = None
    access_key: str | None = None
    refused: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)  # attachment files written (for a rollback)


def own_addresses() -> set[str]:
    address = settings.PETITIONDESK_MAIL_ADDRESS.strip().lower()
    return {address} if address else set()


def mail_clerk(username: str | None = None) -> User:
    """The staff member the intake registers mail as: `username`, else PETITIONDESK_MAIL_CLERK."""
    name = username or settings.PETITIONDESK_MAIL_CLERK
    if not name:
        raise InvalidInput(
            "mail_clerk_missing",
            _("name the clerk who registers mail (--as USER or PETITIONDESK_MAIL_CLERK)"),
        )
    user = User.objects.filter(username=name, is_active=True).select_related("org").first()
    if user is None:
        raise InvalidInput("mail_clerk_unknown", _("no active user %s") % name)
    if user.role not in (User.Role.CLERK, User.Role.HEAD) or user.org_id is None:
        raise InvalidInput(
            "mail_clerk_role",
            _("%s must be a clerk or head of an organisation to register mail") % name,
        )
    return user


def _parse(raw: bytes) -> ParsedMail:
    return parse_mail(
        raw, own_addresses=own_addresses(), max_received=settings.PETITIONDESK_MAIL_MAX_RECEIVED
    )


def _arrival(when: dt.datetime | None) -> dt.datetime:
    """When the mail arrived: never in the future (a sender's clock can be wrong)."""
    now = clock.now()
    if when is None or when.tzinfo is None or when > now:
        return now
    return when


def _received_on(received_at: dt.datetime) -> dt.date:
    day = timezone.localdate(received_at)
    return day if day >= EARLIEST_RECEIPT else clock.today()


def _title(parsed: ParsedMail) -> str:
    title = parsed.subject.strip() or parsed.body.strip().split("\n", 1)[0].strip()
    title = title or _("E-mail from %s") % parsed.from_address
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def _content(parsed: ParsedMail) -> str:
    return parsed.body or parsed.subject or _("(the e-mail has no text; see its attachments)")


def _add_files(case_id: int, parsed: ParsedMail, outcome: _Outcome) -> None:
    """The mail's files as the petitioner's material; a refused file is noted, never fatal."""
    from petitiondesk.cases.attachments import attachment_add, check_upload

    already = Case.objects.get(pk=case_id).attachments.count()
    for f in parsed.attachments:
        upload = SimpleUploadedFile(f.filename, f.data, content_type=f.content_type)
        try:
            check_upload(upload)
            if already >= settings.PETITIONDESK_UPLOAD_MAX_FILES:
                raise RuleRefusal("too_many_files", _("the case has its maximum of attachments"))
        except DomainError as exc:
            outcome.refused.append(f"{f.filename}: {exc.message}")
            continue
        added = attachment_add(case_id=case_id, upload=upload, actor=None)
        outcome.stored.append(added.storage_name)
        already += 1


def _register(parsed: ParsedMail, *, actor: User, received_at: dt.datetime) -> _Outcome:
    submission = Submission(
        title=_title(parsed),
        content=_content(parsed),
        channel=Case.Channel.EMAIL,
        received_on=_received_on(received_at),
        petitioners=[
            PetitionerData(
                name=(parsed.from_name or parsed.from_address)[:NAME_MAX],
                email=parsed.from_address,
            )
        ],
    )
    receipt = petition_submit(submission=submission, actor=actor)
    outcome = _Outcome(state=State.REGISTERED, case=receipt.case, access_key=receipt.access_key)
    _add_files(receipt.case.pk, parsed, outcome)
    return outcome


def _reply_target(parsed: ParsedMail) -> tuple[Case | None, bool]:
    """The case a reply belongs to, and whether the sender is believed: a reply to one of our
    mails (In-Reply-To/References) is; a tracking number in the subject only from an address of
    the case's petitioners (anyone can type a tracking number)."""
    case_id = case_for_message_ids(parsed.thread_ids)
    if case_id is not None:
        return Case.objects.filter(pk=case_id).first(), True
    for number in parsed.tracking_numbers:
        case = Case.objects.filter(tracking_number=number).first()
        if case is not None:
            known = {e.lower() for e in case.petitioners.values_list("email", flat=True) if e}
            return case, parsed.from_address in known
    return None, False


def _thread(parsed: ParsedMail, case: Case) -> _Outcome:
    """The reply's text and files as the petitioner's further material (`material_add`)."""
    from petitiondesk.cases.services import case_add_material

    outcome = _Outcome(state=State.THREADED, case=case)
    text = parsed.body or parsed.subject
    if text:
        case_add_material(case_id=case.pk, text=text)
    _add_files(case.pk, parsed, outcome)
    return outcome


def _decide(parsed: ParsedMail, *, actor: User, received_at: dt.datetime) -> _Outcome:
    if parsed.quarantine_reason:
        return _Outcome(state=State.QUARANTINED, reason=parsed.quarantine_reason)
    case, believed = _reply_target(parsed)
    if case is not None and not believed:
        return _Outcome(state=State.QUARANTINED, reason=InboundMessage.Reason.UNVERIFIED_REPLY)
    if case is not None:
        try:
            with transaction.atomic():
                return _thread(parsed, case)
        except InvalidTransition:
            pass  # the case is closed to material: the mail is a new petition
    return _register(parsed, actor=actor, received_at=received_at)


def _may_acknowledge(address: str) -> bool:
    return (
        bool(address)
        and address.partition("@")[0] not in DAEMON_NAMES
        and (address not in own_addresses())
    )


def _row(
    parsed: ParsedMail,
    *,
    raw: bytes,
    source: str,
    source_ref: str,
    actor: User,
    received_at: dt.datetime,
) -> InboundMessage:
    return InboundMessage(
        message_id=parsed.message_id,
        source=source,
        source_ref=source_ref[:500],
        org_id=actor.org_id,
        from_name=parsed.from_name[:200],
        from_address=parsed.from_address[:254],
        subject=parsed.subject[:500],
        received_at=received_at,
        raw=raw,
    )


def _discard_files(outcome: _Outcome | None) -> None:
    from petitiondesk.cases.attachments import upload_dir

    for name in outcome.stored if outcome else []:
        (upload_dir() / name).unlink(missing_ok=True)


def _apply(row: InboundMessage, outcome: _Outcome) -> None:
    row.state = outcome.state
    row.reason = outcome.reason
    row.case = outcome.case
    if outcome.refused:
        row.detail = _("attachments not accepted: %s") % "; ".join(outcome.refused)
    acknowledged = outcome.state in (State.REGISTERED, State.THREADED, State.RELEASED)
    if acknowledged and _may_acknowledge(row.from_address):
        row.ack_state = Ack.PENDING
        row.ack_secret = outcome.access_key or ""


def mail_ingest(
    *,
    raw: bytes,
    source: str,
    actor: User,
    source_ref: str = "",
    received_at: dt.datetime | None = None,
) -> Ingested:
    """Take one raw message in, once: a message seen before (same Message-ID, or the same bytes
    without one) does nothing. The petition or material, its files and the message row commit
    together; a refusal of the intake is kept as a `failed` message with the refusal."""
    parsed = _parse(raw)
    seen = InboundMessage.objects.filter(message_id=parsed.message_id).first()
    if seen is not None:
        return Ingested(seen, created=False)
    arrived = _arrival(received_at or parsed.date)
    row = _row(
        parsed, raw=raw, source=source, source_ref=source_ref, actor=actor, received_at=arrived
    )
    outcome: _Outcome | None = None
    try:
        with write_transaction():
            outcome = _decide(parsed, actor=actor, received_at=arrived)
            _apply(row, outcome)
            row.save()
            if row.ack_state == Ack.PENDING:
                pk = row.pk
                transaction.on_commit(lambda: _enqueue_ack(pk))
    except IntegrityError:
        _discard_files(outcome)
        seen = InboundMessage.objects.filter(message_id=parsed.message_id).first()
        if seen is None:
            raise
        return Ingested(seen, created=False)  # another poller took it in at the same moment
    except DomainError as exc:
        _discard_files(outcome)
        row.state, row.reason, row.case = State.FAILED, InboundMessage.Reason.INVALID, None
        row.ack_state, row.ack_secret = Ack.NONE, ""
        row.detail = f"{exc.code}: {exc.message}"[:2000]
        row.save()
        log.warning("mail %s not registered: %s", parsed.message_id, row.detail)
    except BaseException:
        _discard_files(outcome)
        raise
    return Ingested(row, created=True)


# --- review of quarantined and failed messages ---------------------------------------------------


def mail_release(*, message_pk: int, actor: User) -> InboundMessage:
    """Register a quarantined (or failed) message as a petition, `actor` registering it."""
    access_message(actor, message_pk)
    check_may_act(actor)
    outcome: _Outcome | None = None
    try:
        with write_transaction():
            row = InboundMessage.objects.select_for_update().get(pk=message_pk)
            _check_open(row)
            parsed = _parse(bytes(row.raw))
            outcome = _register(parsed, actor=actor, received_at=row.received_at)
            outcome.state = State.RELEASED
            _apply(row, outcome)
            row.handled_by, row.handled_at = actor, clock.now()
            row.save()
            if row.ack_state == Ack.PENDING:
                transaction.on_commit(lambda: _enqueue_ack(message_pk))
    except BaseException:
        _discard_files(outcome)
        raise
    return row


def mail_dismiss(*, message_pk: int, actor: User) -> InboundMessage:
    """Close a quarantined (or failed) message without registering it (the row and its bytes
    stay)."""
    access_message(actor, message_pk)
    check_may_act(actor)
    with write_transaction():
        row = InboundMessage.objects.select_for_update().get(pk=message_pk)
        _check_open(row)
        row.state = State.DISMISSED
        row.handled_by, row.handled_at = actor, clock.now()
        row.save(update_fields=["state", "handled_by", "handled_at"])
    return row


def _check_open(row: InboundMessage) -> None:
    if row.state not in REVIEW_STATES:
        raise InvalidTransition(
            _("this message is %(state)s: only quarantined or failed messages can be reviewed")
            % {"state": row.get_state_display()}
        )


# --- acknowledgements --------------------------------------------------------------------------


def _track_url() -> str:
    base = settings.PETITIONDESK_MAIL_SITE_URL.rstrip("/")
    return f"{base}{reverse('portal:track')}"


def _ack_mail(row: InboundMessage, message_id: str) -> EmailMessage:
    case = row.case
    assert case is not None
    tn = case.tracking_number
    when = timezone.localtime(row.received_at).date().isoformat()
    with translation.override(settings.LANGUAGE_CODE):
        if row.state == State.THREADED:
            subject = _("Your material was added to petition %(tn)s") % {"tn": tn}
            lines = [
                _("Your e-mail of %(date)s was added to petition %(tn)s.")
                % {"date": when, "tn": tn}
            ]
        else:
            subject = _("Your petition is registered: %(tn)s") % {"tn": tn}
            lines = [
                _('Your e-mail of %(date)s, "%(subject)s", is registered as petition %(tn)s.')
                % {"date": when, "subject": row.subject or case.title, "tn": tn}
            ]
            if row.ack_secret:
                lines.append(
                    _(
                        "Your access key is %(key)s. Keep it: with the tracking number it lets "
                        "you follow the petition at %(url)s"
                    )
                    % {"key": row.ack_secret, "url": _track_url()}
                )
        if row.detail:
            lines.append(row.detail)
        lines.append(
            _("To add material, reply to this e-mail or keep %(tn)s in the subject.") % {"tn": tn}
        )
        lines.append(_("This message was sent automatically."))
    headers = {
        "Message-ID": message_id,
        "Auto-Submitted": "auto-replied",
        LOOP_HEADER: settings.PETITIONDESK_MAIL_DOMAIN or "petitiondesk.local",
    }
    if not row.message_id.startswith("sha256:"):
        headers["In-Reply-To"] = row.message_id
        headers["References"] = row.message_id
    return EmailMessage(
        subject=subject,
        body="\n\n".join(lines) + "\n",
        from_email=settings.PETITIONDESK_MAIL_ADDRESS or settings.DEFAULT_FROM_EMAIL,
        to=[row.from_address],
        headers=headers,
    )


def _claimable() -> Q:
    stale = clock.now() - ACK_STALE_CLAIM
    return Q(ack_state__in=[Ack.PENDING, Ack.FAILED]) | Q(
        ack_state=Ack.SENDING, ack_claimed_at__lt=stale
    )


def _enqueue_ack(message_pk: int) -> None:
    """After the commit: the acknowledgement as a task. Should even the enqueue fail, the message
    stays `pending` and the next import or poll (`acks_send_pending`) sends it."""
    from .tasks import send_ack

    try:
        send_ack.enqueue(message_pk)
    except Exception:
        log.exception("acknowledgement of mail %s not enqueued", message_pk)


def ack_send(*, message_pk: int) -> bool:
    """Send the acknowledgement of one message unless another process has claimed it (a
    conditional UPDATE claims it); a failure is recorded and retried by `acks_send_pending`."""
    claimed = InboundMessage.objects.filter(
        _claimable(), pk=message_pk, ack_attempts__lt=ACK_MAX_ATTEMPTS
    ).update(ack_state=Ack.SENDING, ack_attempts=F("ack_attempts") + 1, ack_claimed_at=clock.now())
    if not claimed:
        return False
    row = InboundMessage.objects.select_related("case").get(pk=message_pk)
    message_id = make_message_id()
    try:
        _ack_mail(row, message_id).send()
    except Exception as exc:  # any backend failure: recorded, retried by the next run
        InboundMessage.objects.filter(pk=message_pk).update(
            ack_state=Ack.FAILED, ack_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        log.warning("acknowledgement of mail %s failed: %s", message_pk, exc)
        return False
    with transaction.atomic():
        assert row.case_id is not None
        remember_outbound(message_id=message_id, case_id=row.case_id)
        InboundMessage.objects.filter(pk=message_pk).update(
            ack_state=Ack.SENT, ack_secret="", ack_error="", ack_message_id=message_id
        )
    return True


def acks_send_pending() -> tuple[int, int]:
    """Send every acknowledgement still owed (failed ones again, up to ACK_MAX_ATTEMPTS):
    (sent, failed)."""
    pks = list(
        InboundMessage.objects.filter(_claimable(), ack_attempts__lt=ACK_MAX_ATTEMPTS)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent = sum(1 for pk in pks if ack_send(message_pk=pk))
    failed = InboundMessage.objects.filter(pk__in=pks, ack_state=Ack.FAILED).count()
    return sent, failed
