"""The monthly and annual reports of Art. 41 (docs/governance.md): statistics, topics and places,
the organs most petitioned about, routing and supervision, recommendations made and adopted, and
the source-governance findings (hotspots, spikes, repeat petitioners and matters), as XLSX
(openpyxl) and PDF (WeasyPrint with the Noto CJK fonts).

`report_build` gathers the facts into a `Report` of plain tables; `report_xlsx` and `report_pdf`
lay the same tables out. Counts come from the pre-aggregated `DailyCount` rows; the findings that
need petitioners, links or texts read the period's cases (repeats.py, hotspots.py).
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import logging
import os
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation
from petitiondesk.accounts.selectors import org_subtree_ids
from petitiondesk.core.errors import InvalidInput

from .models import DailyCount

log = logging.getLogger("petitiondesk.reports")

KINDS = ("monthly", "annual")
FORMATS = ("xlsx", "pdf")
TOP = 10
CLAIM_STALE_SECONDS = 3600  # a claim older than this without its report was left by a crash


@dataclass
class Table:
    key: str  # a stable name (sheet order, tests)
    title: str
    headers: list[str]
    rows: list[list[Any]]
    note: str = ""
    chart: str = ""  # "bar" or "line": the XLSX draws the first two columns
    sheet: str = ""  # a shorter sheet name than the title (sheet names end at 31 characters)


@dataclass
class Report:
    kind: str
    date_from: dt.date
    date_to: dt.date
    org_name: str
    generated_on: dt.date
    title: str
    summary: list[tuple[str, int | str]]
    tables: list[Table] = field(default_factory=list)


# --- periods ------------------------------------------------------------------------------------


def month_period(month: str) -> tuple[dt.date, dt.date]:
    """ "2026-11" → (1 Nov, 30 Nov)."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InvalidInput(
            "invalid_input", _("%r is not a month (YYYY-MM)") % month, fields={"month": "format"}
        ) from None
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


def year_period(year: int) -> tuple[dt.date, dt.date]:
    if not 1900 <= year <= 9999:
        raise InvalidInput("invalid_input", _("%r is not a year") % year, fields={"year": "range"})
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def previous_month(today: dt.date) -> str:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


# --- facts --------------------------------------------------------------------------------------


def _summary(date_from: dt.date, date_to: dt.date, org_ids: Collection[int] | None) -> Any:
    from .selectors import counts_totals

    labels = {
        "registered": _("registered"),
        "accepted": _("accepted"),
        "declined": _("declined"),
        "diverted": _("diverted to another procedure"),
        "routed": _("routed (转送/交办)"),
        "replied": _("answered with an opinion"),
        "closed": _("closed"),
        "extended": _("extended"),
        "overdue": _("overdue"),
        "review_requested": _("reviews requested"),
        "rereview_requested": _("re-reviews requested"),
        "rated:satisfied": _("rated satisfied"),
        "rated:dissatisfied": _("rated dissatisfied"),
    }
    totals = counts_totals(
        metrics=list(labels), date_from=date_from, date_to=date_to, org_ids=org_ids
    )
    return [(labels[m], totals[m]) for m in labels]


def _series_table(
    kind: str, date_from: dt.date, date_to: dt.date, org_ids: Collection[int] | None
) -> Table:
    from .selectors import counts_series

    grain = "day" if kind == "monthly" else "month"
    points = counts_series(
        metric="registered", date_from=date_from, date_to=date_to, org_ids=org_ids, grain=grain
    )
    fmt = "%Y-%m-%d" if grain == "day" else "%Y-%m"
    return Table(
        key="series",
        title=_("Petitions registered per day") if grain == "day" else _("Petitions per month"),
        headers=[_("period"), _("registered")],
        rows=[[d.strftime(fmt), n] for d, n in points],
        chart="line",
    )


def _value_table(
    key: str,
    title: str,
    dimension: str,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None,
) -> Table:
    from .selectors import counts_by_value

    rows = counts_by_value(
        metric="registered",
        dimension=dimension,
        date_from=date_from,
        date_to=date_to,
        org_ids=org_ids,
        limit=TOP,
    )
    return Table(
        key=key,
        title=title,
        headers=[_(dimension), _("registered")],
        rows=[[_value_label(dimension, v), n] for v, n in rows],
        chart="bar",
    )


def _value_label(dimension: str, value: str) -> str:
    """A topic or division code as its name ("name (code)"), other values as they are."""
    from petitiondesk.reference.selectors import divisions, topic_names

    if not value:
        return _("(none)")
    if dimension == "topic_division":
        topic, _sep, division = value.partition("|")
        return f"{_value_label('topic', topic)} · {_value_label('division', division)}"
    if dimension == "topic":
        name = topic_names().get(value)
    elif dimension == "division":
        name = (divisions().get(value) or ("",))[0]
    else:
        return value
    return f"{name} ({value})" if name else value


