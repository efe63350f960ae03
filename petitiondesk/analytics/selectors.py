"""Reading the pre-aggregated counts (`DailyCount`) and the few small live numbers.

Every function takes the organisations to count (`org_ids`, None for all) and an inclusive range
of days; none reads the case table except `overdue_by_org` and `open_by_status`, which go through
the case table's partial and (org, status) indexes and touch only cases still in hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import org_subtree_ids
from petitiondesk.cases.models import Case
from petitiondesk.cases.transitions import OPEN_STATUSES
from petitiondesk.core.errors import InvalidInput, PermissionDenied
from petitiondesk.reference.selectors import divisions, topic_names

from .models import DailyCount

ANALYTICS_ROLES = frozenset({User.Role.SUPERVISOR, User.Role.ANALYST, User.Role.HEAD})
GRAINS = ("day", "week", "month")
MAX_DAYS = 3 * 366 + 1  # the longest period a page or the API may ask for


def analytics_scope(user: User) -> set[int]:
    """The organisations whose counts `user` may read: their own and its subordinates (the
    jurisdiction of `cases.selectors.visible_cases`). Administrators manage reference data and
    read no statistics of cases."""
    if user.role not in ANALYTICS_ROLES or user.org_id is None:
        raise PermissionDenied(
            "forbidden", _("only supervisors, analysts and heads read the statistics")
        )
    return org_subtree_ids(user.org_id)


def check_period(date_from: dt.date, date_to: dt.date) -> None:
    if date_from > date_to:
        raise InvalidInput(
            "invalid_input",
            _("the period ends before it starts"),
            fields={"to": "before from"},
        )
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise InvalidInput(
            "invalid_input",
            _("a period may be at most %d days") % MAX_DAYS,
            fields={"from": "too far back"},
        )


def _rows(
    *,
    metric: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None,
    dimension: str = "",
    value: str | None = None,
) -> QuerySet[DailyCount]:
    qs = DailyCount.objects.filter(
        metric=metric, dimension=dimension, day__gte=date_from, day__lte=date_to
    )
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    if value is not None:
        qs = qs.filter(value=value)
    return qs


def counts_total(
    *,
    metric: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    dimension: str = "",
    value: str | None = None,
) -> int:
    qs = _rows(
        metric=metric,
        date_from=date_from,
        date_to=date_to,
        org_ids=org_ids,
        dimension=dimension,
        value=value,
    )
    return int(qs.aggregate(total=Sum("n"))["total"] or 0)


def counts_totals(
    *,
    metrics: Collection[str],
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    division: str | None = None,
) -> dict[str, int]:
    """Totals of several metrics in one query (metrics without rows are 0), of the cases of one
    division when `division` is given."""
    qs = DailyCount.objects.filter(
        metric__in=list(metrics),
        dimension="division" if division else "",
        value=division or "",
        day__gte=date_from,
        day__lte=date_to,
    )
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    found = dict(qs.values_list("metric").annotate(total=Sum("n")).values_list("metric", "total"))
    return {m: int(found.get(m) or 0) for m in metrics}


def counts_totals_by_org(
    *,
    metrics: Collection[str],
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
) -> dict[int, dict[str, int]]:
    """org id → metric → total, in one query."""
    qs = DailyCount.objects.filter(
        metric__in=list(metrics), dimension="", day__gte=date_from, day__lte=date_to
    )
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    out: dict[int, dict[str, int]] = {}
    for org_id, metric, total in (
        qs.values_list("org_id", "metric")
        .annotate(total=Sum("n"))
        .values_list("org_id", "metric", "total")
    ):
        out.setdefault(org_id, {})[metric] = int(total)
    return out


def counts_by_value(
    *,
    metric: str,
    dimension: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    limit: int | None = None,
) -> list[tuple[str, int]]:
    """(value, total) of one dimension, largest first."""
    qs = (
        _rows(
            metric=metric,
            date_from=date_from,
            date_to=date_to,
            org_ids=org_ids,
            dimension=dimension,
        )
        .values_list("value")
        .annotate(total=Sum("n"))
        .order_by("-total", "value")
        .values_list("value", "total")
    )
    rows = [(v, int(t)) for v, t in (qs[:limit] if limit else qs) if t]
    return rows


def counts_by_org(
    *,
    metric: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    limit: int | None = None,
) -> list[tuple[int, int]]:
    """(org id, total), largest first."""
    qs = (
        _rows(metric=metric, date_from=date_from, date_to=date_to, org_ids=org_ids)
        .values_list("org_id")
        .annotate(total=Sum("n"))
        .order_by("-total", "org_id")
        .values_list("org_id", "total")
    )
    return [(o, int(t)) for o, t in (qs[:limit] if limit else qs) if t]


def _bucket(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def buckets(date_from: dt.date, date_to: dt.date, grain: str) -> list[dt.date]:
    """Every bucket start between the two days, in order."""
    if grain not in GRAINS:
        raise InvalidInput(
            "invalid_input",
            _("grain must be one of %s") % ", ".join(GRAINS),
            fields={"grain": "unknown"},
        )
    out: list[dt.date] = []
    day = _bucket(date_from, grain)
    while day <= date_to:
        out.append(day)
        if grain == "day":
            day += dt.timedelta(days=1)
        elif grain == "week":
            day += dt.timedelta(days=7)
        else:
            day = (day + dt.timedelta(days=32)).replace(day=1)
    return out


def _grouped(qs: QuerySet[DailyCount], grain: str, *extra: str) -> QuerySet[DailyCount]:
    if grain == "day":
        return qs.values_list("day", *extra).annotate(total=Sum("n"))
    trunc = TruncWeek("day") if grain == "week" else TruncMonth("day")
    return qs.annotate(bucket=trunc).values_list("bucket", *extra).annotate(total=Sum("n"))


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def counts_series(
    *,
    metric: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    dimension: str = "",
    value: str | None = None,
    grain: str = "day",
) -> list[tuple[dt.date, int]]:
    """(bucket start, total) for every bucket of the period, zeros included."""
    keys = buckets(date_from, date_to, grain)
    qs = _rows(
        metric=metric,
        date_from=date_from,
        date_to=date_to,
        org_ids=org_ids,
        dimension=dimension,
        value=value,
    )
    found = {_as_date(b): int(t) for b, t in _grouped(qs, grain).values_list(*_cols(grain))}
    return [(k, found.get(k, 0)) for k in keys]


def _cols(grain: str, *extra: str) -> tuple[str, ...]:
    return ("day" if grain == "day" else "bucket", *extra, "total")


def counts_series_by_value(
    *,
    metric: str,
    dimension: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    grain: str = "day",
) -> dict[str, list[tuple[dt.date, int]]]:
    """value → [(bucket start, total)] for every value seen in the period, zeros included."""
    keys = buckets(date_from, date_to, grain)
    qs = _rows(
        metric=metric,
        date_from=date_from,
        date_to=date_to,
        org_ids=org_ids,
        dimension=dimension,
    )
    found: dict[str, dict[dt.date, int]] = {}
    for b, v, t in _grouped(qs, grain, "value").values_list(*_cols(grain, "value")):
        found.setdefault(v, {})[_as_date(b)] = int(t)
    return {v: [(k, per.get(k, 0)) for k in keys] for v, per in found.items()}


# --- small live numbers, read through indexes --------------------------------------------------


def overdue_by_org(org_ids: Collection[int] | None = None) -> list[tuple[int, int]]:
    """(holding org id, cases overdue now), largest first: the `case_overdue` partial index."""
    qs = Case.objects.filter(is_overdue=True)
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    rows = qs.values_list("org_id").annotate(n=Count("id")).order_by("-n", "org_id")
    return [(o, int(n)) for o, n in rows.values_list("org_id", "n")]


def open_by_status(org_ids: Collection[int] | None = None) -> dict[str, int]:
    """Cases in hand now by status, at the given holders: the (org, status) index."""
    qs = Case.objects.filter(status__in=list(OPEN_STATUSES))
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    return {
        s: int(n)
        for s, n in qs.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    }


# --- the dashboard: every chart's numbers as a table (the charts and the exports read these) ---


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Period:
    date_from: dt.date
    date_to: dt.date
    org_ids: frozenset[int]
    grain: str


def default_grain(date_from: dt.date, date_to: dt.date) -> str:
    days = (date_to - date_from).days + 1
    return "day" if days <= 92 else "week" if days <= 366 else "month"


def dashboard_scope(user: User, org_code: str | None) -> set[int]:
    """The user's scope, narrowed to one organisation's subtree when `org_code` is given (an
    organisation outside the scope is refused like an unknown one)."""
    scope = analytics_scope(user)
    if not org_code:
        return scope
    org_id = Organisation.objects.filter(code=org_code).values_list("id", flat=True).first()
    if org_id is None or org_id not in scope:
        raise InvalidInput(
            "unknown_org",
            _("no organisation %s in your jurisdiction") % org_code,
            fields={"org": "unknown"},
        )
    return org_subtree_ids(org_id) & scope


def _org_labels(ids: Collection[int]) -> dict[int, str]:
    return dict(Organisation.objects.filter(pk__in=list(ids)).values_list("id", "name"))


TOP = 10


def table_trend(p: Period) -> Table:
    metrics = ("registered", "replied", "closed", "overdue")
    keys = buckets(p.date_from, p.date_to, p.grain)
    qs = DailyCount.objects.filter(
        metric__in=metrics, dimension="", day__gte=p.date_from, day__lte=p.date_to
    ).filter(org_id__in=list(p.org_ids))
    found: dict[tuple[dt.date, str], int] = {}
    for b, metric, t in _grouped(qs, p.grain, "metric").values_list(*_cols(p.grain, "metric")):
        found[(_as_date(b), metric)] = int(t)
    rows = [[k.isoformat(), *(found.get((k, m), 0) for m in metrics)] for k in keys]
    return Table(
        str(_("Volume over time")),
        [
            str(_("period start")),
            str(_("registered")),
            str(_("replied")),
            str(_("closed")),
            str(_("became overdue")),
        ],
        rows,
    )


def _top_values(p: Period, dimension: str, labels: dict[str, str], title: str) -> Table:
    rows = counts_by_value(
        metric="registered",
        dimension=dimension,
        date_from=p.date_from,
        date_to=p.date_to,
        org_ids=p.org_ids,
        limit=TOP,
    )
    return Table(
        title,
        [str(_("value")), str(_("name")), str(_("registered"))],
        [[v, labels.get(v, v) or str(_("(none)")), n] for v, n in rows],
    )


def table_topics(p: Period) -> Table:
    return _top_values(p, "topic", topic_names(), str(_("Top topics")))


def table_divisions(p: Period) -> Table:
    names = {code: row[0] for code, row in divisions().items()}
    return _top_values(p, "division", names, str(_("Top divisions")))


def table_channels(p: Period) -> Table:
    labels = {str(k): str(v) for k, v in Case.Channel.choices}
    return _top_values(p, "channel", labels, str(_("Channel mix")))


def table_organs(p: Period) -> Table:
    """Organisations by matters they decided on (accepted, diverted or not accepted)."""
    qs = DailyCount.objects.filter(
        metric__in=("accepted", "diverted", "declined"),
        dimension="",
        day__gte=p.date_from,
        day__lte=p.date_to,
        org_id__in=list(p.org_ids),
    )
    totals = {
        o: int(t)
        for o, t in qs.values_list("org_id").annotate(t=Sum("n")).values_list("org_id", "t")
    }
    top = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    names = _org_labels([o for o, _n in top])
    return Table(
        str(_("Top organs (acceptance decisions)")),
        [str(_("organisation")), str(_("decisions"))],
        [[names.get(o, str(o)), n] for o, n in top],
    )


def table_overdue(p: Period) -> Table:
    rows = overdue_by_org(p.org_ids)[: TOP * 2]
    names = _org_labels([o for o, _n in rows])
    return Table(
        str(_("Overdue now, by holding organ")),
        [str(_("organisation")), str(_("overdue cases"))],
        [[names.get(o, str(o)), n] for o, n in rows],
    )


def table_open(p: Period) -> Table:
    labels = {str(k): str(v) for k, v in Case.Status.choices}
    found = open_by_status(p.org_ids)
    return Table(
        str(_("Cases in hand now, by status")),
        [str(_("status")), str(_("cases"))],
        [[labels[s], found[s]] for s in Case.Status.values if s in found],
    )


TABLES = {
    "trend": table_trend,
    "topics": table_topics,
    "divisions": table_divisions,
    "organs": table_organs,
    "channels": table_channels,
    "overdue": table_overdue,
    "open": table_open,
}
