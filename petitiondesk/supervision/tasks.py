"""Background tasks of supervision (run by the worker, enqueued by the scheduler and on commit)."""

from __future__ import annotations

from django_tasks import task

from .services import deadlines_sweep, notification_email, supervision_sweep


@task()
def sweep_overdue() -> int:
    return deadlines_sweep()


@task()
def sweep_supervision() -> dict[str, int]:
    return supervision_sweep()


@task()
def send_notification_email(notification_id: int) -> str:
    return notification_email(notification_id=notification_id)