def _organs_table(
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None,
    viewer_org_id: int | None,
) -> list[Table]:
    from .repeats import accusations_by_org
    from .selectors import counts_by_org, counts_totals_by_org

    held = counts_by_org(
        metric="registered", date_from=date_from, date_to=date_to, org_ids=org_ids, limit=TOP
    )
    names = dict(
        Organisation.objects.filter(id__in=[o for o, _n in held]).values_list("id", "name")
    )
    more = counts_totals_by_org(
        metrics=["overdue", "rated:dissatisfied"],
        date_from=date_from,
        date_to=date_to,
        org_ids=[o for o, _n in held],
    )
    holding = Table(
        key="organs",
        title=_("Organs most petitioned about (holding organ)"),
        sheet=_("Organs petitioned about"),
        headers=[_("organ"), _("registered"), _("overdue"), _("rated dissatisfied")],
        rows=[
            [
                names.get(o, str(o)),
                n,
                more.get(o, {}).get("overdue", 0),
                more.get(o, {}).get("rated:dissatisfied", 0),
            ]
            for o, n in held
        ],
        chart="bar",
    )
    accused = Table(
        key="accused",
        title=_("Organs most accused"),
        headers=[_("organ"), _("accusations")],
        rows=[
            [org.name, n]
            for org, n in accusations_by_org(
                date_from=date_from, date_to=date_to, org_ids=org_ids, viewer_org_id=viewer_org_id
            )
        ],
        note=_(
            "Accusations against the report's own organ and its superiors are not shown "
            "(Art. 30 ¶3)."
        )
        if viewer_org_id is not None
        else "",
    )
    return [holding, accused]


def _supervision_table(
    date_from: dt.date, date_to: dt.date, org_ids: Collection[int] | None
) -> Table:
    from petitiondesk.supervision.models import SupervisionRecord

    from .selectors import counts_totals

    totals = counts_totals(
        metrics=["routed", "clock_met:routing", "clock_missed:routing"],
        date_from=date_from,
        date_to=date_to,
        org_ids=org_ids,
    )
    records = SupervisionRecord.objects.filter(issued_on__gte=date_from, issued_on__lte=date_to)
    if org_ids is not None:
        records = records.filter(org_id__in=org_ids)
    issued = Counter(records.values_list("reason", flat=True))
    with_recs = records.exclude(recommendations="").count()
    answered = records.filter(answered_on__isnull=False).count()
    reasons = dict(SupervisionRecord.Reason.choices)
    rows: list[list[Any]] = [
        [_("routed (转送/交办)"), totals["routed"]],
        [_("routed within the time limit"), totals["clock_met:routing"]],
        [_("routed late"), totals["clock_missed:routing"]],
        [_("supervision notices issued"), sum(issued.values())],
    ]
    rows += [[f"  {reasons.get(r, r)}", n] for r, n in sorted(issued.items())]
    rows += [
        [_("recommendations made (supervision)"), with_recs],
        [_("supervision notices answered"), answered],
    ]
    return Table(
        key="supervision",
        title=_("Routing and supervision"),
        headers=[_("item"), _("number")],
        rows=rows,
    )


def _suggestions_table(
    date_from: dt.date, date_to: dt.date, org_ids: Collection[int] | None
) -> Table:
    from petitiondesk.suggestions.models import Conversion, Suggestion

    received = Suggestion.objects.filter(received_on__gte=date_from, received_on__lte=date_to)
    conversions = Conversion.objects.filter(on__gte=date_from, on__lte=date_to)
    if org_ids is not None:
        received = received.filter(org_id__in=org_ids)
        conversions = conversions.filter(suggestion__org_id__in=org_ids)
    decisions = Counter(received.exclude(decision="").values_list("decision", flat=True))
    kinds = Counter(conversions.values_list("kind", flat=True))
    S = Suggestion.Decision
    rows: list[list[Any]] = [
        [_("suggestions received"), received.count()],
        [_("decided"), sum(decisions.values())],
        [_("adopted"), decisions.get(S.ADOPTED, 0)],
        [_("partly adopted"), decisions.get(S.PARTLY_ADOPTED, 0)],
        [_("not adopted"), decisions.get(S.NOT_ADOPTED, 0)],
        [_("converted (成果转化)"), sum(kinds.values())],
    ]
    labels = dict(Conversion.Kind.choices)
    rows += [[f"  {labels.get(k, k)}", n] for k, n in sorted(kinds.items())]
    return Table(
        key="suggestions",
        title=_("People's suggestions: recommendations made and adopted"),
        sheet=_("Suggestions"),
        headers=[_("item"), _("number")],
        rows=rows,
    )


