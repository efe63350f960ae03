"""What `/healthz`, `/metrics` and `petitiondesk check` report: the worker's heartbeat, how far
the official calendar reaches, and whether the database answers. Every query here is cheap (an
indexed row or two) because load balancers call `/healthz` every few seconds."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from petitiondesk.core import clock

from .models import WorkerHeartbeat

log = logging.getLogger("petitiondesk.health")

# `petitiondesk check` and `/healthz` want the official schedule this far ahead.
CALENDAR_HORIZON_DAYS = 90
# Heartbeats of workers gone this long are removed (a restarted worker gets a new id).
HEARTBEAT_FORGET = dt.timedelta(days=7)


def worker_id_default() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def heartbeat_record(*, worker_id: str, started_at: dt.datetime) -> None:
    """Record that `worker_id` finished a scheduler loop now (one UPDATE, an INSERT the first
    time), and forget workers silent for a week."""
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(beat_at=now)
    if not updated:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id, defaults={"beat_at": now, "started_at": started_at}
        )
        WorkerHeartbeat.objects.filter(beat_at__lt=now - HEARTBEAT_FORGET).delete()


def heartbeat_age_seconds() -> float | None:
    """Seconds since any worker last finished a loop; None when no worker ever ran."""
    last = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
    if last is None:
        return None
    return max(0.0, (timezone.now() - last).total_seconds())


def heartbeat_is_stale(age: float | None) -> bool:
    if age is None:
        return True
    return age > settings.PETITIONDESK_HEARTBEAT_STALE_SECONDS


def calendar_covered_until(today: dt.date | None = None) -> dt.date | None:
    """The last day of the unbroken run of years, from this one on, whose official schedule is
    known (loaded or shipped), so no clock ending by then is provisional; None when even this
    year is provisional."""
    from petitiondesk.calendar.sources import current_calendar

    today = today or clock.today()
    calendar = current_calendar()
    year = today.year
    # Bounded: the packaged schedules and loaded years reach at most a few years ahead.
    while year <= today.year + 10 and not calendar.schedule(year).provisional:
        year += 1
    if year == today.year:
        return None
    return dt.date(year - 1, 12, 31)


def calendar_horizon(today: dt.date | None = None) -> dt.date:
    return (today or clock.today()) + dt.timedelta(days=CALENDAR_HORIZON_DAYS)


def database_ok() -> bool:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except DatabaseError:
        log.warning("health: the database does not answer", exc_info=True)
        return False
    return True


def health_report() -> dict[str, Any]:
    """The `/healthz` document: "fail" when the database does not answer, "degraded" when the
    worker is silent or the calendar ends within CALENDAR_HORIZON_DAYS, else "ok"."""
    if not database_ok():
        return {
            "status": "fail",
            "database": "unavailable",
            "worker_heartbeat_age_s": None,
            "calendar_covered_until": None,
        }
    try:
        age = heartbeat_age_seconds()
        covered = calendar_covered_until()
    except DatabaseError:
        log.warning("health: the database failed mid-check", exc_info=True)
        return {
            "status": "fail",
            "database": "unavailable",
            "worker_heartbeat_age_s": None,
            "calendar_covered_until": None,
        }
    degraded = heartbeat_is_stale(age) or covered is None or covered < calendar_horizon()
    return {
        "status": "degraded" if degraded else "ok",
        "database": "ok",
        "worker_heartbeat_age_s": None if age is None else round(age, 1),
        "calendar_covered_until": covered.isoformat() if covered else None,
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Public: says whether this process can serve, never what it holds (no counts, no names)."""
    report = health_report()
    return JsonResponse(report, status=503 if report["status"] == "fail" else 200)
