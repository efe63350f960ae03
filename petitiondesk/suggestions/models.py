"""People's suggestions (人民建议征集, domain.md §9): solicitations, suggestions, their events,
conversions, awards and public supports."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import Organisation

TITLE_MAX = 200
TEXT_MAX = 20_000
REPLY_MAX = 20_000


class Solicitation(models.Model):
    """A topic an office asks the public about (征集活动), open between two dates inclusive."""

    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="solicitations")
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField()
    question = models.TextField()
    opens_on = models.DateField()
    closes_on = models.DateField()
    support_threshold = models.PositiveIntegerField(
        default=0, help_text=_("supports that require an official answer (0: none)")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opens_on", "-id"]
        indexes = [models.Index(fields=["closes_on", "opens_on"])]

    def __str__(self) -> str:
        return self.title

    def is_open(self, on: dt.date) -> bool:
        return self.opens_on <= on <= self.closes_on


class Suggestion(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        ASSESSED = "assessed", _("assessed")
        ADOPTED = "adopted", _("adopted")
        PARTLY_ADOPTED = "partly_adopted", _("partly adopted")
        NOT_ADOPTED = "not_adopted", _("not adopted")
        REPLIED = "replied", _("replied")
        CONVERTED = "converted", _("converted")
        RECLASSIFIED = "reclassified", _("re-classified as a petition")

    class Decision(models.TextChoices):
        ADOPTED = "adopted", _("adopted")
        PARTLY_ADOPTED = "partly_adopted", _("partly adopted")
        NOT_ADOPTED = "not_adopted", _("not adopted")

    tracking_number = models.CharField(max_length=32, unique=True)
    access_key_hash = models.CharField(max_length=64, blank=True)
    solicitation = models.ForeignKey(
        Solicitation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="suggestions",
    )
    topic = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=TITLE_MAX)
    reasons = models.TextField()
    proposal = models.TextField()
    proposer_name = models.CharField(max_length=100, blank=True)
    proposer_phone = models.CharField(max_length=40, blank=True)
    proposer_email = models.CharField(max_length=254, blank=True)
    proposer_address = models.CharField(max_length=300, blank=True)
    public_consent = models.BooleanField(
        default=False, help_text=_("the proposer agrees to publication and public support")
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="held_suggestions")
    forwarded_to = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="forwarded_suggestions",
        help_text=_("the policy department asked for an opinion"),
    )
    received_on = models.DateField()
    reply = models.TextField(blank=True)
    replied_on = models.DateField(null=True, blank=True)
    published = models.BooleanField(default=False)
    answer_required = models.BooleanField(default=False)
    answer_due_on = models.DateField(null=True, blank=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["org", "status"]),
            models.Index(fields=["solicitation", "status"]),
            models.Index(fields=["-received_on", "-id"], name="suggestion_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_number} {self.title[:40]}"


class SuggestionEvent(models.Model):
    """One step of a suggestion: its timeline, audit trail and the source of its statistics."""

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="events")
    verb = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_org = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    effective_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.suggestion_id} {self.verb}"


class Conversion(models.Model):
    """What the suggestion became (成果转化): a policy, a regulation or a deputy's motion."""

    class Kind(models.TextChoices):
        POLICY = "policy", _("policy")
        REGULATION = "regulation", _("regulation")
        DEPUTY_MOTION = "deputy_motion", _("deputy's motion")

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="conversions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reference = models.CharField(max_length=200)
    on = models.DateField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["on", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class Award(models.Model):
    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="awards")
    description = models.CharField(max_length=500)
    on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["on", "id"]

    def __str__(self) -> str:
        return self.description[:40]


class Support(models.Model):
    """One person's support of a suggestion: counted once confirmed by a code sent to them.

    The person is known only by an HMAC of their normalised contact; the count is the number of
    confirmed rows (never a counter on the suggestion row, which would be a hot row under load).
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="supports")
    identity_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0, help_text=_("wrong codes given"))
    codes_sent = models.PositiveSmallIntegerField(default=1)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    network = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["suggestion", "identity_hash"], name="support_once_per_person"
            )
        ]
        indexes = [
            models.Index(
                fields=["suggestion", "confirmed_at"],
                condition=Q(confirmed_at__isnull=False),
                name="support_confirmed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.suggestion_id} {self.identity_hash[:8]}"
