"""The monthly and annual reports of Art. 41 as XLSX and PDF, on demand and on schedule
(petitiondesk/analytics/reports.py, docs/governance.md)."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.utils import translation

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.analytics.reports import (
    month_period,
    report_build,
    report_pdf,
    report_xlsx,
    reports_when_due,
)
from petitiondesk.analytics.rollup import counts_rollup
from petitiondesk.cases import services as cs
from petitiondesk.cli import main
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit

D = dt.date.fromisoformat


def register(clerk: User, received_on: str, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "title": "孩子入学学位分配问题",
        "content": "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。",
        "category": "claim",
        "topic": "education",
        "division_code": "990101",
        "channel": "letter",
        "received_on": D(received_on),
        "petitioners": [PetitionerData(name="王小明", id_number="990101198001010011")],
    }
    values.update(overrides)
    return petition_submit(submission=Submission(**values), actor=clerk).case.pk


@pytest.fixture
def november(clerk_alice: User) -> dict[str, int]:
    """Four petitions registered at K-XF in November 2026: three on education (two from the same
    person, one of them routed to K-EDU), one accusation against the county government K; and
    one in October."""
    a = register(clerk_alice, "2026-11-02")
    cs.case_route(case_id=a, actor=clerk_alice, to_org="K-EDU", effective_on=D("2026-11-04"))
    b = register(clerk_alice, "2026-11-09", title="再次反映学位分配问题")
    c = register(
        clerk_alice,
        "2026-11-10",
        petitioners=[PetitionerData(name="李四", id_number="990101198502020022")],
    )
    d = register(
        clerk_alice,
        "2026-11-12",
        category="accusation",
        topic="discipline",
        accused_orgs=["K"],
        title="检举县政府工作人员违规收费",
        content="县政府某工作人员在办理业务时违规收取费用。",
        petitioners=[PetitionerData(name="赵六", id_number="990101197003030033")],
    )
    register(clerk_alice, "2026-10-20", topic="housing")
    counts_rollup(lag_seconds=0)
    return {"a": a, "b": b, "c": c, "d": d}


def monthly(org: str | None = None) -> Any:
    lo, hi = month_period("2026-11")
    return report_build(
        kind="monthly",
        date_from=lo,
        date_to=hi,
        org=Organisation.objects.get(code=org) if org else None,
    )


def cells(ws: Any) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_the_xlsx_report_has_its_sheets_figures_and_charts(november: dict[str, int]) -> None:
    with translation.override("en"):
        data = report_xlsx(monthly())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:4] == [
        "Summary",
        "Petitions registered per day",
        "Topics",
        "Places (divisions)",
    ]
    for name in (
        "Organs most accused",
        "Routing and supervision",
        "Hotspots",
        "Repeat petitioners",
    ):
        assert name in wb.sheetnames
    summary = {r[0]: r[1] for r in cells(wb["Summary"]) if r and r[0]}
    assert summary["registered"] == 4 and summary["routed (转送/交办)"] == 1
    assert cells(wb["Topics"])[1:] == [["Education (education)", 3], ["discipline", 1]]
    assert len(wb["Topics"]._charts) == 1 and len(wb["Petitions registered per day"]._charts) == 1
    days = cells(wb["Petitions registered per day"])
    assert len(days) == 31 and days[2] == ["2026-11-02", 1]
    assert cells(wb["Organs most accused"])[1] == ["示范县人民政府", 1]
    [repeat] = cells(wb["Repeat petitioners"])[1:]  # a and b: K-EDU holds a, K-XF holds b
    assert repeat[0].endswith("0011") and repeat[1:3] == [2, 2] and "1980" not in repeat[0]


def test_an_organs_report_hides_the_accusations_against_it(november: dict[str, int]) -> None:
    with translation.override("en"):
        county = {t.key: t for t in monthly("K").tables}
        city = {t.key: t for t in monthly("C").tables}
    assert county["accused"].rows == [] and "Art. 30" in county["accused"].note
    assert city["accused"].rows == [["示范县人民政府", 1]]


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return re.sub(r"\s+", "", out.stdout.decode("utf-8"))


def test_the_pdf_report_shows_the_headings_and_numbers(
    november: dict[str, int], tmp_path: Path
) -> None:
    with translation.override("en"):
        text = pdf_text(report_pdf(monthly()), tmp_path)
    for heading in (
        "Monthlypetitionreport,2026-11",
        "Topics",
        "Organsmostaccused",
        "People'ssuggestions",
        "Hotspots",
        "Repeatpetitioners",
    ):
        assert heading in text
    assert "registered4" in text and "Education(education)3" in text and "示范县人民政府1" in text


def test_the_annual_report_counts_the_whole_year(november: dict[str, int]) -> None:
    with translation.override("en"):
        report = report_build(kind="annual", date_from=D("2026-01-01"), date_to=D("2026-12-31"))
    assert report.title == "Annual petition report, 2026"
    assert dict(report.summary)["registered"] == 5
    series = next(t for t in report.tables if t.key == "series")
    assert series.rows[9:11] == [["2026-10", 1], ["2026-11", 4]]


def test_the_command_writes_the_report(november: dict[str, int], tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    assert (
        main(["report", "monthly", "--month", "2026-11", "--format", "xlsx", "--out", str(out)])
        == 0
    )
    first = openpyxl.load_workbook(out).worksheets[0]
    assert "2026-11" in first["A1"].value and first["B6"].value == 4


def test_the_command_refuses_a_bad_month(db: Any, tmp_path: Path, capsys: Any) -> None:
    assert main(["report", "monthly", "--month", "2026-13", "--out", str(tmp_path / "x")]) == 2
    assert "report: error:" in capsys.readouterr().err


def test_the_scheduled_report_is_written_once(november: dict[str, int], tmp_path: Path) -> None:
    first = reports_when_due(today=D("2026-12-01"), directory=tmp_path)
    assert sorted(p.name for p in first) == ["monthly-2026-11.pdf", "monthly-2026-11.xlsx"]
    assert reports_when_due(today=D("2026-12-01"), directory=tmp_path) == []
    assert reports_when_due(today=D("2026-12-02"), directory=tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "monthly-2026-11.pdf",
        "monthly-2026-11.xlsx",
    ]
    wb = openpyxl.load_workbook(tmp_path / "monthly-2026-11.xlsx")
    summary = {r[0]: r[1] for r in wb.worksheets[0].iter_rows(values_only=True) if r and r[0]}
    assert 4 in summary.values()


def test_another_worker_holding_the_claim_keeps_this_one_from_writing(
    db: Any, tmp_path: Path
) -> None:
    for fmt in ("xlsx", "pdf"):
        (tmp_path / f"monthly-2026-11.{fmt}.claim").write_text("4242")
    assert reports_when_due(today=D("2026-12-01"), directory=tmp_path) == []
    assert not (tmp_path / "monthly-2026-11.xlsx").exists()


def test_workers_running_together_write_each_report_once(tmp_path: Path, monkeypatch: Any) -> None:
    import threading
    import time

    from petitiondesk.analytics import reports

    rendered: list[str] = []

    def slow_build(**kwargs: Any) -> Any:
        time.sleep(0.2)  # long enough for every worker to reach the claim
        return kwargs

    def render(report: Any, fmt: str) -> bytes:
        rendered.append(fmt)
        return fmt.encode()

    monkeypatch.setattr(reports, "report_build", slow_build)
    monkeypatch.setattr(reports, "report_render", render)
    written: list[Path] = []
    workers = [
        threading.Thread(
            target=lambda: written.extend(
                reports_when_due(today=D("2026-12-01"), directory=tmp_path)
            )
        )
        for _ in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(rendered) == ["pdf", "xlsx"]
    assert sorted(p.name for p in written) == ["monthly-2026-11.pdf", "monthly-2026-11.xlsx"]


def report_url(kind: str, fmt: str) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("desk:analytics:report", args=[kind, fmt])
    except NoReverseMatch:
        pytest.skip("the report download URL is not mounted (analytics/urls.py)")


def test_a_supervisor_downloads_the_report_of_an_organ_in_the_jurisdiction(
    november: dict[str, int], supervisor_carol: User
) -> None:
    from django.test import Client

    from tests.conftest import login_verified

    client = Client()
    login_verified(client, supervisor_carol)
    url = report_url("monthly", "xlsx")
    response = client.get(url, {"period": "2026-11", "org": "K"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('monthly-2026-11-K.xlsx"')
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    accused = [list(r) for r in wb.worksheets[6].iter_rows(values_only=True)]
    assert "示范县人民政府" not in str(accused)  # the report of K hides the accusation against K
    assert client.get(url, {"period": "2026-11", "org": "P"}).status_code == 400
    assert client.get(url, {"period": "2026-13"}).status_code == 400
    assert client.get(report_url("monthly", "pdf"), {"period": "2026-11"}).content[:5] == b"%PDF-"
