"""What the public Open311 GeoReport v2 endpoints read (api.md "Open311").

Only public cases are ever read here (`public_cases`): never a confidential case or an accusation,
and never a petitioner's data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import DateTimeField, Exists, Min, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from petitiondesk.cases.models import Case, CaseEvent, Deadline, ExternalRef
from petitiondesk.core import clock
from petitiondesk.core.errors import InvalidInput, NotFound
from petitiondesk.reference.models import Topic

from .models import ServiceAttribute

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this server's discovery document last changed (the spec's `changeset`).
CHANGESET = "2026-12-02T00:00:00Z"
FORMATS = {"xml": "text/xml", "json": "application/json"}
DEFAULT_WINDOW = dt.timedelta(days=90)
MAX_ROWS = 1000
TOKEN_SOURCE = "open311-token"
# Events written within this long after an import belong to the import itself (its register and
# status steps), so the source's updated time still stands.
IMPORT_SETTLE = dt.timedelta(seconds=60)


def open311_status(status: str) -> str:
    """The one mapping of the case lifecycle onto Open311's two statuses."""
    closed = {
        Case.Status.CLOSED,
        Case.Status.FINAL,
        Case.Status.NOT_ACCEPTED,
        Case.Status.DIVERTED,
    }
    return "closed" if status in closed else "open"


def lifecycle_statuses(open311: str) -> list[str]:
    """The case statuses shown as `open311` ("open" or "closed")."""
    return [s for s in Case.Status.values if open311_status(s) == open311]


def public_cases() -> QuerySet[Case]:
    """Cases the public may see through Open311: not confidential, no accusation, nobody accused."""
    accused = Case.accused_orgs.through.objects.filter(case_id=OuterRef("pk"))
    return (
        Case.objects.filter(confidential=False)
        .exclude(category=Case.Category.ACCUSATION)
        .exclude(Exists(accused))
    )


def check_jurisdiction(jurisdiction_id: str | None) -> None:
    """When a jurisdiction is configured, clients must name it (the spec's `jurisdiction_id`)."""
    configured = settings.PETITIONDESK_OPEN311_JURISDICTION
    if not configured:
        return
    if not jurisdiction_id:
        raise InvalidInput("missing_field", _("jurisdiction_id is required"))
    if jurisdiction_id != configured:
        raise NotFound("not_found", _("unknown jurisdiction_id %s") % jurisdiction_id)


# --- discovery and services -------------------------------------------------------------------


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": settings.PETITIONDESK_OPEN311_CONTACT,
        "key_service": settings.PETITIONDESK_OPEN311_KEY_SERVICE,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": settings.PETITIONDESK_OPEN311_URL or base_url,
                "changeset": CHANGESET,
                "type": settings.PETITIONDESK_OPEN311_TYPE,
                "formats": list(FORMATS.values()),
            }
        ],
    }


def _label(name: str, name_en: str) -> str:
    return name_en if (get_language() or "").startswith("en") and name_en else name


def service_list() -> list[dict[str, Any]]:
    """Every topic as a service; `group` is its top-level topic, `description` its path."""
    topics = {t.pk: t for t in Topic.objects.all()}
    with_attributes = set(ServiceAttribute.objects.values_list("topic_id", flat=True).distinct())
    out = []
    for t in topics.values():
        path = [t]
        while path[0].parent_id in topics and len(path) < 5:
            path.insert(0, topics[path[0].parent_id])
        out.append(
            {
                "service_code": t.code,
                "service_name": _label(t.name, t.name_en),
                "description": " / ".join(_label(p.name, p.name_en) for p in path),
                "metadata": t.pk in with_attributes,
                "type": "realtime",  # a posted request is a case at once
                "keywords": "",
                "group": _label(path[0].name, path[0].name_en),
            }
        )
    return out


def service_topic(service_code: str) -> Topic:
    topic = Topic.objects.filter(code=service_code).first()
    if topic is None:
        raise NotFound("not_found", _("no service with code %s") % service_code)
    return topic


