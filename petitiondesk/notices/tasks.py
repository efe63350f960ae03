"""Background tasks of the notices (run by the worker; enqueued on commit and by the sweep)."""

from __future__ import annotations

from django_tasks import task

from .services import delivery_attempt


@task()
def send_delivery(delivery_id: int) -> str:
    return delivery_attempt(delivery_id=delivery_id)
