"""Cross-cutting records that belong to no single domain app."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an `Idempotency-Key`, replayed for retries."""

    key = models.CharField(max_length=200)
    principal = models.CharField(max_length=64, help_text=_("user id, or 'anon'"))
    method_path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="unique_idempotency_key")
        ]

    def __str__(self) -> str:
        return self.key


class WorkerHeartbeat(models.Model):
    """The last time each `petitiondesk worker` (or embedded scheduler) finished a loop.

    In the database rather than a cache so that `/healthz` and `petitiondesk check` on any machine
    see the workers of every machine."""

    worker_id = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
