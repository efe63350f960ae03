"""The worked examples E1–E8 of domain.md, end to end through the HTTP API with effective dates."""

from typing import Any

import pytest

from tests.conftest import letter

pytestmark = pytest.mark.django_db


def deadline(body: dict[str, Any], rule: str) -> dict[str, Any]:
    [found] = [d for d in body["deadlines"] if d["rule"] == rule and d["state"] != "void"][-1:]
    return found


@pytest.fixture
def staff(api_as, clerk_alice, handler_bob, head_erin, handler_frank, handler_grace):
    return {
        "clerk": api_as(clerk_alice),
        "bob": api_as(handler_bob),
        "frank": api_as(handler_frank),
        "grace": api_as(handler_grace),
    }


def submit(staff, **overrides) -> dict[str, Any]:
    r = staff["clerk"].post("/petitions", letter(**overrides))
    assert r.status_code == 201, r.content
    return r.json()


def test_e1_routing_due_fifteen_days_after_receipt(staff):
    body = submit(staff, received_on="2026-09-28")
    assert deadline(body, "routing")["due_on"] == "2026-10-13"


def test_e2_routing_due_on_a_holiday_rolls_to_the_next_working_day(staff):
    body = submit(staff, received_on="2026-09-16")
    assert deadline(body, "routing")["due_on"] == "2026-10-08"


def test_e3_objection_within_five_working_days_counting_a_make_up_saturday(staff):
    case = submit(staff, received_on="2026-09-28")
    r = staff["clerk"].act(case["id"], "route", to_org="K-EDU", effective_on="2026-09-29")
    assert r.status_code == 200, r.content
    assert deadline(r.json(), "objection")["due_on"] == "2026-10-12"
    late = staff["bob"].act(
        case["id"], "object", reason="不属于本单位职责", effective_on="2026-10-13"
    )
    assert late.status_code == 422
    assert late.json()["error"]["code"] == "late"
    ok = staff["bob"].act(
        case["id"], "object", reason="不属于本单位职责", effective_on="2026-10-12"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "registered"
    assert ok.json()["org"] == "K-XF"


def routed_and_accepted(staff, *, received_on: str, accepted_on: str) -> dict[str, Any]:
    case = submit(staff, received_on=received_on)
    r = staff["clerk"].act(case["id"], "route", to_org="K-EDU", effective_on=received_on)
    assert r.status_code == 200, r.content
    r = staff["bob"].act(case["id"], "accept", claim_route=6, effective_on=accepted_on)
    assert r.status_code == 200, r.content
    return r.json()


def test_e4_handling_due_sixty_days_after_acceptance_rolled_past_labour_day(staff):
    body = routed_and_accepted(staff, received_on="2026-02-26", accepted_on="2026-03-02")
    assert body["status"] == "accepted"
    assert deadline(body, "handling")["due_on"] == "2026-05-06"


def test_e5_an_extension_is_added_to_the_nominal_due_date(staff):
    body = routed_and_accepted(staff, received_on="2026-03-05", accepted_on="2026-03-10")
    assert deadline(body, "handling")["due_on"] == "2026-05-09"  # a make-up Saturday stands
    r = staff["bob"].act(
        body["id"],
        "extend",
        days=30,
        reason="需要现场调查核实",
        approved_by="erin",
        petitioner_notified_on="2026-05-04",
        effective_on="2026-05-04",
    )
    assert r.status_code == 200, r.content
    assert deadline(r.json(), "handling")["due_on"] == "2026-06-08"
    assert r.json()["extension_days"] == 30


def replied(staff, *, delivered_on: str) -> dict[str, Any]:
    body = routed_and_accepted(staff, received_on="2026-04-01", accepted_on="2026-04-03")
    r = staff["bob"].act(
        body["id"],
        "reply",
        outcome="explain",
        opinion="经核查，学位分配符合划片规定。",
        delivered_on=delivered_on,
        effective_on="2026-05-29",
    )
    assert r.status_code == 200, r.content
    assert deadline(r.json(), "review_request")["due_on"] == "2026-07-01"
    return r.json()


def test_e6_a_review_requested_on_the_last_day_of_the_window_is_on_time(staff):
    body = replied(staff, delivered_on="2026-06-01")
    r = staff["frank"].act(body["id"], "request_review", to_org="K", effective_on="2026-07-01")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "under_review"
    assert r.json()["org"] == "K"


def test_e6_a_review_requested_a_day_after_the_window_is_late(staff):
    body = replied(staff, delivered_on="2026-06-01")
    r = staff["frank"].act(body["id"], "request_review", to_org="K", effective_on="2026-07-02")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "late"


def test_e7_hearing_days_are_added_to_the_rereview_clock_and_the_matter_becomes_final(staff):
    body = replied(staff, delivered_on="2026-06-01")
    cid = body["id"]
    assert (
        staff["frank"].act(cid, "request_review", to_org="K", effective_on="2026-06-20").status_code
        == 200
    )
    r = staff["frank"].act(
        cid,
        "decide_review",
        outcome="not_support",
        opinion="维持原处理意见。",
        delivered_on="2026-09-15",
        effective_on="2026-09-14",
    )
    assert r.status_code == 200, r.content
    r = staff["grace"].act(cid, "request_rereview", to_org="C", effective_on="2026-10-12")
    assert r.status_code == 200, r.content
    assert deadline(r.json(), "rereview_decision")["due_on"] == "2026-11-11"
    r = staff["grace"].act(
        cid, "hearing", **{"from": "2026-10-26", "to": "2026-10-30"}, effective_on="2026-10-20"
    )
    assert r.status_code == 200, r.content
    assert deadline(r.json(), "rereview_decision")["due_on"] == "2026-11-16"
    r = staff["grace"].act(
        cid,
        "decide_rereview",
        outcome="not_support",
        opinion="复核维持。",
        effective_on="2026-11-16",
    )
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "final"
    assert deadline(r.json(), "rereview_decision")["state"] == "met"


def test_e8_twelve_people_may_not_send_six_representatives(staff):
    r = staff["clerk"].post(
        "/petitions", letter(channel="visit", people_count=12, representatives=6)
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "too_many_representatives"
    ok = staff["clerk"].post(
        "/petitions", letter(channel="visit", people_count=12, representatives=5)
    )
    assert ok.status_code == 201


def test_an_accusation_against_the_county_government_reaches_the_county_discipline_organ(staff):
    """Discipline organs are not subordinates of the government they watch."""
    case = submit(staff, category="accusation", accused_orgs=["K"], title="举报县政府违规发放补贴")
    r = staff["clerk"].act(case["id"], "route", to_org="K-JW", mode="to_discipline")
    assert r.status_code == 200, r.content
    refused = submit(
        staff, category="accusation", accused_orgs=["K"], title="举报县政府违规发放补贴二"
    )
    r = staff["clerk"].act(refused["id"], "route", to_org="K-EDU")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "confidential_to_accused"


def test_an_appeal_cannot_be_dated_before_the_opinion_was_delivered(staff):
    body = replied(staff, delivered_on="2026-06-01")  # decided 2026-05-29, delivered 06-01
    r = staff["frank"].act(body["id"], "request_review", to_org="K", effective_on="2026-05-30")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "date_before_previous_step"