def service_attributes(topic: Topic) -> list[ServiceAttribute]:
    return list(ServiceAttribute.objects.filter(topic=topic).order_by("order", "code"))


def service_definition(service_code: str) -> dict[str, Any]:
    topic = service_topic(service_code)
    return {
        "service_code": topic.code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": a.order,
                "description": a.description,
                "values": [{"key": k, "name": n} for k, n in a.value_names().items()],
            }
            for a in service_attributes(topic)
        ],
    }


# --- service requests -------------------------------------------------------------------------


@dataclass
class RequestFilters:
    service_request_id: str | None = None
    service_code: str | None = None
    status: str | None = None
    start_date: str | None = None
    end_date: str | None = None


def parse_w3c(value: str, name: str) -> dt.datetime:
    """A W3C date-time (an offset or Z; without one: local time), or a date (local midnight)."""
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is not None:
                parsed = dt.datetime.combine(day, dt.time())
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(
            "invalid_input",
            _("%(f)s must be a W3C date-time such as 2026-11-01T00:00:00Z") % {"f": name},
            fields={name: "W3C date-time"},
        )
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _window(filters: RequestFilters) -> tuple[dt.datetime, dt.datetime]:
    """[start, end] of requested times: both given, or 90 days up to the end (default: now)."""
    start = parse_w3c(filters.start_date, "start_date") if filters.start_date else None
    end = parse_w3c(filters.end_date, "end_date") if filters.end_date else None
    if start is None and end is None:
        end = clock.now()
    if start is None:
        assert end is not None
        start = end - DEFAULT_WINDOW
    if end is None:
        end = clock.now()
    if start > end:
        raise InvalidInput(
            "invalid_input",
            _("start_date must not be after end_date"),
            fields={"start_date": "after end_date"},
        )
    return start, end


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _newest_requested(cases: QuerySet[Case], start: dt.datetime, end: dt.datetime) -> list[int]:
    """Ids of the newest MAX_ROWS of `cases` requested within [start, end], newest first.

    A case's requested time is the earliest `requested_at` of its external references, else its
    registration time. Each half is one single-table "newest first, LIMIT" query, merged here: no
    per-row computation over the whole window, however many cases it holds.
    """
    sourced = ExternalRef.objects.filter(requested_at__isnull=False)
    imported = (
        sourced.filter(case__in=cases)
        .values("case_id")
        .annotate(first=Min("requested_at"))
        .filter(first__gte=start, first__lte=end)
        .order_by("-first", "-case_id")
        .values_list("first", "case_id")[:MAX_ROWS]
    )
    registered = (
        cases.filter(created_at__gte=start, created_at__lte=end)
        .exclude(Exists(sourced.filter(case_id=OuterRef("pk"))))
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[:MAX_ROWS]
    )
    merged = sorted([*imported, *registered], reverse=True)
    return [case_id for _at, case_id in merged[:MAX_ROWS]]


def _with_rows(qs: QuerySet[Case]) -> QuerySet[Case]:
    """What a row needs, in a fixed number of queries whatever the number of rows."""
    return (
        qs.select_related("org")
        .only(
            "id",
            "tracking_number",
            "content",
            "topic",
            "status",
            "org__name",
            "location",
            "lat",
            "lng",
            "created_at",
        )
        .annotate(
            last_event_at=Subquery(
                CaseEvent.objects.filter(case_id=OuterRef("pk"))
                .order_by("-id")
                .values("created_at")[:1],
                output_field=DateTimeField(),
            )
        )
        .prefetch_related(
            Prefetch(
                "external_refs",
                queryset=ExternalRef.objects.exclude(source=TOKEN_SOURCE).order_by("id"),
                to_attr="refs",
            ),
            Prefetch(
                "deadlines",
                queryset=Deadline.objects.filter(
                    state=Deadline.State.OPEN, statutory=True, duty=True
                ).order_by("due_on"),
                to_attr="open_deadlines",
            ),
        )
    )


