"""The audit of staff reads of confidential cases and accusations (security.md): a paged list and
a CSV export, for supervisors (their jurisdiction) and admins."""

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from petitiondesk.cases.models import ReadAudit
from petitiondesk.cases.selectors import AuditFilters, read_audits

from .auth import STAFF_AUTH, staff_user
from .schemas import ERRORS, Input

router = Router(tags=["audit"])
AUDIT_PAGE_SIZE = 100


class AuditQuery(Input):
    since: dt.date | None = None
    until: dt.date | None = None
    case_id: int | None = Field(None, ge=1, le=2**63 - 1)
    username: str | None = Field(None, max_length=150)


class AuditPageQuery(AuditQuery):
    page: int = Field(1, ge=1, le=100_000)


class ReadAuditOut(Schema):
    at: dt.datetime
    username: str
    org: str | None
    case_id: int
    tracking_number: str
    view: str


class ReadAuditListOut(Schema):
    count: int
    page: int
    page_size: int
    results: list[ReadAuditOut]


def _row(r: ReadAudit) -> dict[str, Any]:
    return {
        "at": timezone.localtime(r.at),
        "username": r.user.username,
        "org": r.org.code if r.org else None,
        "case_id": r.case_id,
        "tracking_number": r.case.tracking_number,
        "view": r.view,
    }


def _filters(q: AuditQuery) -> AuditFilters:
    return AuditFilters(since=q.since, until=q.until, case_id=q.case_id, username=q.username)


@router.get(
    "/audit/reads",
    response={200: ReadAuditListOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Reads of confidential cases",
)
def reads(request: HttpRequest, q: Query[AuditPageQuery]) -> dict[str, Any]:
    qs = read_audits(staff_user(request), _filters(q))
    start = (q.page - 1) * AUDIT_PAGE_SIZE
    return {
        "count": qs.count(),
        "page": q.page,
        "page_size": AUDIT_PAGE_SIZE,
        "results": [_row(r) for r in qs[start : start + AUDIT_PAGE_SIZE]],
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = ("at", "username", "org", "case_id", "tracking_number", "view")


@router.get(
    "/audit/reads.csv",
    response={200: None, **ERRORS},
    auth=STAFF_AUTH,
    summary="Reads of confidential cases, as CSV",
)
def reads_csv(request: HttpRequest, q: Query[AuditQuery]) -> StreamingHttpResponse:
    qs = read_audits(staff_user(request), _filters(q))
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield "\ufeff"  # so spreadsheet programs read the UTF-8 as such
        yield writer.writerow(CSV_COLUMNS)
        for r in qs.iterator(chunk_size=2000):
            row = _row(r)
            row["at"] = row["at"].isoformat()
            yield writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="read-audit.csv"'
    return response
