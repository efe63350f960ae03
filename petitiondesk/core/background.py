"""Background work: the task worker and the periodic sweeps, as threads or in the foreground."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger("petitiondesk.worker")


OPTIMIZE_EVERY_SECONDS = 3600


def refresh_planner_statistics() -> None:
    """SQLite keeps no statistics by itself; without them it plans the work lists with a sort of
    every visible case (40 ms at 100,000 cases instead of 4). PostgreSQL has autovacuum."""
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            # Sampled (at most 1,000 rows an index): milliseconds, even on a large database.
            cur.execute("PRAGMA analysis_limit=1000")
            cur.execute("ANALYZE")


def run_scheduler(stop: threading.Event) -> None:
    """Run the periodic jobs every PETITIONDESK_SWEEP_INTERVAL_SECONDS until `stop` is set, and
    refresh SQLite's planner statistics at start and hourly."""
    from petitiondesk.analytics.reports import reports_when_due
    from petitiondesk.analytics.rollup import counts_rollup
    from petitiondesk.mail.sources import poll_when_due
    from petitiondesk.notices.services import deliveries_sweep
    from petitiondesk.routing import similarity
    from petitiondesk.routing.replies import refresh as replies_refresh
    from petitiondesk.supervision.services import deadlines_sweep, supervision_sweep

    steps: list[Callable[[], object]] = [
        deadlines_sweep,
        supervision_sweep,  # reminders, listed supervision, backlog flags (supervision.md)
        deliveries_sweep,  # notice deliveries due for a retry, or left by a crashed worker
        poll_when_due,  # the IMAP mailbox, when configured (docs/email.md)
        counts_rollup,  # the dashboards' daily counts (docs/analytics.md)
        reports_when_due,  # last month's report on the 1st, once (docs/governance.md)
        replies_refresh,  # new answers into the similar-replies model (intelligence.md)
        similarity.maintain,  # the near-duplicate index caught up and saved (intelligence.md)
    ]
    from django.utils import timezone

    from petitiondesk.core.health import heartbeat_record, worker_id_default

    interval = settings.PETITIONDESK_SWEEP_INTERVAL_SECONDS
    last_optimize: float | None = None
    worker_id, started_at = f"{worker_id_default()}-scheduler", timezone.now()
    while not stop.is_set():
        close_old_connections()
        try:
            for step in steps:
                try:
                    step()
                except Exception:  # one failed step must not keep the others from running
                    log.exception("periodic step %s failed", getattr(step, "__name__", step))
            if last_optimize is None or time.monotonic() - last_optimize >= OPTIMIZE_EVERY_SECONDS:
                refresh_planner_statistics()
                last_optimize = time.monotonic()
            # After the steps: a loop stuck in a step shows as an ageing heartbeat (/healthz).
            heartbeat_record(worker_id=worker_id, started_at=started_at)
        except Exception:  # a failed sweep must not kill the loop; the next one retries
            log.exception("periodic work failed")
        finally:
            close_old_connections()
        stop.wait(interval)


def make_task_worker() -> object:
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        interval=1.0,
        batch=False,
        backend_name="default",
        startup_delay=True,
        max_tasks=None,
        worker_id=f"{socket.gethostname()}-{os.getpid()}-{time.monotonic_ns() % 10_000}",
        excluded_queue_names=[],
    )


def start_in_process() -> threading.Event:
    """Embedded mode: the scheduler and a task worker as daemon threads of the web process."""
    stop = threading.Event()
    threading.Thread(target=run_scheduler, args=(stop,), name="pd-scheduler", daemon=True).start()
    worker = make_task_worker()
    threading.Thread(target=worker.run, name="pd-task-worker", daemon=True).start()  # type: ignore[attr-defined]
    log.info("in-process worker and scheduler started")
    return stop


def run_foreground() -> None:
    """Production worker: scheduler thread plus the task worker in the foreground (signals work)."""
    stop = threading.Event()
    threading.Thread(target=run_scheduler, args=(stop,), name="pd-scheduler", daemon=True).start()
    worker = make_task_worker()
    worker.configure_signals()  # type: ignore[attr-defined]
    try:
        worker.run()  # type: ignore[attr-defined]
    finally:
        stop.set()
