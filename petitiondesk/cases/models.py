"""The case (a petition matter), its petitioners, deadlines, events and links."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import Organisation

# Documented input limits (docs/api.md): content over a limit is refused, never cut.
TITLE_MAX = 200
CONTENT_MAX = 20_000
PETITIONERS_MAX = 50
TEXT_FIELD_MAX = 2_000


class Case(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", _("registered")
        ROUTED = "routed", _("routed")
        ACCEPTED = "accepted", _("accepted")
        DIVERTED = "diverted", _("diverted to another procedure")
        NOT_ACCEPTED = "not_accepted", _("not accepted")
        REPLIED = "replied", _("replied")
        UNDER_REVIEW = "under_review", _("under review")
        REVIEWED = "reviewed", _("reviewed")
        UNDER_REREVIEW = "under_rereview", _("under re-review")
        FINAL = "final", _("final")
        CLOSED = "closed", _("closed")

    class Category(models.TextChoices):
        SUGGESTION = "suggestion", _("suggestion (建议意见类)")
        ACCUSATION = "accusation", _("accusation (检举控告类)")
        CLAIM = "claim", _("claim (申诉求决类)")

    class Channel(models.TextChoices):
        WEB = "web", _("web")
        API = "api", _("API")
        LETTER = "letter", _("letter")
        VISIT = "visit", _("visit")
        PHONE = "phone", _("phone")
        FAX = "fax", _("fax")
        EMAIL = "email", _("e-mail")

    class Outcome(models.TextChoices):
        SUPPORT = "support", _("support")
        EXPLAIN = "explain", _("explain")
        NOT_SUPPORT = "not_support", _("not support")

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", _("satisfied")
        BASICALLY_SATISFIED = "basically_satisfied", _("basically satisfied")
        DISSATISFIED = "dissatisfied", _("dissatisfied")

    tracking_number = models.CharField(max_length=32, unique=True)
    access_key_hash = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=TITLE_MAX)
    content = models.TextField()
    content_hash = models.CharField(max_length=64, db_index=True)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    topic = models.CharField(max_length=64, blank=True)
    division_code = models.CharField(max_length=12, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REGISTERED)
    profile = models.CharField(max_length=32)
    received_on = models.DateField()
    last_effective_on = models.DateField(help_text=_("effective date of the latest step"))

    org = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="held_cases", help_text=_("holder")
    )
    registered_by_org = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="registered_cases"
    )
    routed_by_org = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="routed_cases"
    )
    handled_by_org = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
        help_text=_("the organ whose latest opinion can be appealed"),
    )
    accused_orgs = models.ManyToManyField(Organisation, blank=True, related_name="accusations")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        help_text=_("the handler (承办人) in the holding organ; cleared when the case moves on"),
    )

    anonymous = models.BooleanField(default=False)
    confidential = models.BooleanField(default=False)
    people_count = models.PositiveIntegerField(default=1)
    representatives = models.PositiveIntegerField(default=0)
    # Where the problem is (Open311's address_string / lat / long), not the petitioner's address.
    location = models.CharField(max_length=300, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)

    claim_route = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    rating = models.CharField(max_length=24, choices=Rating.choices, blank=True)
    extension_days = models.PositiveSmallIntegerField(default=0)
    is_overdue = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "status"]),
            models.Index(fields=["status", "received_on"]),
            # Work lists show the newest first: a page is read off this index, not sorted.
            models.Index(fields=["-received_on", "-id"], name="case_newest"),
            # Overdue cases are few: their lists and the board read them through this index.
            models.Index(fields=["org"], condition=Q(is_overdue=True), name="case_overdue"),
            # Open311's public request list reads a window of registration times, newest first.
            models.Index(fields=["-created_at", "-id"], name="case_registered"),
            # The backlog sweep looks for open cases received before a cutoff that are not yet
            # flagged; with `id` in the index that is an index-only scan of the open cases, not
            # of all. The statuses are transitions.OPEN_STATUSES (tests/test_sweep_batch.py).
            models.Index(
                fields=["profile", "received_on", "id"],
                condition=Q(
                    status__in=[
                        "accepted",
                        "registered",
                        "replied",
                        "reviewed",
                        "routed",
                        "under_rereview",
                        "under_review",
                    ]
                ),
                name="case_open_received",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_number} {self.title[:40]}"


class ExternalRef(models.Model):
    """A case's identity in another system (a bulk-import row, an Open311 client, a mail server):
    what makes imports idempotent, and the source's own timestamps, kept as they came."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="external_refs")
    source = models.CharField(
        max_length=64, help_text=_("the system or file family, e.g. open311-sf")
    )
    external_id = models.CharField(max_length=200)
    requested_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    expected_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text=_("the source's fields as read"))
    imported_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="external_ref_unique")
        ]
        indexes = [models.Index(fields=["requested_at"], name="external_ref_requested")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class Petitioner(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="petitioners")
    name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    id_number = models.CharField(max_length=40, blank=True, db_index=True)
    address = models.CharField(max_length=300, blank=True)
    email = models.CharField(max_length=254, blank=True)
    # Keyed hashes of the identifiers (routing/identity.py): repeat petitioners are found by these.
    phone_key = models.CharField(max_length=64, blank=True, default="")
    id_key = models.CharField(max_length=64, blank=True, default="")
    email_key = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=[name], name=f"petitioner_{name}", condition=~models.Q(**{name: ""})
            )
            for name in ("phone_key", "id_key", "email_key")
        ]

    def __str__(self) -> str:
        return self.name or "—"


