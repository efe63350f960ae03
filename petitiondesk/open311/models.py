"""Typed attributes of a service (a topic) that Open311 clients fill in when they post a request.

The service definition (GET services/{code}) lists them; a POST is checked against them
(services.py) and the answers are kept with the case.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from petitiondesk.reference.models import Topic


class ServiceAttribute(models.Model):
    class Datatype(models.TextChoices):
        STRING = "string", _("string (one line)")
        NUMBER = "number", _("number")
        DATETIME = "datetime", _("date and time")
        TEXT = "text", _("text (several lines)")
        SINGLEVALUELIST = "singlevaluelist", _("one value from a list")
        MULTIVALUELIST = "multivaluelist", _("several values from a list")

    LIST_TYPES = frozenset({Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST})

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="open311_attributes")
    code = models.SlugField(max_length=64, help_text=_("what clients send as attribute[code]"))
    datatype = models.CharField(max_length=16, choices=Datatype.choices)
    required = models.BooleanField(default=False)
    variable = models.BooleanField(
        default=True, help_text=_("false: an informational text, not a question to answer")
    )
    description = models.CharField(max_length=300, help_text=_("the question put to the client"))
    datatype_description = models.CharField(max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=1)
    values = models.JSONField(
        default=list,
        blank=True,
        help_text=_('list types: [{"key": "…", "name": "…"}, …]'),
    )

    class Meta:
        ordering = ["topic", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "code"], name="open311_attribute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.topic.code}: {self.code}"

    def value_names(self) -> dict[str, str]:
        """key → name of the allowed values (list types)."""
        return {str(v.get("key", "")): str(v.get("name", "")) for v in self.values or []}
