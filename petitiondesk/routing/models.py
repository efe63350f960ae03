"""What the routing assistance suggested for a case, and what staff then chose."""

from __future__ import annotations

from django.db import models

from petitiondesk.cases.models import Case


class RoutingAdvice(models.Model):
    """The top suggestions the classifiers gave for a case (category, topic, organ) and the
    choices staff made afterwards: the record of how good the suggestions are, and with the cases
    themselves the history the next model learns from (`petitiondesk model train --from-history`)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="routing_advice")
    # {"category": [{"value", "label", "confidence"}, ...], "topic": [...], "org": [...]}
    suggested = models.JSONField(default=dict)
    model_versions = models.JSONField(default=dict)  # {"category": "20261202-0710", ...}
    # {"category": "claim", "topic": "...", "org": "K-EDU"}: set by the verbs that decide them
    chosen = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"advice for {self.case_id}"
