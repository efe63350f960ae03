"""Prometheus metrics at `/metrics`: django-prometheus's request and database metrics of this
process, and gauges of the whole deployment read from the database at scrape time (queue depth,
sweep lag, overdue cases, worker heartbeat). Served only to PETITIONDESK_METRICS_ALLOW networks;
anyone else gets a 404, as if the URL did not exist."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from petitiondesk.core import clock

log = logging.getLogger("petitiondesk.metrics")


def client_allowed(request: HttpRequest) -> bool:
    # REMOTE_ADDR, never X-Forwarded-For: a client can write that header itself.
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in net for net in settings.PETITIONDESK_METRICS_ALLOW)


def task_queue_depth() -> dict[str, int]:
    """Tasks enqueued and not finished, by state (ready: waiting for a worker; running)."""
    from django.db.models import Count
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    counts = dict(
        DBTaskResult.objects.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "ready": counts.get(TaskResultStatus.READY, 0),
        "running": counts.get(TaskResultStatus.RUNNING, 0),
    }


def sweep_lag_seconds(now: dt.datetime | None = None) -> float:
    """How long the oldest clock past its due date has waited for the overdue sweep to mark it
    missed (0 when none): a clock is late from the end of its due date in the deployment's zone.
    One row of the partial index on open clocks."""
    from petitiondesk.cases.models import Deadline

    now = now or timezone.now()
    today = timezone.localdate(now)
    oldest = (
        Deadline.objects.filter(state=Deadline.State.OPEN, due_on__lt=today)
        .order_by("due_on")
        .values_list("due_on", flat=True)
        .first()
    )
    if oldest is None:
        return 0.0
    late_from = timezone.make_aware(dt.datetime.combine(oldest + dt.timedelta(days=1), dt.time.min))
    return max(0.0, (now - late_from).total_seconds())


def overdue_case_count() -> int:
    from petitiondesk.cases.models import Case

    return Case.objects.filter(is_overdue=True).count()  # the partial index case_overdue


class DeploymentCollector(Collector):
    """Gauges of the whole deployment, the same from any process that is scraped."""

    def collect(self) -> Iterator[Metric]:
        from .health import calendar_covered_until, heartbeat_age_seconds

        try:
            depth = task_queue_depth()
            lag = sweep_lag_seconds()
            overdue = overdue_case_count()
            age = heartbeat_age_seconds()
            covered = calendar_covered_until()
        except DatabaseError:
            log.warning("metrics: the database does not answer", exc_info=True)
            up = GaugeMetricFamily("petitiondesk_database_up", "1 when the database answered")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("petitiondesk_database_up", "1 when the database answered")
        up.add_metric([], 1)
        yield up
        queue = GaugeMetricFamily(
            "petitiondesk_task_queue_depth", "background tasks not finished", labels=["state"]
        )
        for state, n in depth.items():
            queue.add_metric([state], n)
        yield queue
        yield GaugeMetricFamily(
            "petitiondesk_sweep_lag_seconds",
            "age of the oldest clock past due that the overdue sweep has not marked missed",
            value=lag,
        )
        yield GaugeMetricFamily(
            "petitiondesk_overdue_cases", "cases with a missed statutory clock", value=overdue
        )
        # NaN when no worker ever ran: an alert on "> N" must also fire on absent().
        yield GaugeMetricFamily(
            "petitiondesk_worker_heartbeat_age_seconds",
            "seconds since a worker last finished its scheduler loop",
            value=float("nan") if age is None else age,
        )
        days = -1 if covered is None else (covered - clock.today()).days
        yield GaugeMetricFamily(
            "petitiondesk_calendar_covered_days",
            "days ahead for which the official holiday schedule is known (-1: not even today)",
            value=days,
        )


# Not described up front: describing would run the queries at import time.
_deployment = CollectorRegistry(auto_describe=False)
_deployment.register(DeploymentCollector())


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every process's when PROMETHEUS_MULTIPROC_DIR is set (several
    gunicorn workers: a scrape reaches one of them but must count all)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not client_allowed(request):
        raise Http404
    body = generate_latest(process_registry()) + generate_latest(_deployment)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