class Deadline(models.Model):
    """A statutory clock of a case, computed by `petitiondesk.calendar.engine` and kept current."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        MET = "met", _("met")
        MISSED = "missed", _("missed")
        VOID = "void", _("void")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadlines")
    rule = models.CharField(max_length=24)
    org = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start_on = models.DateField()
    days = models.PositiveSmallIntegerField()
    extension_days = models.PositiveSmallIntegerField(default=0)
    hearing_days = models.PositiveSmallIntegerField(default=0)
    due_on = models.DateField()
    method = models.CharField(max_length=24)
    calendar_version = models.CharField(max_length=200)
    provisional = models.BooleanField(default=False)
    statutory = models.BooleanField(default=True)
    # True: an organ owes a step by the due date (missing it is overdue). False: a petitioner's window.
    duty = models.BooleanField(default=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    done_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The overdue sweep and "due soon" lists scan only open clocks.
            models.Index(fields=["due_on"], condition=Q(state="open"), name="deadline_open_due"),
            models.Index(
                fields=["provisional"], condition=Q(state="open"), name="deadline_open_prov"
            ),
            # The reminder step reads an organ's open duty clocks due within days: without it,
            # every open clock due then (windows mostly) is fetched and filtered.
            models.Index(
                fields=["due_on"],
                condition=Q(state="open", duty=True, org__isnull=False),
                name="deadline_open_duty_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} due {self.due_on} ({self.state})"


class CaseEvent(models.Model):
    """One entry of the case timeline: the audit trail and the source of analytics."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    verb = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_org = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_petitioner = models.BooleanField(default=False)
    effective_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["verb", "effective_on"])]

    def __str__(self) -> str:
        return f"{self.verb} on {self.effective_on}"


class CaseLink(models.Model):
    class Relation(models.TextChoices):
        DUPLICATE = "duplicate", _("duplicate")
        SAME_MATTER = "same_matter", _("same matter")
        RELATED = "related", _("related")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_out")
    other = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_in")
    relation = models.CharField(max_length=16, choices=Relation.choices)
    # Why the link was proposed at intake (routing/similarity.py): the estimated text similarity and
    # the grounds ("same_text", "similar_text", "same_petitioner", "same_org"); empty for links
    # staff made by hand.
    score = models.FloatField(null=True, blank=True)
    basis = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "other", "relation"], name="unique_case_link")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.relation} {self.other_id}"


class Attachment(models.Model):
    """A file given with a case (by staff or the petitioner). The bytes live outside the static
    root under the data dir and are served only through an access-checked view (security.md)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=150, help_text=_("sanitised original name"))
    content_type = models.CharField(max_length=100, help_text=_("detected from the content"))
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=200, unique=True)
    by_petitioner = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class ReadAudit(models.Model):
    """A staff read of a confidential case or an accusation: who, when, which case, what view
    (Art. 30 ¶3, 46; domain.md §6). Kept apart from the timeline: reads are not steps."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="read_audits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    org = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    view = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} read case {self.case_id} ({self.view})"


class ExtensionRequest(models.Model):
    """A handler's request to extend the handling clock (Art. 34), approved or refused by a head of
    the handling organ; the approval runs `case_extend` (cases/extensions.py)."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extension_requests")
    days = models.PositiveSmallIntegerField()
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One open request a case: a head decides it before another can be made.
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(state="pending"),
                name="one_pending_extension_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.days} days for case {self.case_id} ({self.state})"
