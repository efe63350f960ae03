"""E-mail intake records: the mails sent (for threading replies) and the mails received."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases.models import Case


class OutboundMail(models.Model):
    """A mail this system sent about a case; a reply naming its Message-ID threads to the case."""

    message_id = models.CharField(max_length=255, unique=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="outbound_mails")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.message_id


class InboundMessage(models.Model):
    """A mail received by the intake, whatever became of it; the raw bytes are kept for review.

    `message_id` is the Message-ID header, or ``sha256:<hex>`` of the raw bytes when it is missing,
    so importing the same message twice creates nothing.
    """

    class Source(models.TextChoices):
        FILE = "file", _("file")
        MAILDIR = "maildir", _("Maildir")
        IMAP = "imap", _("IMAP")

    class State(models.TextChoices):
        REGISTERED = "registered", _("registered as a petition")
        THREADED = "threaded", _("added to a case")
        QUARANTINED = "quarantined", _("quarantined")
        RELEASED = "released", _("released and registered")
        DISMISSED = "dismissed", _("dismissed")
        FAILED = "failed", _("failed")

    class Reason(models.TextChoices):
        AUTO_REPLY = "auto_reply", _("automatic reply")
        BOUNCE = "bounce", _("bounce (delivery report)")
        LOOP = "loop", _("mail loop")
        UNVERIFIED_REPLY = "unverified_reply", _("names a case, from an unknown sender")
        INVALID = "invalid", _("not registrable")

    class Ack(models.TextChoices):
        NONE = "none", _("not acknowledged")
        PENDING = "pending", _("to send")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("sending failed")

    message_id = models.CharField(max_length=255, unique=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    source_ref = models.CharField(max_length=500, blank=True, help_text=_("file path or IMAP UID"))
    org = models.ForeignKey(
        Organisation,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("the organisation that received the mail"),
    )
    from_name = models.CharField(max_length=200, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField()
    imported_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=12, choices=State.choices)
    reason = models.CharField(max_length=24, choices=Reason.choices, blank=True)
    detail = models.TextField(blank=True, help_text=_("refused attachments, the refusal"))
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mails"
    )
    raw = models.BinaryField()
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    ack_state = models.CharField(max_length=8, choices=Ack.choices, default=Ack.NONE)
    # The petitioner's access key, kept only until the acknowledgement carrying it is sent.
    ack_secret = models.CharField(max_length=32, blank=True)
    ack_attempts = models.PositiveSmallIntegerField(default=0)
    ack_claimed_at = models.DateTimeField(null=True, blank=True)
    ack_error = models.CharField(max_length=500, blank=True)
    ack_message_id = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "state"], name="mail_in_org_state"),
            models.Index(
                fields=["ack_state"],
                name="mail_in_ack_open",
                condition=models.Q(ack_state__in=["pending", "sending", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"
