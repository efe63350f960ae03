"""Analytics over the JSON API (/api/v1/analytics/…): the dashboard's numbers, read from the
pre-aggregated counts. Thin adapters over `selectors` and `kpis`; mounted by api/urls.py."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from petitiondesk.api.auth import STAFF_AUTH, staff_user
from petitiondesk.api.schemas import ERRORS
from petitiondesk.core import clock

from . import kpis
from . import selectors as sel

router = Router(tags=["analytics"])

Dimension = Literal["", "topic", "division", "channel", "category", "topic_division"]


class PeriodQuery(Schema):
    date_from: dt.date | None = Field(None, alias="from")
    date_to: dt.date | None = Field(None, alias="to")
    org: str | None = Field(None, max_length=64, description="an organisation code: its subtree")


class CountsQuery(PeriodQuery):
    metric: str = Field("registered", max_length=40)
    dimension: Dimension = ""
    grain: Literal["day", "week", "month"] = "day"


class KpisQuery(PeriodQuery):
    version: str = Field(kpis.DEFAULT_VERSION, max_length=16)
    division: str | None = Field(None, max_length=12)


class Bucket(Schema):
    start: dt.date
    n: int


class ValueTotal(Schema):
    value: str
    n: int
    series: list[Bucket]


class CountsOut(Schema):
    metric: str
    dimension: str
    date_from: dt.date
    date_to: dt.date
    grain: str
    total: int
    series: list[Bucket]
    values: list[ValueTotal]


class FigureOut(Schema):
    numerator: int
    denominator: int
    rate: float | None


class KpiOut(Schema):
    code: str
    label: str
    formula: str
    version: str
    current: FigureOut | None
    previous: FigureOut | None
    note: str


class KpisOut(Schema):
    date_from: dt.date
    date_to: dt.date
    previous_from: dt.date
    previous_to: dt.date
    version: str
    kpis: list[KpiOut]


def _period(request: HttpRequest, q: PeriodQuery) -> tuple[dt.date, dt.date, set[int]]:
    date_to = q.date_to or clock.today()
    date_from = q.date_from or date_to - dt.timedelta(days=29)
    sel.check_period(date_from, date_to)
    return date_from, date_to, sel.dashboard_scope(staff_user(request), q.org)


@router.get(
    "/analytics/counts",
    response={200: CountsOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Counts of one metric over a period",
)
def counts(request: HttpRequest, q: Query[CountsQuery]) -> dict[str, Any]:
    date_from, date_to, org_ids = _period(request, q)
    series = sel.counts_series(
        metric=q.metric, grain=q.grain, date_from=date_from, date_to=date_to, org_ids=org_ids
    )
    values: list[dict[str, Any]] = []
    if q.dimension:
        by_value = sel.counts_series_by_value(
            metric=q.metric,
            dimension=q.dimension,
            grain=q.grain,
            date_from=date_from,
            date_to=date_to,
            org_ids=org_ids,
        )
        totals = {value: sum(n for _b, n in buckets) for value, buckets in by_value.items()}
        values = [
            {
                "value": value,
                "n": totals[value],
                "series": [{"start": b, "n": n} for b, n in by_value[value]],
            }
            for value in sorted(totals, key=lambda v: (-totals[v], v))
        ]
    return {
        "metric": q.metric,
        "dimension": q.dimension,
        "date_from": date_from,
        "date_to": date_to,
        "grain": q.grain,
        "total": sum(n for _b, n in series),
        "series": [{"start": b, "n": n} for b, n in series],
        "values": values,
    }


@router.get(
    "/analytics/kpis",
    response={200: KpisOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="KPIs over a period, with the previous period",
)
def kpis_get(request: HttpRequest, q: Query[KpisQuery]) -> dict[str, Any]:
    date_from, date_to, org_ids = _period(request, q)
    figures = kpis.kpis_compute(
        date_from=date_from,
        date_to=date_to,
        org_ids=org_ids,
        division=q.division,
        version=q.version,
    )
    previous_from, previous_to = kpis.previous_period(date_from, date_to)
    return {
        "date_from": date_from,
        "date_to": date_to,
        "previous_from": previous_from,
        "previous_to": previous_to,
        "version": q.version,
        "kpis": [f.as_dict() for f in figures],
    }