def _findings_tables(
    date_from: dt.date, date_to: dt.date, org_ids: Collection[int] | None
) -> list[Table]:
    from .hotspots import case_messages, find_hotspots
    from .repeats import repeat_matters, repeat_petitioners
    from .spikes import spikes_find

    window = (
        dt.datetime.combine(date_from, dt.time()),
        dt.datetime.combine(date_to, dt.time.max),
    )
    hotspots = find_hotspots(case_messages(date_from, date_to, org_ids), top=5, window=window)
    spikes = spikes_find(week_of=date_to, org_ids=org_ids)
    return [
        Table(
            key="hotspots",
            title=_("Hotspots"),
            headers=[
                _("rank"),
                _("heat"),
                _("place"),
                _("topic"),
                _("petitions"),
                _("petitioners"),
                _("titles"),
            ],
            rows=[
                [
                    h.rank,
                    round(h.heat, 2),
                    " ".join(x for x in (h.district, h.place) if x),
                    _value_label("topic", h.topic) if h.topic else "",
                    len(h.messages),
                    h.petitioners,
                    " / ".join(h.titles),
                ]
                for h in hotspots
            ],
            note=_("Heat score and clustering: docs/governance.md."),
        ),
        Table(
            key="spikes",
            title=_("Spikes in the last week of the period"),
            sheet=_("Spikes"),
            headers=[_("dimension"), _("value"), _("week"), _("count"), _("usual (median)"), "z"],
            rows=[
                [
                    str(DailyCount.Dimension(s.dimension).label),
                    _value_label(s.dimension, s.value),
                    s.week.isoformat(),
                    s.test.count,
                    s.test.median,
                    round(s.test.z, 1),
                ]
                for s in spikes
            ],
        ),
        Table(
            key="repeat_petitioners",
            title=_("Repeat petitioners"),
            headers=[_("petitioner"), _("cases"), _("organs"), _("last received")],
            rows=[
                [p.key, p.cases, p.orgs, p.last_on.isoformat()]
                for p in repeat_petitioners(date_from=date_from, date_to=date_to, org_ids=org_ids)
            ],
        ),
        Table(
            key="repeat_matters",
            title=_("Repeat matters"),
            headers=[_("case"), _("title"), _("raised again")],
            rows=[
                [m.tracking_number, m.title, m.repeats]
                for m in repeat_matters(date_from=date_from, date_to=date_to, org_ids=org_ids)
            ],
        ),
    ]


def report_build(
    *,
    kind: str,
    date_from: dt.date,
    date_to: dt.date,
    org: Organisation | None = None,
    today: dt.date | None = None,
) -> Report:
    """The report of `kind` over [date_from, date_to] for `org`'s subtree (None: everything).
    An organ's report hides the accusations against itself and its superiors."""
    from petitiondesk.core.clock import today as clock_today

    if kind not in KINDS:
        raise InvalidInput("invalid_input", _("unknown report %r") % kind)
    org_ids = org_subtree_ids(org.id) if org is not None else None
    org_name = org.name if org is not None else _("all organs")
    if kind == "monthly":
        title = _("Monthly petition report, %(y)d-%(m)02d") % {
            "y": date_from.year,
            "m": date_from.month,
        }
        topic_title = _("Topics")
    else:
        title = _("Annual petition report, %d") % date_from.year
        topic_title = _("Domains and topics")
    report = Report(
        kind=kind,
        date_from=date_from,
        date_to=date_to,
        org_name=org_name,
        generated_on=today or clock_today(),
        title=title,
        summary=_summary(date_from, date_to, org_ids),
    )
    report.tables = [
        _series_table(kind, date_from, date_to, org_ids),
        _value_table("topics", topic_title, "topic", date_from, date_to, org_ids),
        _value_table("divisions", _("Places (divisions)"), "division", date_from, date_to, org_ids),
        _value_table("channels", _("Channels"), "channel", date_from, date_to, org_ids),
        *_organs_table(date_from, date_to, org_ids, org.id if org is not None else None),
        _supervision_table(date_from, date_to, org_ids),
        _suggestions_table(date_from, date_to, org_ids),
        *_findings_tables(date_from, date_to, org_ids),
    ]
    return report


# --- layouts ------------------------------------------------------------------------------------


