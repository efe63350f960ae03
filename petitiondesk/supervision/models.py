"""Supervision records (督查督办): opened automatically when a statutory clock is missed."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases.models import Case, Deadline


class SupervisionRecord(models.Model):
    class Reason(models.TextChoices):
        OVERDUE = "overdue", _("overdue")

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

    def __str__(self) -> str:
        return f"{self.reason} {self.case_id}"
