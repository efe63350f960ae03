"""Written notices: their templates (versioned), the notices issued (frozen), their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases.models import Attachment, Case


class Kind(models.TextChoices):
    ACCEPTANCE = "acceptance", _("acceptance notice (受理告知书)")
    NON_ACCEPTANCE = "non_acceptance", _("non-acceptance notice (不予受理告知书)")
    DIVERSION = "diversion", _("diversion notice (导向告知书)")
    EXTENSION = "extension", _("extension notice (延期告知书)")
    HANDLING_OPINION = "handling_opinion", _("handling opinion (信访事项处理意见书)")
    REVIEW_OPINION = "review_opinion", _("review opinion (复查意见书)")
    REREVIEW_OPINION = "rereview_opinion", _("re-review opinion (复核意见书)")
    SUPERVISION = "supervision", _("supervision notice (督办单)")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class NoticeTemplate(models.Model):
    """One version of the wording of a kind of notice. Editing makes a new version (the old one is
    kept, inactive): an issued notice names the version it was written from."""

    kind = models.CharField(max_length=24, choices=Kind.choices)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ZH_HANS)
    title = models.CharField(max_length=100)
    body = models.TextField(
        help_text=_(
            "Django template syntax, autoescaped; only the notice's facts are available "
            "(see docs/notices.md)"
        )
    )
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "language", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language", "version"], name="notice_template_version"
            ),
            models.UniqueConstraint(
                fields=["kind", "language"],
                condition=Q(is_active=True),
                name="notice_template_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language} v{self.version})"


class NoticeSequence(models.Model):
    """The last number (文号) an organisation gave a notice in a year."""

    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "year"], name="notice_sequence_org_year")
        ]

    def __str__(self) -> str:
        return f"{self.org_id} {self.year}: {self.last}"


class Notice(models.Model):
    """An issued notice: its facts and text frozen when issued, its PDF attached to the case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    language = models.CharField(max_length=8, choices=Language.choices)
    org = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", help_text=_("issuing body")
    )
    year = models.PositiveSmallIntegerField()
    serial = models.PositiveIntegerField()
    number = models.CharField(max_length=64, help_text=_("文号"))
    template = models.ForeignKey(NoticeTemplate, on_delete=models.PROTECT, related_name="+")
    template_version = models.PositiveIntegerField()
    title = models.CharField(max_length=100)
    facts = models.JSONField(default=dict)
    text = models.TextField(help_text=_("the body as rendered when issued (HTML)"))
    attachment = models.ForeignKey(
        Attachment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The opinion event a notice of an opinion reports (its delivery moves that opinion's windows).
    event_id_ref = models.PositiveBigIntegerField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "year", "serial"], name="notice_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.number}"


class Delivery(models.Model):
    """One sending of a notice to one address. Durable: a failed attempt is retried with back-off
    until `PETITIONDESK_NOTICE_MAX_ATTEMPTS`, then stays `failed`, visible on the case."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        POST = "post", _("post")
        IN_PERSON = "in_person", _("in person")

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("delivery state", "pending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Given to the gateway with every attempt (and the e-mail's Message-ID is fixed): a retry is
    # the same message, never a second one.
    key = models.CharField(max_length=64, unique=True)
    message_id = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_on = models.DateField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The retry sweep reads only pending rows.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="delivery_pending_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.address} ({self.state})"
