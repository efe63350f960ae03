"""bench/generate.py writes rows the application reads back as its own: a small run through the
same code path as the 100,000-case bench, read back through the API and the services."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from petitiondesk.accounts.models import User
from petitiondesk.cases import services as cs
from petitiondesk.cases.deadlines import outstanding_breach
from petitiondesk.cases.models import Case, CaseEvent, Deadline
from petitiondesk.cases.selectors import CaseFilters, case_list
from petitiondesk.core import clock
from petitiondesk.supervision.models import SupervisionRecord
from petitiondesk.supervision.services import deadlines_sweep

from .conftest import Api

BENCH = Path(__file__).resolve().parent.parent / "bench" / "generate.py"
N = 200


def _generate_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def generated(db: Any) -> dict[str, Any]:
    gen = _generate_module()
    return gen.generate(cases=N, seed=7, batch=60, analyze=False, progress=lambda _line: None)


def test_generated_rows_read_back_through_api_and_services(generated: dict[str, Any]) -> None:
    assert generated["cases"] == N == Case.objects.count()
    statuses = Counter(Case.objects.values_list("status", flat=True))
    assert statuses[Case.Status.CLOSED] > statuses[Case.Status.ACCEPTED]  # mostly done matters
    assert len(statuses) >= 6
    today = clock.today()

    # Every clock that ran out is already missed: the sweep of today finds nothing to do, and the
    # overdue flag, the overdue events and the supervision records agree with the clocks.
    assert deadlines_sweep(today=today) == 0
    for case in Case.objects.prefetch_related("deadlines"):
        deadlines = list(case.deadlines.all())
        assert case.is_overdue == outstanding_breach(deadlines), case.pk
        assert all(d.due_on >= today for d in deadlines if d.state == Deadline.State.OPEN)
    missed_duty = Deadline.objects.filter(duty=True, state=Deadline.State.MISSED).count()
    assert SupervisionRecord.objects.count() == missed_duty
    assert CaseEvent.objects.filter(verb="overdue").count() == missed_duty
    assert Case.objects.filter(is_overdue=True).exists()
    assert Case.objects.filter(confidential=True).exists()
    assert Case.objects.filter(accused_orgs__isnull=False).exists()

    # The timeline of each case is a chain: each step starts where the previous one ended.
    for case in Case.objects.all()[:80]:
        status = ""
        for event in case.events.exclude(to_status=""):
            assert event.from_status == status, (case.pk, event.verb)
            status = event.to_status
        assert status == case.status, case.pk

    # The API answers with the generated deadlines and events.
    reader = User.objects.get(username="jn-gov-handler")  # the province government: sees all
    api = Api(reader)
    picks = [
        Case.objects.filter(is_overdue=True).first(),
        Case.objects.filter(status=Case.Status.CLOSED).first(),
        Case.objects.filter(category=Case.Category.ACCUSATION).first(),
        Case.objects.exclude(status__in=[Case.Status.CLOSED]).order_by("-id").first(),
    ]
    for case in picks:
        assert case is not None
        r = api.get(f"/petitions/{case.pk}")
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["tracking_number"] == case.tracking_number
        assert body["status"] == case.status
        rows = list(case.deadlines.order_by("id"))
        assert [(d["rule"], d["due_on"], d["state"]) for d in body["deadlines"]] == [
            (d.rule, d.due_on.isoformat(), d.state) for d in rows
        ]
        assert [e["verb"] for e in body["events"]] == list(
            case.events.order_by("id").values_list("verb", flat=True)
        )
        assert body["events"][0]["verb"] == "register"
    assert api.get(f"/petitions?page=2&status={Case.Status.CLOSED}").status_code == 200

    # Staff scopes see their share through the selectors (a county clerk less than the city).
    _rows, county = case_list(User.objects.get(username="yx-xf-clerk"), CaseFilters())
    _rows, city = case_list(User.objects.get(username="qh-gov-supervisor"), CaseFilters())
    assert 0 < county < city <= N

    # A generated case carries on through the services: the holder replies to an accepted case.
    accepted = (
        Case.objects.filter(status=Case.Status.ACCEPTED, is_overdue=False)
        .exclude(category=Case.Category.ACCUSATION)
        .first()
    )
    if accepted is not None:
        handler = User.objects.filter(org_id=accepted.org_id, role=User.Role.HANDLER).first()
        assert handler is not None
        case = cs.case_reply(
            case_id=accepted.pk, actor=handler, outcome="explain", opinion="已当面解释。"
        )
        assert case.status == Case.Status.REPLIED
