"""KPIs with versioned definitions (domain.md §8, docs/analytics.md).

A definition is data: a numerator and a denominator, each a sum of `DailyCount` metrics over the
period. A changed definition is a new version; figures always carry the version they were
computed with, so a report can say which formula its numbers follow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.utils.translation import gettext_lazy as _l

from petitiondesk.accounts.models import Organisation
from petitiondesk.core.errors import InvalidInput

from .selectors import Period, Table, counts_totals, counts_totals_by_org

DEFAULT_VERSION = "v1"


def _clock(rule: str) -> dict[str, list[str]]:
    return {
        "numerator": [f"clock_met:{rule}"],
        "denominator": [f"clock_met:{rule}", f"clock_missed:{rule}"],
    }


KPI_DEFINITIONS: dict[str, dict[str, dict[str, Any]]] = {
    "v1": {
        "on_time_routing": {
            "label": _l("On-time routing rate"),
            "formula": _l(
                "routing clocks met ÷ routing clocks met or missed; a clock counts on the day its "
                "step was done (met) or the day after its due date (missed)"
            ),
            **_clock("routing"),
        },
        "on_time_notice": {
            "label": _l("On-time acceptance-notice rate"),
            "formula": _l("acceptance-notice clocks met ÷ notice clocks met or missed"),
            **_clock("notice"),
        },
        "on_time_handling": {
            "label": _l("On-time handling rate"),
            "formula": _l("handling clocks met ÷ handling clocks met or missed"),
            **_clock("handling"),
        },
        "response": {
            "label": _l("Response rate"),
            "formula": _l(
                "cases registered in the period that have an acceptance decision (accepted, "
                "diverted or not accepted) ÷ cases registered in the period"
            ),
            "numerator": ["responded"],
            "denominator": ["registered"],
        },
        "resolution": {
            "label": _l("Resolution rate"),
            "formula": _l(
                "ratings of an opinion that supported the request ÷ ratings, both by the day "
                "of the rating"
            ),
            "numerator": ["rated_resolved"],
            "denominator": ["rated"],
        },
        "satisfaction": {
            "label": _l("Satisfaction rate"),
            "formula": _l("(satisfied + basically satisfied ratings) ÷ ratings"),
            "numerator": ["rated:satisfied", "rated:basically_satisfied"],
            "denominator": ["rated"],
        },
        "review": {
            "label": _l("Review rate"),
            "formula": _l("review requests ÷ handling opinions (replies), both in the period"),
            "numerator": ["review_requested"],
            "denominator": ["replied"],
        },
        "backlog_resolution": {
            "label": _l("Backlog resolution rate"),
            "formula": _l(
                "backlog cases resolved in the period ÷ backlog cases open at its start or "
                "flagged during it (from the supervision backlog register)"
            ),
            "source": "backlog",
        },
    },
}


@dataclass(frozen=True)
class Figure:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None


@dataclass(frozen=True)
class KpiFigure:
    code: str
    label: str
    formula: str
    version: str
    current: Figure | None  # None: the figure is not available (see `note`)
    previous: Figure | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        def fig(f: Figure | None) -> dict[str, Any] | None:
            if f is None:
                return None
            return {"numerator": f.numerator, "denominator": f.denominator, "rate": f.rate}

        return {
            "code": self.code,
            "label": self.label,
            "formula": self.formula,
            "version": self.version,
            "current": fig(self.current),
            "previous": fig(self.previous),
            "note": self.note,
        }


def definitions(version: str) -> dict[str, dict[str, Any]]:
    if version not in KPI_DEFINITIONS:
        raise InvalidInput(
            "invalid_input",
            str(_l("unknown KPI version %s")) % version,
            fields={"version": sorted(KPI_DEFINITIONS)},
        )
    return KPI_DEFINITIONS[version]


def previous_period(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The period of the same length just before."""
    length = date_to - date_from + dt.timedelta(days=1)
    return date_from - length, date_from - dt.timedelta(days=1)


def _metrics(defs: dict[str, dict[str, Any]]) -> set[str]:
    return {m for d in defs.values() for m in d.get("numerator", []) + d.get("denominator", [])}


def _figure(totals: dict[str, int], definition: dict[str, Any]) -> Figure:
    return Figure(
        numerator=sum(totals.get(m, 0) for m in definition["numerator"]),
        denominator=sum(totals.get(m, 0) for m in definition["denominator"]),
    )


def backlog_figure(
    date_from: dt.date, date_to: dt.date, org_ids: Collection[int] | None
) -> Figure | None:
    """From the supervision backlog register (a small table, read live); None without it."""
    try:
        backlog = apps.get_model("supervision", "BacklogCase")
    except LookupError:
        return None
    qs = backlog.objects.filter(flagged_on__lte=date_to).exclude(resolved_on__lt=date_from)
    if org_ids is not None:
        qs = qs.filter(case__org_id__in=list(org_ids))
    denominator = qs.count()
    numerator = qs.filter(resolved_on__gte=date_from, resolved_on__lte=date_to).count()
    return Figure(numerator=numerator, denominator=denominator)


