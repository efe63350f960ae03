"""Background tasks of analytics (run by the worker; the scheduler calls the roll-up directly)."""

from __future__ import annotations

from django_tasks import task

from .rollup import counts_rebuild, counts_rollup


@task()
def rollup_counts() -> int:
    return counts_rollup()


@task()
def rebuild_counts() -> int:
    """Repair: enqueue after restoring a backup or changing how counts are kept."""
    return counts_rebuild()
