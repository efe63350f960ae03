"""Reading the pre-aggregated counts (`DailyCount`) and the few small live numbers.

Every function takes the organisations to count (`org_ids`, None for all) and an inclusive range
of days. A period's whole months are read from `MonthlyCount` and only its ragged ends from
`DailyCount` (when the buckets are months or there are none); the cases in hand now come from
`InHandCount`. None reads the case table: at 10M cases even its indexes are too big to count on
every page (docs/analytics.md).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import org_subtree_ids
from petitiondesk.cases.models import Case
from petitiondesk.cases.transitions import OPEN_STATUSES
from petitiondesk.core.errors import InvalidInput, PermissionDenied
from petitiondesk.reference.selectors import divisions, topic_names

from .models import DailyCount, InHandCount, MonthlyCount

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


CountModel = type[DailyCount] | type[MonthlyCount]


def _month_after(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _pieces(
    date_from: dt.date, date_to: dt.date, grain: str
) -> list[tuple[CountModel, dt.date, dt.date]]:
    """The period as its whole calendar months (`MonthlyCount`) and its ragged ends by day
    (`DailyCount`); by day only when the buckets are days or weeks, which months cannot give."""
    if grain != "month":
        return [(DailyCount, date_from, date_to)]
    first = date_from if date_from.day == 1 else _month_after(date_from)
    stop = (date_to + dt.timedelta(days=1)).replace(day=1)  # the first month not wholly inside
    if first >= stop:
        return [(DailyCount, date_from, date_to)]
    out: list[tuple[CountModel, dt.date, dt.date]] = [
        (MonthlyCount, first, stop - dt.timedelta(days=1))
    ]
    if date_from < first:
        out.append((DailyCount, date_from, first - dt.timedelta(days=1)))
    if stop <= date_to:
        out.append((DailyCount, stop, date_to))
    return out


def _querysets(
    *,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None,
    grain: str = "month",
    **filters: Any,
) -> list[QuerySet[Any]]:
    """The rows of the period, as one queryset per piece (see `_pieces`)."""
    if org_ids is not None:
        filters["org_id__in"] = list(org_ids)
    return [
        model.objects.filter(day__gte=a, day__lte=b, **filters)
        for model, a, b in _pieces(date_from, date_to, grain)
    ]


def _summed(querysets: list[QuerySet[Any]], *fields: str) -> Counter[tuple[Any, ...]]:
    """Σ n grouped by `fields`, over every piece."""
    out: Counter[tuple[Any, ...]] = Counter()
    for qs in querysets:
        for *key, total in (
            qs.values_list(*fields).annotate(total=Sum("n")).values_list(*fields, "total")
        ):
            out[tuple(key)] += int(total or 0)
    return out


def _bucketed(querysets: list[QuerySet[Any]], grain: str, *extra: str) -> Counter[tuple[Any, ...]]:
    """Σ n grouped by (bucket start, *extra), over every piece."""
    out: Counter[tuple[Any, ...]] = Counter()
    for qs in querysets:
        for b, *rest in _grouped(qs, grain, *extra).values_list(*_cols(grain, *extra)):
            *key, total = rest
            out[(_as_date(b), *key)] += int(total or 0)
    return out


def _ranked(found: Counter[tuple[Any, ...]], limit: int | None) -> list[tuple[Any, int]]:
    rows = sorted(((k[0], n) for k, n in found.items() if n), key=lambda kv: (-kv[1], kv[0]))
    return rows[:limit] if limit else rows


def counts_total(
    *,
    metric: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    dimension: str = "",
    value: str | None = None,
) -> int:
    filters: dict[str, Any] = {"metric": metric, "dimension": dimension}
    if value is not None:
        filters["value"] = value
    qss = _querysets(date_from=date_from, date_to=date_to, org_ids=org_ids, **filters)
    return sum(int(qs.aggregate(total=Sum("n"))["total"] or 0) for qs in qss)


def counts_totals(
    *,
    metrics: Collection[str],
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    division: str | None = None,
) -> dict[str, int]:
    """Totals of several metrics (metrics without rows are 0), of the cases of one division when
    `division` is given."""
    found = _summed(
        _querysets(
            date_from=date_from,
            date_to=date_to,
            org_ids=org_ids,
            metric__in=list(metrics),
            dimension="division" if division else "",
            value=division or "",
        ),
        "metric",
    )
    return {m: found.get((m,), 0) for m in metrics}


def counts_totals_by_org(
    *,
    metrics: Collection[str],
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
) -> dict[int, dict[str, int]]:
    """org id → metric → total."""
    found = _summed(
        _querysets(
            date_from=date_from,
            date_to=date_to,
            org_ids=org_ids,
            metric__in=list(metrics),
            dimension="",
        ),
        "org_id",
        "metric",
    )
    out: dict[int, dict[str, int]] = {}
    for (org_id, metric), total in found.items():
        out.setdefault(org_id, {})[metric] = total
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
    qss = _querysets(
        date_from=date_from, date_to=date_to, org_ids=org_ids, metric=metric, dimension=dimension
    )
    return _ranked(_summed(qss, "value"), limit)


def counts_by_org(
    *,
    metric: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    limit: int | None = None,
) -> list[tuple[int, int]]:
    """(org id, total), largest first."""
    qss = _querysets(
        date_from=date_from, date_to=date_to, org_ids=org_ids, metric=metric, dimension=""
    )
    return _ranked(_summed(qss, "org_id"), limit)


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
            day = _month_after(day)
    return out


def _grouped(qs: QuerySet[Any], grain: str, *extra: str) -> QuerySet[Any]:
    if grain == "day":
        return qs.values_list("day", *extra).annotate(total=Sum("n"))
    trunc = TruncWeek("day") if grain == "week" else TruncMonth("day")
    return qs.annotate(bucket=trunc).values_list("bucket", *extra).annotate(total=Sum("n"))


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _cols(grain: str, *extra: str) -> tuple[str, ...]:
    return ("day" if grain == "day" else "bucket", *extra, "total")


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
    filters: dict[str, Any] = {"metric": metric, "dimension": dimension}
    if value is not None:
        filters["value"] = value
    qss = _querysets(date_from=date_from, date_to=date_to, org_ids=org_ids, grain=grain, **filters)
    found = _bucketed(qss, grain)
    return [(k, found.get((k,), 0)) for k in keys]


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
    qss = _querysets(
        date_from=date_from,
        date_to=date_to,
        org_ids=org_ids,
        grain=grain,
        metric=metric,
        dimension=dimension,
    )
    found: dict[str, dict[dt.date, int]] = {}
    for (b, v), t in _bucketed(qss, grain, "value").items():
        found.setdefault(v, {})[b] = t
    return {v: [(k, per.get(k, 0)) for k in keys] for v, per in found.items()}


# --- cases in hand now, as of the last roll-up (`InHandCount`) --------------------------------


def overdue_by_org(org_ids: Collection[int] | None = None) -> list[tuple[int, int]]:
    """(holding org id, cases overdue now), largest first."""
    qs = InHandCount.objects.filter(overdue__gt=0)
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    rows = qs.values_list("org_id").annotate(t=Sum("overdue")).values_list("org_id", "t")
    return _ranked(Counter({(org_id,): int(t) for org_id, t in rows}), None)


def open_by_status(org_ids: Collection[int] | None = None) -> dict[str, int]:
    """Cases in hand now by status, at the given holders."""
    qs = InHandCount.objects.filter(status__in=list(OPEN_STATUSES), n__gt=0)
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    return {k[0]: n for k, n in _summed([qs], "status").items() if n}


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
    qss = _querysets(
        date_from=p.date_from,
        date_to=p.date_to,
        org_ids=p.org_ids,
        grain=p.grain,
        metric__in=metrics,
        dimension="",
    )
    found = _bucketed(qss, p.grain, "metric")
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


def _top_values(
    p: Period,
    dimension: str,
    labels: dict[str, str],
    title: str,
    *,
    limit: int | None = TOP,
    keep_none: bool = True,
) -> Table:
    rows = counts_by_value(
        metric="registered",
        dimension=dimension,
        date_from=p.date_from,
        date_to=p.date_to,
        org_ids=p.org_ids,
        limit=limit,
    )
    return Table(
        title,
        [str(_("value")), str(_("name")), str(_("registered"))],
        [[v, labels.get(v, v) or str(_("(none)")), n] for v, n in rows if v or keep_none],
    )


def table_topics(p: Period) -> Table:
    return _top_values(p, "topic", topic_names(), str(_("Top topics")))


def table_divisions(p: Period) -> Table:
    return _top_values(p, "division", _division_names(), str(_("Top divisions")))


def _division_names() -> dict[str, str]:
    return {code: row[0] for code, row in divisions().items()}


def table_division_map(p: Period) -> Table:
    """Every division of the period, for the map (the bar chart shows the top ones)."""
    return _top_values(
        p,
        "division",
        _division_names(),
        str(_("Petitions by division")),
        limit=None,
        keep_none=False,
    )


def table_channels(p: Period) -> Table:
    labels = {str(k): str(v) for k, v in Case.Channel.choices}
    return _top_values(p, "channel", labels, str(_("Channel mix")))


def table_organs(p: Period) -> Table:
    """Organisations by matters they decided on (accepted, diverted or not accepted)."""
    qss = _querysets(
        date_from=p.date_from,
        date_to=p.date_to,
        org_ids=p.org_ids,
        metric__in=("accepted", "diverted", "declined"),
        dimension="",
    )
    top = _ranked(_summed(qss, "org_id"), TOP)
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
    "division_map": table_division_map,
    "organs": table_organs,
    "channels": table_channels,
    "overdue": table_overdue,
    "open": table_open,
}
