"""Background tasks of supervision (run by the worker, enqueued by the scheduler)."""

from __future__ import annotations

from django_tasks import task

from .services import deadlines_sweep


@task()
def sweep_overdue() -> int:
    return deadlines_sweep()
