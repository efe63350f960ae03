"""The analytics dashboard (/desk/analytics/) and the download of each chart's table.

Thin: the filter form, then the tables of `selectors.TABLES` and `kpis`; the charts are drawn in
the browser (web/static/web/dashboard.js) from the same tables the downloads send.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.core import clock
from petitiondesk.core.errors import DomainError
from petitiondesk.reference.selectors import topic_names
from petitiondesk.suggestions.selectors import suggestion_stats
from petitiondesk.web.auth import staff_page
from petitiondesk.web.widgets import DateInput

from . import kpis
from .boundaries import division_boundaries
from .selectors import (
    ANALYTICS_ROLES,
    TABLES,
    Period,
    Table,
    analytics_scope,
    check_period,
    dashboard_scope,
    default_grain,
)

ROLES = tuple(sorted(ANALYTICS_ROLES))
CHARTS = ("trend", "topics", "divisions", "organs", "channels", "overdue", "open")
DEFAULT_DAYS = 90


class DashboardForm(forms.Form):
    date_from = forms.DateField(label=_l("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_l("To"), required=False, widget=DateInput())
    org = forms.ChoiceField(label=_l("Jurisdiction"), required=False)
    version = forms.ChoiceField(
        label=_l("KPI definitions"),
        required=False,
        choices=[(v, v) for v in kpis.KPI_DEFINITIONS],
    )

    def __init__(self, data: Any, *, user: User) -> None:
        super().__init__(data)
        scope = analytics_scope(user)
        orgs = Organisation.objects.filter(pk__in=scope).order_by("code")
        org_field: forms.ChoiceField = self.fields["org"]  # type: ignore[assignment]
        org_field.choices = [("", _("All of my jurisdiction"))] + [
            (o.code, f"{o.name} ({o.code})") for o in orgs.only("code", "name")
        ]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _period(request: HttpRequest) -> tuple[DashboardForm, Period, str]:
    """The filters of the query string (defaults: the last 90 days, the whole jurisdiction)."""
    user = _user(request)
    form = DashboardForm(request.GET, user=user)
    if not form.is_valid():
        raise Http404(_("invalid filter"))
    data = form.cleaned_data
    date_to = data["date_to"] or clock.today()
    date_from = data["date_from"] or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    check_period(date_from, date_to)
    org_ids = frozenset(dashboard_scope(user, data["org"] or None))
    version = data["version"] or kpis.DEFAULT_VERSION
    # Shown filled in with what is shown, defaults included.
    shown = {"date_from": date_from, "date_to": date_to, "org": data["org"], "version": version}
    form = DashboardForm(shown, user=user)
    form.is_valid()
    return form, Period(date_from, date_to, org_ids, default_grain(date_from, date_to)), version


def _kpi_table(period: Period, version: str) -> Table:
    return kpis.table_kpis(period, version)


KPI_TABLES: dict[str, Callable[[Period, str], Table]] = {
    "kpis": _kpi_table,
    "kpis_by_org": kpis.table_kpis_by_org,
}


def _charts() -> tuple[str, ...]:
    """The charts drawn: the map only where the deployment has division boundaries."""
    return (*CHARTS, "division_map") if division_boundaries() is not None else CHARTS


def _tables(
    period: Period, version: str, figures: list[kpis.KpiFigure], charts: tuple[str, ...]
) -> dict[str, Table]:
    tables = {
        name: build(period)
        for name, build in TABLES.items()
        if name != "division_map" or name in charts
    }
    tables["kpis"] = kpis.table_kpis(period, version, figures)
    tables["kpis_by_org"] = kpis.table_kpis_by_org(period, version)
    return tables


def _table_json(table: Table) -> dict[str, Any]:
    return {"title": table.title, "columns": table.columns, "rows": table.rows}


@staff_page(*ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        form, period, version = _period(request)
    except DomainError as e:
        return render(
            request, "analytics/dashboard.html", {"form": None, "error": e.message}, status=400
        )
    figures = kpis.kpis_compute(
        date_from=period.date_from,
        date_to=period.date_to,
        org_ids=period.org_ids,
        version=version,
    )
    charts = _charts()
    tables = _tables(period, version, figures, charts)
    query = request.GET.urlencode()
    exports = {
        name: {
            "csv": reverse("desk:analytics:export", args=[name, "csv"]) + f"?{query}",
            "xlsx": reverse("desk:analytics:export", args=[name, "xlsx"]) + f"?{query}",
        }
        for name in tables
    }
    suggestions = suggestion_stats(_user(request), since=period.date_from, until=period.date_to)
    names = topic_names()
    context = {
        "form": form,
        "period": period,
        "version": version,
        "tables": tables,
        "kpis": figures,
        "exports": exports,
        "panels": [{"name": name, "table": tables[name], **exports[name]} for name in charts],
        "suggestions": suggestions,
        "chart_data": {
            "grain": period.grain,
            "tables": {n: _table_json(t) for n, t in tables.items()},
            "suggestions_by_topic": [
                {"topic": names.get(row["topic"], row["topic"]), "count": row["count"]}
                for row in suggestions["by_topic"][:10]
            ],
            "labels": {"save": _("Save as image")},
            "boundaries": reverse("desk:analytics:boundaries")
            if "division_map" in charts
            else None,
        },
    }
    return render(request, "analytics/dashboard.html", context)


@staff_page(*ROLES)
def boundaries(request: HttpRequest) -> JsonResponse:
    """The division boundaries the map draws (GeoJSON), when configured."""
    geo = division_boundaries()
    if geo is None:
        raise Http404(_("no division boundaries are configured"))
    response = JsonResponse(geo)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _cell(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    # A spreadsheet must not run a cell as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@staff_page(*ROLES)
def export(request: HttpRequest, name: str, fmt: str) -> HttpResponse | FileResponse:
    """One chart's table, with the dashboard's filters, as CSV (UTF-8 with a BOM) or XLSX."""
    if fmt not in ("csv", "xlsx") or name not in (*TABLES, *KPI_TABLES):
        raise Http404(_("no such table"))
    try:
        _form, period, version = _period(request)
    except DomainError as e:
        return HttpResponse(e.message, status=400, content_type="text/plain; charset=utf-8")
    table = KPI_TABLES[name](period, version) if name in KPI_TABLES else TABLES[name](period)
    filename = f"petitiondesk-{name}-{period.date_from}-{period.date_to}.{fmt}"
    rows = [[_cell(v) for v in row] for row in table.rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(table.columns)
        writer.writerows(rows)
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=name[:31])
    sheet.append(table.columns)
    for row in rows:
        sheet.append(row)
    file = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it once it is sent
    book.save(file)
    file.seek(0)
    return FileResponse(
        file,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
