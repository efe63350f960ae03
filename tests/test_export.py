"""The work-list export as XLSX: the same rows, columns and redactions as the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from django.test import Client

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import user_add
from petitiondesk.cases import services
from tests.test_access_matrix import register

pytestmark = pytest.mark.django_db


def page(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(client: Client, query: str) -> list[list[str]]:
    r = client.get(f"/desk/export.csv?{query}")
    assert r.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))


def xlsx_rows(client: Client, query: str) -> list[list[str]]:
    """The workbook's cells written as the CSV writes them."""
    r = client.get(f"/desk/export.xlsx?{query}")
    assert r.status_code == 200
    assert r["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert r["Content-Disposition"].startswith("attachment") and ".xlsx" in r["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return value.date().isoformat()  # a date cell reads back as a datetime
        return str(value)

    return [[text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]


@pytest.fixture
def cases(clerk_alice: User) -> dict[str, int]:
    """A claim routed to the education bureau, a formula-like title, and an accusation against the
    housing bureau."""
    claim, _tn, _key = register(clerk_alice, received_on="2026-11-20")
    services.case_route(
        case_id=claim, actor=clerk_alice, to_org="K-EDU", effective_on=dt.date(2026, 11, 23)
    )
    formula, _tn, _key = register(clerk_alice, title="=HYPERLINK(1)", content="公式样的标题")
    accusation, _tn, _key = register(
        clerk_alice,
        received_on="2026-09-01",
        category="accusation",
        accused_orgs=["K-HOUSING"],
        title="举报住建局违规审批保障房",
        content="县住建局在保障房分配中违规审批。",
    )
    return {"claim": claim, "formula": formula, "accusation": accusation}


def test_the_xlsx_export_holds_exactly_the_csv_rows(clerk_alice: User, cases: dict[str, int]):
    client = page(clerk_alice)
    for query in ("list=all", "list=all&category=accusation", "list=all&sort=title"):
        assert xlsx_rows(client, query) == csv_rows(client, query), query
    rows = csv_rows(client, "list=all")
    assert {int(r[0]) for r in rows[1:]} == set(cases.values())
    assert "'=HYPERLINK(1)" in [r[2] for r in rows]  # text, never a formula, in both formats


def test_the_accused_organ_exports_neither_format_with_the_accusation(
    clerk_alice: User, cases: dict[str, int]
):
    housing = user_add(username="hank", org_code="K-HOUSING", role="head")
    client = page(housing)
    rows = xlsx_rows(client, "list=all")
    assert rows == csv_rows(client, "list=all")
    assert str(cases["accusation"]) not in {r[0] for r in rows[1:]}
    assert "举报住建局违规审批保障房" not in str(rows)


def test_the_list_page_links_both_exports(handler_bob: User, cases: dict[str, int]):
    r = page(handler_bob).get("/desk/?list=all&category=claim")
    html = r.content.decode()
    assert "/desk/export.csv?list=all&amp;category=claim" in html
    assert "/desk/export.xlsx?list=all&amp;category=claim" in html
    # The handler's export holds the routed claim only: the county bureau's other letters are not
    # theirs to read.
    assert [int(r[0]) for r in xlsx_rows(page(handler_bob), "list=all")[1:]] == [cases["claim"]]