def _kpi(
    code: str,
    definition: dict[str, Any],
    version: str,
    current: Figure | None,
    previous: Figure | None,
) -> KpiFigure:
    note = ""
    if definition.get("source") == "backlog" and current is None:
        note = str(_l("unavailable: the backlog register is not installed"))
    return KpiFigure(
        code=code,
        label=str(definition["label"]),
        formula=str(definition["formula"]),
        version=version,
        current=current,
        previous=previous,
        note=note,
    )


def kpis_compute(
    *,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    division: str | None = None,
    version: str = DEFAULT_VERSION,
) -> list[KpiFigure]:
    """Every KPI of `version` over the period and the previous period of the same length, for
    the organisations `org_ids` and, with `division`, the cases of that division only."""
    defs = definitions(version)
    prev_from, prev_to = previous_period(date_from, date_to)
    metrics = _metrics(defs)
    now = counts_totals(
        metrics=metrics,
        date_from=date_from,
        date_to=date_to,
        org_ids=org_ids,
        division=division,
    )
    before = counts_totals(
        metrics=metrics,
        date_from=prev_from,
        date_to=prev_to,
        org_ids=org_ids,
        division=division,
    )
    out = []
    for code, d in defs.items():
        if d.get("source") == "backlog" and division:
            cur = prev = None  # the register is kept by organisation, not by division
        elif d.get("source") == "backlog":
            cur = backlog_figure(date_from, date_to, org_ids)
            prev = backlog_figure(prev_from, prev_to, org_ids)
        else:
            cur, prev = _figure(now, d), _figure(before, d)
        out.append(_kpi(code, d, version, cur, prev))
    return out


def kpis_by_org(
    *,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    version: str = DEFAULT_VERSION,
) -> dict[int, dict[str, Figure]]:
    """org id → KPI code → figure, for the count-based KPIs (one query)."""
    defs = {c: d for c, d in definitions(version).items() if "numerator" in d}
    by_org = counts_totals_by_org(
        metrics=_metrics(defs), date_from=date_from, date_to=date_to, org_ids=org_ids
    )
    return {
        org_id: {code: _figure(totals, d) for code, d in defs.items()}
        for org_id, totals in by_org.items()
    }


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def table_kpis(
    p: Period, version: str = DEFAULT_VERSION, figures: list[KpiFigure] | None = None
) -> Table:
    """The KPIs as a table (`figures` when already computed for the same period)."""
    if figures is None:
        figures = kpis_compute(
            date_from=p.date_from, date_to=p.date_to, org_ids=p.org_ids, version=version
        )
    rows = []
    for f in figures:
        cur, prev = f.current, f.previous
        rows.append(
            [
                f.code,
                f.label,
                f.version,
                cur.numerator if cur else "",
                cur.denominator if cur else "",
                _pct(cur.rate) if cur else f.note,
                prev.numerator if prev else "",
                prev.denominator if prev else "",
                _pct(prev.rate) if prev else "",
                f.formula,
            ]
        )
    return Table(
        str(_l("KPIs")),
        [
            str(c)
            for c in (
                _l("code"),
                _l("KPI"),
                _l("version"),
                _l("numerator"),
                _l("denominator"),
                _l("rate"),
                _l("previous numerator"),
                _l("previous denominator"),
                _l("previous rate"),
                _l("formula"),
            )
        ],
        rows,
    )


def table_kpis_by_org(p: Period, version: str = DEFAULT_VERSION) -> Table:
    """Each organisation's count-based KPIs (rate, with numerator/denominator)."""
    by_org = kpis_by_org(
        date_from=p.date_from, date_to=p.date_to, org_ids=p.org_ids, version=version
    )
    codes = [c for c, d in definitions(version).items() if "numerator" in d]
    names = dict(Organisation.objects.filter(pk__in=list(by_org)).values_list("id", "name"))
    rows = []
    for org_id in sorted(by_org, key=lambda o: names.get(o, "")):
        figs = by_org[org_id]
        rows.append(
            [names.get(org_id, str(org_id))]
            + [
                f"{_pct(figs[c].rate)} ({figs[c].numerator}/{figs[c].denominator})"
                if figs[c].denominator
                else ""
                for c in codes
            ]
        )
    labels = [str(definitions(version)[c]["label"]) for c in codes]
    return Table(
        str(_l("KPIs by organisation (%s)")) % version,
        [str(_l("organisation")), *labels],
        rows,
    )