def request_list(filters: RequestFilters) -> list[dict[str, Any]]:
    """Public cases as service requests, newest requested first, at most MAX_ROWS.

    `service_request_id` (comma-separated) overrides every other filter, as the spec says.
    """
    qs = public_cases()
    ids = _split(filters.service_request_id)
    if ids:
        qs = qs.filter(tracking_number__in=ids[:MAX_ROWS])
    else:
        statuses = _split(filters.status)
        unknown = sorted(set(statuses) - {"open", "closed"})
        if unknown:
            raise InvalidInput(
                "invalid_input",
                _("status must be open or closed, not %s") % ", ".join(unknown),
                fields={"status": "open or closed"},
            )
        if statuses:
            qs = qs.filter(status__in=[s for o in statuses for s in lifecycle_statuses(o)])
        codes = _split(filters.service_code)
        if codes:
            qs = qs.filter(topic__in=codes)
        start, end = _window(filters)
        order = _newest_requested(qs, start, end)
        rank = {case_id: i for i, case_id in enumerate(order)}
        found = _with_rows(Case.objects.filter(pk__in=order))
        return request_rows(sorted(found, key=lambda c: rank[c.pk]))
    return request_rows(list(_with_rows(qs.order_by("-id"))[:MAX_ROWS]))


def request_detail(service_request_id: str) -> list[dict[str, Any]]:
    """The one request (a list of one, as the spec answers), or the same 404 as a missing one."""
    case = _with_rows(public_cases().filter(tracking_number=service_request_id)).first()
    if case is None:
        raise NotFound("not_found", _("no service request %s") % service_request_id)
    return request_rows([case])


def token_lookup(token: str) -> list[dict[str, Any]]:
    ref = (
        ExternalRef.objects.filter(source=TOKEN_SOURCE, external_id=token, case__in=public_cases())
        .select_related("case")
        .only("external_id", "case__tracking_number")
        .first()
    )
    if ref is None:
        raise NotFound("not_found", _("no service request for token %s") % token)
    return [{"service_request_id": ref.case.tracking_number, "token": ref.external_id}]


def w3c(value: dt.datetime | None) -> str | None:
    """An instant in the deployment's time zone, with its offset (same instant as stored)."""
    return timezone.localtime(value).isoformat() if value is not None else None


def _end_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def request_rows(cases: list[Case]) -> list[dict[str, Any]]:
    codes = {c.topic for c in cases if c.topic}
    topics = {
        code: _label(name, name_en)
        for code, name, name_en in Topic.objects.filter(code__in=codes).values_list(
            "code", "name", "name_en"
        )
    }
    labels = dict(Case.Status.choices)
    return [_row(c, topics, labels) for c in cases]


def _row(case: Case, topics: dict[str, str], labels: dict[str, Any]) -> dict[str, Any]:
    refs: list[ExternalRef] = getattr(case, "refs", [])
    sourced = [r for r in refs if r.requested_at is not None]
    source = min(sourced, key=lambda r: (r.requested_at, r.pk)) if sourced else None
    last_event_at = getattr(case, "last_event_at", None)
    updated = last_event_at or case.created_at
    if (
        source is not None
        and source.updated_at is not None
        and (last_event_at is None or last_event_at <= source.imported_at + IMPORT_SETTLE)
    ):
        updated = source.updated_at
    expected = source.expected_at if source else None
    expected = expected or next((r.expected_at for r in refs if r.expected_at), None)
    if expected is None:
        deadlines: list[Deadline] = getattr(case, "open_deadlines", [])
        expected = _end_of_day(deadlines[0].due_on) if deadlines else None
    return {
        "service_request_id": case.tracking_number,
        "status": open311_status(case.status),
        "status_notes": str(labels.get(case.status, case.status)),
        "service_name": topics.get(case.topic, ""),
        "service_code": case.topic,
        "description": case.content,
        "agency_responsible": case.org.name,
        "service_notice": "",
        "requested_datetime": w3c(source.requested_at if source else case.created_at),
        "updated_datetime": w3c(updated),
        "expected_datetime": w3c(expected),
        "address": case.location,
        "address_id": "",
        "zipcode": "",
        "lat": case.lat,
        "long": case.lng,
        "media_url": "",
    }
