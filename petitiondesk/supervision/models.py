"""Supervision (督查督办): supervision notices (督办单) with their escalation ladder, the reminders
before a clock runs out, backlog cases (积案), and the in-app notifications of all three."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases.models import Case, CaseEvent, Deadline


class SupervisionRecord(models.Model):
    """A supervision notice (督办单) to the organ that owed a step: opened by the overdue sweep for a
    missed duty clock (`deadline` set), or by hand by a petition department or a supervisor for a
    late or badly handled case (Art. 40). The organ answers in writing by `answer_by`; a notice
    left unanswered past that date is escalated to listed supervision (挂牌督办, `listed_on`)."""

    class Reason(models.TextChoices):
        OVERDUE = "overdue", _("overdue")
        LATE = "late", _("late handling")
        POOR = "poor", _("badly handled")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")
        CLOSED = "closed", _("closed")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervision_records")
    deadline = models.OneToOneField(
        Deadline, null=True, blank=True, on_delete=models.CASCADE, related_name="supervision"
    )
    org = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="supervision_records",
        help_text=_("the organ that owed the step"),
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    issuer_org = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issued_supervision",
        help_text=_("the petition department or supervising body that issued the notice"),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_on = models.DateField(null=True, blank=True)
    recommendations = models.TextField(
        blank=True, help_text=_("improvement and accountability recommendations")
    )
    answer_by = models.DateField(null=True, blank=True)
    answer_text = models.TextField(blank=True)
    answered_on = models.DateField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_on = models.DateField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    listed_on = models.DateField(
        null=True, blank=True, help_text=_("escalated to listed supervision (挂牌督办) on")
    )
    notice = models.ForeignKey(
        "notices.Notice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("the written supervision notice, when one was frozen"),
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The listing step of the sweep reads only open notices not yet listed.
            models.Index(
                fields=["answer_by"],
                condition=Q(state="open", listed_on__isnull=True),
                name="supervision_open_answer_by",
            ),
            models.Index(fields=["state", "org"], name="supervision_state_org"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.case_id}"


class Reminder(models.Model):
    """The reminder sent before a duty clock's due date: at most one a clock (the unique key is
    what makes the sweep's step fire once)."""

    deadline = models.OneToOneField(Deadline, on_delete=models.CASCADE, related_name="reminder")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    sent_on = models.DateField()

    def __str__(self) -> str:
        return f"reminder of deadline {self.deadline_id} on {self.sent_on}"


class BacklogCase(models.Model):
    """A backlog case (积案): open too long or petitioned again and again. One a case."""

    class Reason(models.TextChoices):
        OPEN_TOO_LONG = "open_too_long", _("open too long")
        REPEATED = "repeated", _("repeated petitions")
        BY_HAND = "by_hand", _("flagged by hand")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="backlog")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    flagged_on = models.DateField()
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submissions = models.PositiveIntegerField(
        default=1, help_text=_("the case and its repeats, when flagged")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_backlog",
        help_text=_("the leader who owns the case (包案领导)"),
    )
    plan = models.TextField(blank=True)
    target_on = models.DateField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["flagged_on", "id"]
        indexes = [models.Index(fields=["state", "flagged_on"], name="backlog_state_flagged")]

    def __str__(self) -> str:
        return f"backlog {self.case_id} ({self.state})"


class BacklogProgress(models.Model):
    """A dated entry of the work on a backlog case."""

    backlog = models.ForeignKey(BacklogCase, on_delete=models.CASCADE, related_name="progress")
    on = models.DateField()
    text = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on", "id"]

    def __str__(self) -> str:
        return f"{self.on}: {self.text[:40]}"


class Notification(models.Model):
    """One in-app message to one user about a supervision step (shown in the desk inbox); mailed
    once to users with an e-mail address (`emailed_at` is claimed before sending)."""

    class Kind(models.TextChoices):
        REMIND = "remind", _("reminder")
        SUPERVISE = "supervise", _("supervision notice")
        LIST = "list_supervision", _("listed supervision")
        ANSWER = "supervision_answer", _("supervision notice answered")
        CLOSE = "supervision_close", _("supervision notice closed")
        BACKLOG = "backlog", _("backlog case")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(CaseEvent, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(
        SupervisionRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    backlog = models.ForeignKey(
        BacklogCase, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One message a step and person: a step written once notifies each person once.
            models.UniqueConstraint(fields=["event", "recipient"], name="notification_once")
        ]
        indexes = [
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id}"
