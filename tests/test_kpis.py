"""KPIs with versioned definitions (petitiondesk/analytics/kpis.py), against hand counts.

Seven cases are taken through the services over two periods: P = 2026-11-01..27 (27 days, up
to the frozen "today") and the previous period Q = 2026-10-05..31. Every numerator and
denominator below was counted by hand from the steps in `build`.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.apps import apps

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import org_subtree_ids
from petitiondesk.analytics.kpis import KPI_DEFINITIONS, kpis_compute, previous_period
from petitiondesk.analytics.rollup import counts_rollup
from petitiondesk.cases import services as cs
from petitiondesk.cases.models import Deadline
from petitiondesk.core.errors import InvalidInput
from petitiondesk.supervision.services import deadlines_sweep
from tests.test_analytics_rollup import register

D = dt.date.fromisoformat
P = (D("2026-11-01"), D("2026-11-27"))
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def due(case_id: int, rule: str) -> dt.date:
    return Deadline.objects.get(case_id=case_id, rule=rule).due_on


def route(clerk: User, case_id: int, on: str) -> None:
    cs.case_route(case_id=case_id, actor=clerk, to_org="K-EDU", effective_on=D(on))


def accept(handler: User, case_id: int, on: str) -> None:
    cs.case_accept(case_id=case_id, actor=handler, claim_route=6, effective_on=D(on))


def reply(handler: User, case_id: int, on: str, outcome: str) -> None:
    cs.case_reply(
        case_id=case_id, actor=handler, outcome=outcome, opinion="答复意见。", effective_on=D(on)
    )


def build(clerk: User, handler: User) -> dict[str, int]:
    ids = {}
    # A: routed, accepted, replied (support) in P; rated satisfied today.
    a = ids["a"] = register(clerk, "2026-11-02")
    route(clerk, a, "2026-11-05")
    accept(handler, a, "2026-11-10")
    reply(handler, a, "2026-11-20", "support")
    cs.case_rate(case_id=a, rating="satisfied")
    # B: routed and declined (a response, its notice clock met).
    b = ids["b"] = register(clerk, "2026-11-02")
    route(clerk, b, "2026-11-05")
    cs.case_decline(
        case_id=b,
        actor=handler,
        reason_code="out_of_scope",
        reason="不属于职责。",
        effective_on=D("2026-11-06"),
    )
    # C: never routed; routing due 11-18, missed on 11-19.
    c = ids["c"] = register(clerk, "2026-11-03")
    assert due(c, "routing") == D("2026-11-18")
    # D: received in Q, routed late (due 10-21, missed 10-22, in Q); accepted, replied (explain)
    # in P; rated dissatisfied on 11-16; review requested on 11-18.
    d = ids["d"] = register(clerk, "2026-10-06")
    assert due(d, "routing") == D("2026-10-21")
    route(clerk, d, "2026-10-27")
    accept(handler, d, "2026-11-04")
    reply(handler, d, "2026-11-12", "explain")
    with time_machine.travel(dt.datetime(2026, 11, 16, 10, tzinfo=SHANGHAI), tick=False):
        cs.case_rate(case_id=d, rating="dissatisfied")
    cs.case_request_review(case_id=d, actor=handler, effective_on=D("2026-11-18"))
    # E: routed and accepted in P; handling still running.
    e = ids["e"] = register(clerk, "2026-11-09")
    route(clerk, e, "2026-11-10")
    accept(handler, e, "2026-11-11")
    # F: accepted in September; handling due 11-16 (11-14 is a Saturday), missed 11-17.
    f = ids["f"] = register(clerk, "2026-09-10")
    route(clerk, f, "2026-09-11")
    accept(handler, f, "2026-09-15")
    assert due(f, "handling") == D("2026-11-16")
    # G: received in Q and routed on time there; its notice, due 11-05, is missed on 11-06.
    g = ids["g"] = register(clerk, "2026-10-20")
    route(clerk, g, "2026-10-21")
    assert due(g, "notice") == D("2026-11-05")
    deadlines_sweep()
    counts_rollup(lag_seconds=0)
    return ids


def figures(**kwargs: object) -> dict[str, tuple[int, int, int, int]]:
    """code → (numerator, denominator, previous numerator, previous denominator)."""
    out = {}
    for k in kpis_compute(date_from=P[0], date_to=P[1], **kwargs):  # type: ignore[arg-type]
        if k.current is None or k.previous is None:
            continue
        out[k.code] = (
            k.current.numerator,
            k.current.denominator,
            k.previous.numerator,
            k.previous.denominator,
        )
    return out


@pytest.fixture
def built(clerk_alice: User, handler_bob: User) -> dict[str, int]:
    return build(clerk_alice, handler_bob)


@pytest.mark.django_db
def test_every_count_based_kpi_matches_the_hand_count(built):
    assert figures() == {
        "on_time_routing": (3, 4, 1, 2),  # A B E met, C missed | G met, D missed
        "on_time_notice": (4, 5, 0, 0),  # A B D E met, G missed
        "on_time_handling": (2, 3, 0, 0),  # A D met, F missed
        "response": (3, 4, 1, 2),  # of A B C E registered, A B E decided | D G, D decided
        "resolution": (1, 2, 0, 0),  # A (support) of the ratings of A and D
        "satisfaction": (1, 2, 0, 0),  # A satisfied, D dissatisfied
        "review": (1, 2, 0, 0),  # D's review request, of the replies to A and D
        **figures_backlog(),
    }


def figures_backlog() -> dict[str, tuple[int, int, int, int]]:
    try:
        apps.get_model("supervision", "BacklogCase")
    except LookupError:
        return {}
    return {"backlog_resolution": (0, 0, 0, 0)}  # no backlog case in this fixture


@pytest.mark.django_db
def test_rates_are_numerator_over_denominator_and_none_without_cases(built):
    by_code = {k.code: k for k in kpis_compute(date_from=P[0], date_to=P[1])}
    routing = by_code["on_time_routing"]
    assert routing.current is not None and routing.current.rate == 0.75
    assert routing.previous is not None and routing.previous.rate == 0.5
    review = by_code["review"]
    assert review.previous is not None and review.previous.rate is None


@pytest.mark.django_db
def test_kpis_of_an_organ_count_only_the_clocks_it_owed(built):
    edu = Organisation.objects.get(code="K-EDU")
    scoped = figures(org_ids=org_subtree_ids(edu.pk))
    assert scoped["on_time_routing"] == (0, 0, 0, 0)  # routing is the petition bureau's duty
    assert scoped["on_time_handling"] == (2, 3, 0, 0)
    assert scoped["response"] == (0, 0, 0, 0)  # registered at K-XF
    xf = Organisation.objects.get(code="K-XF")
    assert figures(org_ids={xf.pk})["on_time_routing"] == (3, 4, 1, 2)


@pytest.mark.django_db
def test_kpis_of_a_division_count_only_its_cases(built, clerk_alice):
    register(clerk_alice, "2026-11-04", division_code="990102")
    counts_rollup(lag_seconds=0)
    assert figures(division="990102")["response"] == (0, 1, 0, 0)
    assert figures(division="990101")["response"] == (3, 4, 1, 2)


@pytest.mark.django_db
def test_every_figure_carries_its_definition_version_and_formula(built):
    for k in kpis_compute(date_from=P[0], date_to=P[1], version="v1"):
        assert k.version == "v1"
        assert k.formula
    assert {k.code for k in kpis_compute(date_from=P[0], date_to=P[1])} == set(
        KPI_DEFINITIONS["v1"]
    )


@pytest.mark.django_db
def test_an_unknown_version_is_refused(org_tree):
    with pytest.raises(InvalidInput):
        kpis_compute(date_from=P[0], date_to=P[1], version="v0")


def test_the_previous_period_has_the_same_length_just_before():
    assert previous_period(*P) == (D("2026-10-05"), D("2026-10-31"))


@pytest.mark.django_db
def test_backlog_resolution_counts_resolved_over_open_or_flagged(built):
    try:
        backlog = apps.get_model("supervision", "BacklogCase")
    except LookupError:
        k = next(
            k for k in kpis_compute(date_from=P[0], date_to=P[1]) if k.code == "backlog_resolution"
        )
        assert k.current is None and "unavailable" in k.note
        return
    common = {"reason": "open_too_long", "submissions": 1}
    # Open before P and resolved in it; flagged in P, still open; resolved before P (left out).
    backlog.objects.create(
        case_id=built["f"],
        flagged_on=D("2026-10-01"),
        resolved_on=D("2026-11-20"),
        state="resolved",
        **common,
    )
    backlog.objects.create(case_id=built["c"], flagged_on=D("2026-11-10"), **common)
    backlog.objects.create(
        case_id=built["g"],
        flagged_on=D("2026-09-01"),
        resolved_on=D("2026-09-30"),
        state="resolved",
        **common,
    )
    by_code = {k.code: k for k in kpis_compute(date_from=P[0], date_to=P[1])}
    fig = by_code["backlog_resolution"].current
    assert fig is not None and (fig.numerator, fig.denominator) == (1, 2)


# --- the same numbers on the dashboard, in its downloads and over the API ---------------------


@pytest.mark.django_db
def test_the_api_gives_the_kpis_with_their_version(built, api_as, supervisor_carol):
    r = api_as(supervisor_carol).get("/analytics/kpis?from=2026-11-01&to=2026-11-27")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["previous_from"] == "2026-10-05"
    routing = next(k for k in body["kpis"] if k["code"] == "on_time_routing")
    assert routing["version"] == "v1"
    assert routing["current"] == {"numerator": 3, "denominator": 4, "rate": 0.75}


@pytest.mark.django_db
def test_the_api_gives_counts_by_dimension(built, api_as, supervisor_carol):
    r = api_as(supervisor_carol).get(
        "/analytics/counts?metric=registered&dimension=channel&from=2026-11-01&to=2026-11-27"
        "&grain=week"
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["total"] == 4
    assert [(v["value"], v["n"]) for v in body["values"]] == [("letter", 4)]
    assert sum(b["n"] for b in body["series"]) == 4


@pytest.mark.django_db
def test_the_api_refuses_an_organisation_outside_the_jurisdiction(built, api_as, head_erin):
    r = api_as(head_erin).get("/analytics/kpis?org=K-XF")  # erin is the head of K-EDU
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {"org": "unknown"}


@pytest.mark.django_db
def test_the_api_refuses_a_period_that_ends_before_it_starts(built, api_as, supervisor_carol):
    r = api_as(supervisor_carol).get("/analytics/counts?from=2026-11-10&to=2026-11-01")
    assert r.status_code == 400


@pytest.mark.django_db
def test_the_dashboard_shows_each_kpi_with_its_version(built, client, supervisor_carol):
    from django.utils.translation import override

    from tests.conftest import login_verified

    login_verified(client, supervisor_carol)
    with override("en"):
        r = client.get(
            "/desk/analytics/?date_from=2026-11-01&date_to=2026-11-27", HTTP_ACCEPT_LANGUAGE="en"
        )
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-kpi="on_time_routing"' in html
    assert "3 / 4" in html
    assert 'id="dashboard-data"' in html
    assert "<script>" not in html  # no inline script (CSP)


@pytest.mark.django_db
def test_a_chart_downloads_as_the_table_it_draws(built, client, supervisor_carol):
    from tests.conftest import login_verified

    login_verified(client, supervisor_carol)
    r = client.get("/desk/analytics/export/channels.csv?date_from=2026-11-01&date_to=2026-11-27")
    assert r.status_code == 200
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[1].split(",")[0] == "letter"
    assert lines[1].split(",")[-1] == "4"
    r = client.get("/desk/analytics/export/kpis.xlsx?date_from=2026-11-01&date_to=2026-11-27")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")


@pytest.mark.django_db
def test_a_handler_may_not_open_the_dashboard(client, handler_bob):
    from tests.conftest import login_verified

    login_verified(client, handler_bob)
    assert client.get("/desk/analytics/").status_code == 403