def _sheet_title(text: str, taken: set[str]) -> str:
    base = "".join(c for c in text if c not in "[]:*?/\\")[:31] or "sheet"
    name, n = base, 2
    while name in taken:
        name = f"{base[:28]} {n}"
        n += 1
    taken.add(name)
    return name


def report_xlsx(report: Report) -> bytes:
    """One summary sheet and one sheet per table; tables with a `chart` get a bar or line chart."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    taken: set[str] = set()
    ws.title = _sheet_title(_("Summary"), taken)
    ws.append([report.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("organ"), report.org_name])
    ws.append([_("period"), f"{report.date_from.isoformat()} – {report.date_to.isoformat()}"])
    ws.append([_("generated on"), report.generated_on.isoformat()])
    ws.append([])
    for label, value in report.summary:
        ws.append([label, value])
    ws.column_dimensions["A"].width = 36
    for table in report.tables:
        sheet = wb.create_sheet(_sheet_title(table.sheet or table.title, taken))
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        if table.note:
            sheet.append([])
            sheet.append([table.note])
        sheet.column_dimensions["A"].width = 30
        if table.chart and table.rows:
            chart: Any = BarChart() if table.chart == "bar" else LineChart()
            chart.title = table.title
            chart.height, chart.width = 8, 18
            last = len(table.rows) + 1
            chart.add_data(
                Reference(sheet, min_col=2, min_row=1, max_row=last), titles_from_data=True
            )
            chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=last))
            sheet.add_chart(chart, "E2")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def report_pdf(report: Report) -> bytes:
    # Imported here: WeasyPrint loads Pango, which no page needs.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class NoFetch(URLFetcher):
        """A report is self-contained: nothing is fetched."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"reports fetch nothing ({url[:60]})")

    page = render_to_string("analytics/report/report.html", {"report": report})
    return bytes(HTML(string=page, url_fetcher=NoFetch()).write_pdf())


def report_render(report: Report, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise InvalidInput("invalid_input", _("format must be xlsx or pdf"), fields={"format": fmt})
    return report_xlsx(report) if fmt == "xlsx" else report_pdf(report)


# --- the schedule -------------------------------------------------------------------------------


def _claim(path: Path) -> bool:
    """Claim the writing of `path` for this process: an exclusively created `.claim` file beside
    it, so several workers sharing the data directory write it once. A claim left by a crash
    (older than an hour, report still missing) is taken over."""
    claim = path.with_name(path.name + ".claim")
    try:
        fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        try:
            stale = time.time() - claim.stat().st_mtime > CLAIM_STALE_SECONDS
        except FileNotFoundError:
            return False
        if stale and not path.exists():
            claim.unlink(missing_ok=True)
            return _claim(path)
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    return True


def _write_once(path: Path, build: Any) -> bool:
    if path.exists() or not _claim(path):
        return False
    claim = path.with_name(path.name + ".claim")
    if path.exists():  # written and released by another worker since the check above
        claim.unlink(missing_ok=True)
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(build())
    os.replace(tmp, path)  # readers never see half a file
    claim.unlink(missing_ok=True)  # the file itself now says "done"
    return True


def reports_when_due(*, today: dt.date | None = None, directory: Path | None = None) -> list[Path]:
    """Write last month's report (and, in January, last year's) for the whole deployment into
    `<data dir>/reports/`, each once: on the 1st, or on the first run after it when the service
    was down. Returns the files this call wrote."""
    from django.conf import settings
    from django.utils import translation

    from petitiondesk.core.clock import today as clock_today

    day = today or clock_today()
    folder = directory or Path(settings.DATA_DIR) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    month = previous_month(day)
    due: list[tuple[str, str, dt.date, dt.date]] = [("monthly", month, *month_period(month))]
    if day.month == 1:
        due.append(("annual", str(day.year - 1), *year_period(day.year - 1)))
    written: list[Path] = []
    with translation.override(settings.LANGUAGE_CODE):
        for kind, label, date_from, date_to in due:
            cache: dict[str, Report] = {}

            def build(
                fmt: str,
                kind: str = kind,
                lo: dt.date = date_from,
                hi: dt.date = date_to,
                cache: dict[str, Report] = cache,
            ) -> bytes:
                if "r" not in cache:
                    cache["r"] = report_build(kind=kind, date_from=lo, date_to=hi, today=day)
                return report_render(cache["r"], fmt)

            for fmt in FORMATS:
                path = folder / f"{kind}-{label}.{fmt}"
                if _write_once(path, lambda fmt=fmt, build=build: build(fmt)):
                    log.info("report written: %s", path)
                    written.append(path)
    return written
