"""Every case verb through `POST /api/v1/petitions/{id}/actions/{verb}` (api.md, domain.md §4).

Happy paths check the resulting status, holder, deadlines and the `CaseEvent` written; refusals check
the HTTP status, the error code and that nothing at all was stored (a DB snapshot before and after).

Dates use the worked examples of domain.md §5 where one fits (E3, E4, E5, E6, E7); "today" is frozen
at Friday 2026-11-27 by conftest.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
import time_machine
from django.db.models import Q

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import user_add
from petitiondesk.cases import services
from petitiondesk.cases.models import Case, CaseEvent, CaseLink, Deadline
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from tests.conftest import ACTION_VERBS, letter

BEIJING = dt.timezone(dt.timedelta(hours=8))
# The usual timeline: every petitioner window is still open on 2026-11-27.
RECENT = {
    "received": "2026-09-28",
    "route": "2026-09-29",
    "accept": "2026-10-09",
    "reply": "2026-10-30",
    "request_review": "2026-11-02",
    "decide_review": "2026-11-05",
    "request_rereview": "2026-11-09",
    "decide_rereview": "2026-11-25",
}
# E7: a re-review request received on 2026-10-12.
E7_TIMELINE = {
    "received": "2026-08-03",
    "route": "2026-08-04",
    "accept": "2026-08-05",
    "reply": "2026-08-20",
    "request_review": "2026-09-01",
    "decide_review": "2026-09-20",
    "request_rereview": "2026-10-12",
}
# E6: a handling opinion delivered 2026-06-01; the review window ends 2026-07-01.
E6_TIMELINE = {
    "received": "2026-05-06",
    "route": "2026-05-07",
    "accept": "2026-05-08",
    "reply": "2026-06-01",
}
# A review opinion delivered 2026-10-20: the re-review window ended Thursday 11-19.
EARLY_REVIEW = {
    "reply": "2026-10-12",
    "request_review": "2026-10-14",
    "decide_review": "2026-10-20",
}
STEPS = (
    "route",
    "accept",
    "reply",
    "request_review",
    "decide_review",
    "request_rereview",
    "decide_rereview",
)
_serial = itertools.count(1)


# --- helpers ----------------------------------------------------------------------------------


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    return response.json()


def opinion(on: str, outcome: str = "explain") -> dict[str, Any]:
    return {
        "outcome": outcome,
        "opinion": "经核查，学位分配符合政策。",
        "effective_on": on,
        "delivered_on": on,
    }


def deadlines_in_db(case_id: int) -> list[tuple[str, str, str]]:
    return [
        (d.rule, d.due_on.isoformat(), d.state)
        for d in Deadline.objects.filter(case_id=case_id).order_by("id")
    ]


def deadlines_in(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(d["rule"], d["due_on"], d["state"]) for d in body["deadlines"]]


def events_of(case_id: int, verb: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case_id=case_id, verb=verb))


def snapshot(case_id: int) -> dict[str, Any]:
    """Everything a verb may write, read back from the database."""
    case = Case.objects.values(
        "status",
        "version",
        "org_id",
        "routed_by_org_id",
        "handled_by_org_id",
        "last_effective_on",
        "category",
        "claim_route",
        "outcome",
        "rating",
        "extension_days",
        "assignee_id",
    ).get(pk=case_id)
    deadlines = list(
        Deadline.objects.filter(case_id=case_id)
        .order_by("id")
        .values(
            "id", "rule", "start_on", "due_on", "state", "done_on", "extension_days", "hearing_days"
        )
    )
    return {
        "case": case,
        "deadlines": deadlines,
        "events": CaseEvent.objects.filter(case_id=case_id).count(),
        "links": CaseLink.objects.filter(Q(case_id=case_id) | Q(other_id=case_id)).count(),
    }


def assert_refused(
    response: Any, status: int, code: str, case_id: int, before: dict[str, Any]
) -> dict[str, Any]:
    """The refusal has the documented shape and stored nothing."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert isinstance(error["fields"], dict)
    assert snapshot(case_id) == before
    return error


class Desk:
    """The personas of conftest as API clients, and a way to walk a case along the lifecycle."""

    def __init__(self, api_as: Any, **users: User) -> None:
        self.api_as = api_as
        self.users = users
        self.public = api_as()
        self.keys: dict[int, tuple[str, str]] = {}

    def __getattr__(self, name: str) -> Any:
        """`desk.bob` is bob's API client, made (with a token) on first use."""
        if name not in self.__dict__.get("users", {}):
            raise AttributeError(name)
        client = self.api_as(self.users[name])
        setattr(self, name, client)
        return client

    def register(self, **overrides: Any) -> int:
        """A claim letter registered by clerk alice at the county petition bureau (K-XF), set up
        through the intake service (submission over HTTP is tested in test_api_input)."""
        n = next(_serial)
        body = letter(
            content=f"第{n}号来信：户籍在本学区却被分配到十公里外的学校，请求重新分配学位。"
        )
        body.update(overrides)
        body["petitioners"] = [PetitionerData(**p) for p in body.get("petitioners", [])]
        if body.get("received_on"):
            body["received_on"] = dt.date.fromisoformat(body["received_on"])
        receipt = petition_submit(submission=Submission(**body), actor=self.users["alice"])
        if receipt.access_key:
            self.keys[receipt.case.pk] = (receipt.case.tracking_number, receipt.access_key)
        return receipt.case.pk

    def step(self, case_id: int, verb: str, on: str, category: str = "claim") -> None:
        """One standard step, set up through the service (the verb tests go through HTTP)."""
        actor, service, kwargs = {
            "route": ("alice", services.case_route, {"to_org": "K-EDU"}),
            "accept": (
                "bob",
                services.case_accept,
                {"claim_route": 6 if category == "claim" else None},
            ),
            "reply": ("bob", services.case_reply, opinion(on)),
            "request_review": ("bob", services.case_request_review, {"to_org": "K"}),
            "decide_review": ("frank", services.case_decide_review, opinion(on)),
            "request_rereview": ("frank", services.case_request_rereview, {"to_org": "C"}),
            "decide_rereview": ("grace", services.case_decide_rereview, opinion(on, "not_support")),
        }[verb]
        kwargs = {**kwargs, "effective_on": on}
        for name in ("effective_on", "delivered_on"):
            if name in kwargs:
                kwargs[name] = dt.date.fromisoformat(kwargs[name])
        service(case_id=case_id, actor=self.users[actor], **kwargs)

    def drive(self, until: str | None, *, letter_overrides: Any = None, **dates: str) -> int:
        """Register a case and perform the standard steps up to and including `until`."""
        timeline = {**RECENT, **dates}
        overrides = dict(letter_overrides or {})
        case_id = self.register(received_on=timeline["received"], **overrides)
        category = overrides.get("category", "claim")
        for verb in STEPS[: STEPS.index(until) + 1] if until else ():
            self.step(case_id, verb, timeline[verb], category)
        return case_id


@pytest.fixture
def head_ivan(org_tree: None) -> User:
    """A head of an organ that has nothing to do with the education cases (K-HOUSING)."""
    return user_add(username="ivan", org_code="K-HOUSING", role="head")


@pytest.fixture
def analyst_hank(org_tree: None) -> User:
    return user_add(username="hank", org_code="C", role="analyst")


@pytest.fixture
def desk(
    api_as: Any,
    clerk_alice: User,
    handler_bob: User,
    head_erin: User,
    handler_frank: User,
    handler_grace: User,
    supervisor_carol: User,
) -> Desk:
    return Desk(
        api_as,
        alice=clerk_alice,
        bob=handler_bob,
        erin=head_erin,
        frank=handler_frank,
        grace=handler_grace,
        carol=supervisor_carol,
    )


# --- happy paths, one per verb ----------------------------------------------------------------


def test_route_forwards_a_registered_letter_and_starts_notice_and_objection_clocks(desk):
    case_id = desk.register()

    body = ok(desk.alice.act(case_id, "route", to_org="K-EDU", effective_on="2026-09-29"))

    assert body["status"] == "routed"
    assert body["org"] == "K-EDU"
    # E1 routing clock met; notice 09-29 + 15; objection E3: 5 working days after 09-29.
    expected = [
        ("routing", "2026-10-13", "met"),
        ("notice", "2026-10-14", "open"),
        ("objection", "2026-10-12", "open"),
    ]
    assert deadlines_in(body) == expected
    assert deadlines_in_db(case_id) == expected
    [event] = events_of(case_id, "route")
    assert (event.from_status, event.to_status) == ("registered", "routed")
    assert event.payload["to_org"] == "K-EDU"
    assert event.effective_on.isoformat() == "2026-09-29"
    assert Case.objects.get(pk=case_id).routed_by_org.code == "K-XF"


def test_an_anonymous_matter_routed_to_an_organ_carries_no_notice_duty(desk):
    """domain.md §2: anonymous submissions get no query code and no notice duty."""
    case_id = desk.register(anonymous=True, petitioners=[])

    body = ok(desk.alice.act(case_id, "route", to_org="K-EDU", effective_on="2026-09-29"))

    assert body["status"] == "routed"
    assert ("objection", "2026-10-12", "open") in deadlines_in(body)
    assert not Deadline.objects.filter(case_id=case_id, rule="notice", duty=True).exists()


def test_route_in_assign_mode_starts_an_assignment_clock_on_the_given_date(desk):
    case_id = desk.register()

    body = ok(
        desk.alice.act(
            case_id,
            "route",
            to_org="K-EDU",
            mode="assign",
            assign_due_on="2026-10-20",
            effective_on="2026-09-29",
        )
    )

    assert body["status"] == "routed"
    assert ("assignment", "2026-10-20", "open") in deadlines_in(body)
    assert events_of(case_id, "route")[0].payload["assign_due_on"] == "2026-10-20"


def test_object_on_the_last_working_day_sends_the_case_back_to_the_router(desk):
    case_id = desk.drive("route")

    r = desk.bob.act(case_id, "object", reason="本事项应由住建局办理。", effective_on="2026-10-12")

    body = ok(r)
    assert body["status"] == "registered"
    assert body["org"] == "K-XF"
    expected = [
        ("routing", "2026-10-13", "met"),
        ("notice", "2026-10-14", "void"),
        ("objection", "2026-10-12", "met"),
        ("routing", "2026-10-27", "open"),  # a fresh routing clock for the router
    ]
    assert deadlines_in(body) == expected
    assert deadlines_in_db(case_id) == expected
    [event] = events_of(case_id, "object")
    assert (event.from_status, event.to_status) == ("routed", "registered")
    assert event.payload["back_to"] == "K-XF"


def test_accept_a_claim_as_route_6_settles_the_notice_and_starts_the_handling_clock(desk):
    case_id = desk.drive("route")

    body = ok(desk.bob.act(case_id, "accept", claim_route=6, effective_on="2026-10-09"))

    assert body["status"] == "accepted"
    assert body["org"] == "K-EDU"
    assert body["claim_route"] == 6
    expected = [
        ("routing", "2026-10-13", "met"),
        ("notice", "2026-10-14", "met"),
        ("objection", "2026-10-12", "void"),
        ("handling", "2026-12-08", "open"),  # 10-09 + 60 days, a Tuesday
    ]
    assert deadlines_in(body) == expected
    assert deadlines_in_db(case_id) == expected
    [event] = events_of(case_id, "accept")
    assert (event.from_status, event.to_status) == ("routed", "accepted")
    assert event.payload["claim_route"] == 6


def test_accept_a_letter_received_directly_by_the_organ_from_registered(desk):
    case_id = desk.register(to_org="K-EDU")  # received 2026-09-28: notice due 10-13

    body = ok(desk.bob.act(case_id, "accept", claim_route=6, effective_on="2026-10-09"))

    assert body["status"] == "accepted"
    assert body["org"] == "K-EDU"
    assert deadlines_in(body) == [
        ("notice", "2026-10-13", "met"),
        ("handling", "2026-12-08", "open"),
    ]
    assert events_of(case_id, "accept")[0].from_status == "registered"


def test_handling_clock_of_a_claim_accepted_on_march_2_rolls_past_labour_day_to_may_6(desk):
    """E4."""
    case_id = desk.drive("route", received="2026-02-27", route="2026-03-02")

    body = ok(desk.bob.act(case_id, "accept", claim_route=6, effective_on="2026-03-02"))

    assert ("handling", "2026-05-06", "open") in deadlines_in(body)


def test_accept_with_claim_route_1_to_5_diverts_the_claim_without_a_handling_clock(desk):
    case_id = desk.drive("route")

    body = ok(desk.bob.act(case_id, "accept", claim_route=2, effective_on="2026-10-09"))

    assert body["status"] == "diverted"
    assert body["claim_route"] == 2
    assert "handling" not in [rule for rule, _, _ in deadlines_in(body)]
    [event] = events_of(case_id, "accept")
    assert event.to_status == "diverted"
    assert "仲裁" in event.payload["procedure"]


def test_decline_marks_the_case_not_accepted_and_settles_the_notice_clock(desk):
    case_id = desk.drive("route")

    body = ok(
        desk.bob.act(
            case_id,
            "decline",
            reason_code="out_of_scope",
            reason="不属于本机关职责范围。",
            effective_on="2026-10-09",
        )
    )

    assert body["status"] == "not_accepted"
    assert body["org"] == "K-EDU"
    expected = [
        ("routing", "2026-10-13", "met"),
        ("notice", "2026-10-14", "met"),
        ("objection", "2026-10-12", "void"),
    ]
    assert deadlines_in(body) == expected
    assert deadlines_in_db(case_id) == expected
    [event] = events_of(case_id, "decline")
    assert (event.from_status, event.to_status) == ("routed", "not_accepted")
    assert event.payload["reason_code"] == "out_of_scope"


def test_extend_by_30_days_approved_and_notified_moves_the_handling_due_date(desk):
    """E5: accepted 2026-03-10 (due 05-09, a make-up workday), extended on 05-04 → 06-08."""
    case_id = desk.drive("accept", received="2026-03-05", route="2026-03-06", accept="2026-03-10")
    assert ("handling", "2026-05-09", "open") in deadlines_in_db(case_id)

    body = ok(
        desk.bob.act(
            case_id,
            "extend",
            days=30,
            reason="需要实地核查学区划分。",
            approved_by="erin",
            petitioner_notified_on="2026-05-04",
            effective_on="2026-05-04",
        )
    )

    assert body["status"] == "accepted"
    assert body["org"] == "K-EDU"
    assert body["extension_days"] == 30
    assert ("handling", "2026-06-08", "open") in deadlines_in(body)
    assert ("handling", "2026-06-08", "open") in deadlines_in_db(case_id)
    [event] = events_of(case_id, "extend")
    assert event.payload["approved_by"] == "erin"
    assert event.payload["due_on"] == "2026-06-08"
    assert (event.from_status, event.to_status) == ("accepted", "accepted")


def test_reply_settles_handling_and_opens_the_review_and_rating_windows(desk):
    case_id = desk.drive("accept")

    body = ok(desk.bob.act(case_id, "reply", **opinion("2026-10-30")))

    assert body["status"] == "replied"
    assert body["org"] == "K-EDU"
    assert body["outcome"] == "explain"
    # 10-30 + 30 = Sunday 11-29 → Monday 11-30.
    assert deadlines_in(body)[-3:] == [
        ("handling", "2026-12-08", "met"),
        ("review_request", "2026-11-30", "open"),
        ("rating", "2026-11-30", "open"),
    ]
    assert deadlines_in_db(case_id) == deadlines_in(body)
    [event] = events_of(case_id, "reply")
    assert (event.from_status, event.to_status) == ("accepted", "replied")
    assert event.payload["delivered_on"] == "2026-10-30"
    assert Case.objects.get(pk=case_id).handled_by_org.code == "K-EDU"


def test_request_review_to_the_county_government_moves_the_case_there(desk):
    case_id = desk.drive("reply")

    body = ok(desk.bob.act(case_id, "request_review", to_org="K", effective_on="2026-11-02"))

    assert body["status"] == "under_review"
    assert body["org"] == "K"
    assert deadlines_in(body)[-3:] == [
        ("review_request", "2026-11-30", "met"),
        ("rating", "2026-11-30", "void"),
        ("review_decision", "2026-12-02", "open"),
    ]
    assert deadlines_in_db(case_id) == deadlines_in(body)
    [event] = events_of(case_id, "request_review")
    assert (event.from_status, event.to_status) == ("replied", "under_review")
    assert event.payload["to_org"] == "K"


def test_decide_review_opens_the_rereview_and_rating_windows(desk):
    case_id = desk.drive("request_review")

    body = ok(desk.frank.act(case_id, "decide_review", **opinion("2026-11-05", "support")))

    assert body["status"] == "reviewed"
    assert body["org"] == "K"
    assert body["outcome"] == "support"
    # 11-05 + 30 = Saturday 12-05 → Monday 12-07.
    assert deadlines_in(body)[-3:] == [
        ("review_decision", "2026-12-02", "met"),
        ("rereview_request", "2026-12-07", "open"),
        ("rating", "2026-12-07", "open"),
    ]
    assert deadlines_in_db(case_id) == deadlines_in(body)
    [event] = events_of(case_id, "decide_review")
    assert (event.from_status, event.to_status) == ("under_review", "reviewed")
    assert Case.objects.get(pk=case_id).handled_by_org.code == "K"


def test_request_rereview_to_the_city_government_moves_the_case_there(desk):
    case_id = desk.drive("decide_review")

    body = ok(desk.frank.act(case_id, "request_rereview", to_org="C", effective_on="2026-11-09"))

    assert body["status"] == "under_rereview"
    assert body["org"] == "C"
    assert deadlines_in(body)[-3:] == [
        ("rereview_request", "2026-12-07", "met"),
        ("rating", "2026-12-07", "void"),
        ("rereview_decision", "2026-12-09", "open"),
    ]
    assert deadlines_in_db(case_id) == deadlines_in(body)
    [event] = events_of(case_id, "request_rereview")
    assert (event.from_status, event.to_status) == ("reviewed", "under_rereview")
    assert event.payload["to_org"] == "C"


def test_hearing_days_are_added_to_the_rereview_clock(desk):
    """E7: re-review received 2026-10-12 (due 11-11), hearing 10-26..10-30 → 2026-11-16."""
    case_id = desk.drive("request_rereview", **E7_TIMELINE)
    assert deadlines_in_db(case_id)[-1] == ("rereview_decision", "2026-11-11", "open")

    r = desk.grace.post(
        f"/petitions/{case_id}/actions/hearing",
        {"from": "2026-10-26", "to": "2026-10-30", "effective_on": "2026-10-30"},
    )

    body = ok(r)
    assert body["status"] == "under_rereview"
    assert body["org"] == "C"
    assert deadlines_in(body)[-1] == ("rereview_decision", "2026-11-16", "open")
    assert deadlines_in_db(case_id)[-1] == ("rereview_decision", "2026-11-16", "open")
    [event] = events_of(case_id, "hearing")
    assert event.payload["days"] == 5
    assert (event.from_status, event.to_status) == ("under_rereview", "under_rereview")


def test_decide_rereview_makes_the_matter_final_with_no_further_appeal_window(desk):
    case_id = desk.drive("request_rereview")

    body = ok(desk.grace.act(case_id, "decide_rereview", **opinion("2026-11-25", "not_support")))

    assert body["status"] == "final"
    assert body["org"] == "C"
    assert deadlines_in(body)[-2:] == [
        ("rereview_decision", "2026-12-09", "met"),
        ("rating", "2026-12-25", "open"),
    ]
    assert deadlines_in_db(case_id) == deadlines_in(body)
    open_windows = [
        rule
        for rule, _, state in deadlines_in(body)
        if state == "open" and rule.endswith("_request")
    ]
    assert open_windows == []
    [event] = events_of(case_id, "decide_rereview")
    assert (event.from_status, event.to_status) == ("under_rereview", "final")


def test_close_after_the_review_window_lapsed_marks_the_window_missed(desk):
    case_id = desk.drive("reply", reply="2026-10-20")  # window ends Thursday 11-19

    body = ok(desk.bob.act(case_id, "close", reason="复查期限届满，未申请复查。"))

    assert body["status"] == "closed"
    assert body["org"] == "K-EDU"
    assert ("review_request", "2026-11-19", "missed") in deadlines_in(body)
    assert ("review_request", "2026-11-19", "missed") in deadlines_in_db(case_id)
    [event] = events_of(case_id, "close")
    assert (event.from_status, event.to_status) == ("replied", "closed")
    assert event.effective_on.isoformat() == "2026-11-27"


def test_close_a_reviewed_case_after_the_rereview_window_lapsed(desk):
    case_id = desk.drive("decide_review", **EARLY_REVIEW)

    body = ok(desk.frank.act(case_id, "close", reason="复核期限届满。"))

    assert body["status"] == "closed"
    assert body["org"] == "K"
    assert ("rereview_request", "2026-11-19", "missed") in deadlines_in_db(case_id)
    assert len(events_of(case_id, "close")) == 1


def test_link_records_a_relation_and_leaves_status_and_deadlines_alone(desk):
    case_id = desk.drive("route")
    other_id = desk.register()
    deadlines_before = deadlines_in_db(case_id)

    body = ok(desk.alice.act(case_id, "link", other_id=other_id, relation="related"))

    assert body["status"] == "routed"
    assert body["org"] == "K-EDU"
    assert {"other_id": other_id, "relation": "related", "score": None, "basis": []} in body[
        "links"
    ]
    assert deadlines_in(body) == deadlines_before == deadlines_in_db(case_id)
    assert CaseLink.objects.filter(case_id=case_id, other_id=other_id, relation="related").exists()
    [event] = events_of(case_id, "link")
    assert event.payload == {"other_id": other_id, "relation": "related", "created": True}


def test_link_by_a_supervisor_of_the_jurisdiction_is_allowed(desk):
    case_id = desk.drive("accept")
    other_id = desk.register()

    body = ok(desk.carol.act(case_id, "link", other_id=other_id, relation="duplicate"))

    assert {"other_id": other_id, "relation": "duplicate", "score": None, "basis": []} in body[
        "links"
    ]
    assert events_of(case_id, "link")[0].actor_org.code == "C"


def test_assign_by_a_head_names_a_handler_of_the_holding_organ(desk):
    case_id = desk.drive("route")
    deadlines_before = deadlines_in_db(case_id)

    body = ok(desk.erin.act(case_id, "assign", username="bob"))

    assert body["status"] == "routed"
    assert Case.objects.get(pk=case_id).assignee.username == "bob"
    assert deadlines_in(body) == deadlines_before
    [event] = events_of(case_id, "assign")
    assert event.payload == {"assignee": "bob"}
    assert event.actor.username == "erin"


def test_assign_a_handler_may_take_a_case_but_not_hand_it_to_someone_else(desk):
    case_id = desk.drive("route")
    assert ok(desk.bob.act(case_id, "assign", username="bob"))
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "assign", username="erin")

    assert_refused(r, 403, "forbidden", case_id, before)


def test_assign_to_someone_outside_the_holding_organ_is_refused(desk):
    case_id = desk.drive("route")
    before = snapshot(case_id)
    for name in ("frank", "alice", "nobody"):
        r = desk.erin.act(case_id, "assign", username=name)
        assert_refused(r, 400, "invalid_assignee", case_id, before)


def test_the_assignee_is_cleared_when_the_case_leaves_the_organ(desk):
    case_id = desk.drive("route", received="2026-11-24", route="2026-11-25")
    ok(desk.erin.act(case_id, "assign", username="bob"))

    ok(desk.bob.act(case_id, "object", reason="不属本单位职责"))

    case = Case.objects.get(pk=case_id)
    assert (case.org.code, case.assignee) == ("K-XF", None)


def test_assign_narrows_who_sees_a_confidential_petitioner(desk):
    case_id = desk.register(confidential=True)
    desk.step(case_id, "route", "2026-09-29")

    def name_seen_by(who: str) -> str:
        return ok(getattr(desk, who).get(f"/petitions/{case_id}"))["petitioners"][0]["name"]

    # Unassigned: the handlers and heads of the holding organ, nobody else.
    assert name_seen_by("bob") == name_seen_by("erin") == "王小明"
    assert name_seen_by("alice") == name_seen_by("carol") == "confidential"
    ok(desk.erin.act(case_id, "assign", username="bob"))
    assert name_seen_by("bob") == "王小明"
    assert name_seen_by("erin") == "confidential"


def test_every_documented_verb_has_a_happy_path_test_in_this_module():
    tested = {name for name in globals() if name.startswith("test_")}
    for verb in ACTION_VERBS:
        assert any(name.startswith(f"test_{verb}_") for name in tested), verb


# --- 409: a verb from the wrong status ---------------------------------------------------------

WRONG_STATUS = [
    # verb, performed so far, actor, body
    ("route", "route", "alice", {"to_org": "K-HOUSING"}),
    ("object", "accept", "bob", {"reason": "送错了"}),
    ("accept", "accept", "bob", {"claim_route": 6}),
    ("decline", "reply", "bob", {"reason_code": "other", "reason": "不予受理"}),
    ("extend", "reply", "bob", {"days": 10, "reason": "核查", "approved_by": "erin",
                                "petitioner_notified_on": "2026-11-27"}),
    ("reply", "route", "bob", {"outcome": "support", "opinion": "支持"}),
    ("request_review", "accept", "bob", {"to_org": "K"}),
    ("decide_review", "reply", "bob", {"outcome": "support", "opinion": "支持"}),
    ("request_rereview", "reply", "bob", {"to_org": "K"}),
    ("hearing", "decide_review", "frank", {"from": "2026-11-20", "to": "2026-11-21"}),
    ("decide_rereview", "decide_review", "frank", {"outcome": "support", "opinion": "支持"}),
    ("close", "accept", "bob", {"reason": "办结"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("verb", "done", "actor", "body"), WRONG_STATUS, ids=[w[0] for w in WRONG_STATUS]
)
def test_a_verb_from_a_wrong_status_is_an_invalid_transition_and_stores_nothing(
    desk, verb, done, actor, body
):
    case_id = desk.drive(done)
    status = Case.objects.get(pk=case_id).status
    before = snapshot(case_id)

    r = getattr(desk, actor).post(f"/petitions/{case_id}/actions/{verb}", body)

    error = assert_refused(r, 409, "invalid_transition", case_id, before)
    assert error["fields"]["status"] == status
    assert status not in error["fields"]["allowed_from"]


def test_every_verb_but_link_is_refused_on_a_final_case(desk):
    case_id = desk.drive("decide_rereview")
    before = snapshot(case_id)
    for verb, _, _, body in WRONG_STATUS:
        r = desk.grace.post(f"/petitions/{case_id}/actions/{verb}", body)
        assert_refused(r, 409, "invalid_transition", case_id, before)


# --- 422: rule refusals -----------------------------------------------------------------------


def test_objection_after_five_working_days_is_late(desk):
    case_id = desk.drive("route")  # E3: the objection window ends 2026-10-12
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "object", reason="送错了", effective_on="2026-10-13")

    error = assert_refused(r, 422, "late", case_id, before)
    assert error["fields"]["due_on"] == "2026-10-12"


def test_review_requested_on_the_last_day_of_the_window_is_on_time(desk):
    """E6: opinion delivered 2026-06-01, window ends 2026-07-01."""
    case_id = desk.drive("reply", **E6_TIMELINE)

    body = ok(desk.bob.act(case_id, "request_review", to_org="K", effective_on="2026-07-01"))

    assert body["status"] == "under_review"
    assert ("review_request", "2026-07-01", "met") in deadlines_in(body)


def test_review_requested_the_day_after_the_window_is_late(desk):
    """E6: requested 2026-07-02."""
    case_id = desk.drive("reply", **E6_TIMELINE)
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "request_review", to_org="K", effective_on="2026-07-02")

    error = assert_refused(r, 422, "late", case_id, before)
    assert error["fields"]["due_on"] == "2026-07-01"


@pytest.fixture
def late_reply(desk: Desk) -> int:
    """A claim whose handling opinion was delivered 2026-10-20: the review window ended 11-19."""
    return desk.drive("reply", reply="2026-10-20")


def test_a_review_request_at_23_30_beijing_time_on_the_last_day_is_on_time(desk):
    case_id = desk.drive("reply")  # window ends 2026-11-30
    # 15:30 UTC: the same calendar day in UTC and in Beijing.
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 30, tzinfo=BEIJING), tick=False):
        body = ok(desk.bob.act(case_id, "request_review", to_org="K"))

    assert body["status"] == "under_review"
    assert ("review_request", "2026-11-30", "met") in deadlines_in(body)


def test_a_review_request_at_00_30_beijing_time_after_the_last_day_is_late(desk):
    case_id = desk.drive("reply")  # window ends 2026-11-30
    before = snapshot(case_id)
    # Still 2026-11-30 in UTC (16:30), already 12-01 in Beijing: dates are local (domain.md §5).
    with time_machine.travel(dt.datetime(2026, 12, 1, 0, 30, tzinfo=BEIJING), tick=False):
        r = desk.bob.act(case_id, "request_review", to_org="K")

    assert_refused(r, 422, "late", case_id, before)


def test_late_review_request_with_a_justified_reason_but_no_approver_is_late(desk, late_reply):
    before = snapshot(late_reply)

    r = desk.bob.act(late_reply, "request_review", to_org="K", justified_reason="住院治疗")

    error = assert_refused(r, 422, "late", late_reply, before)
    assert "approved_by" in error["fields"]


def test_late_review_request_approved_by_a_head_but_without_a_reason_is_late(desk, late_reply):
    before = snapshot(late_reply)

    r = desk.bob.act(late_reply, "request_review", to_org="K", approved_by="erin")

    assert_refused(r, 422, "late", late_reply, before)


def test_late_review_request_approved_by_a_mere_handler_is_late(desk, late_reply):
    before = snapshot(late_reply)

    r = desk.bob.act(
        late_reply, "request_review", to_org="K", justified_reason="住院治疗", approved_by="bob"
    )

    assert_refused(r, 422, "late", late_reply, before)


def test_late_review_request_approved_by_a_head_of_an_unrelated_organ_is_late(
    desk, late_reply, head_ivan
):
    before = snapshot(late_reply)

    r = desk.bob.act(
        late_reply, "request_review", to_org="K", justified_reason="住院治疗", approved_by="ivan"
    )

    assert_refused(r, 422, "late", late_reply, before)


def test_late_review_request_is_accepted_with_a_justified_reason_and_a_heads_approval(
    desk, late_reply
):
    body = ok(
        desk.bob.act(
            late_reply,
            "request_review",
            to_org="K",
            justified_reason="申请人住院治疗，有医院证明。",
            approved_by="erin",
        )
    )

    assert body["status"] == "under_review"
    assert body["org"] == "K"
    assert ("review_request", "2026-11-19", "missed") in deadlines_in(body)
    assert ("review_decision", "2026-12-28", "open") in deadlines_in(body)  # 11-27 + 30 = Sunday
    [event] = events_of(late_reply, "request_review")
    assert event.payload["approved_by"] == "erin"
    assert event.payload["justified_reason"] == "申请人住院治疗，有医院证明。"


def test_rereview_request_after_its_window_is_late(desk):
    case_id = desk.drive("decide_review", **EARLY_REVIEW)
    before = snapshot(case_id)

    r = desk.frank.act(case_id, "request_rereview", to_org="C")

    error = assert_refused(r, 422, "late", case_id, before)
    assert error["fields"]["due_on"] == "2026-11-19"


def test_rating_after_the_rating_window_is_late(desk, late_reply):
    tracking_number, key = desk.keys[late_reply]
    before = snapshot(late_reply)

    r = desk.public.post(
        f"/track/{tracking_number}/rate", {"rating": "satisfied"}, **{"X-Access-Key": key}
    )

    assert_refused(r, 422, "late", late_reply, before)
    assert Case.objects.get(pk=late_reply).rating == ""


def test_a_petitioners_own_late_review_request_is_late_with_no_way_to_justify_it(desk, late_reply):
    tracking_number, key = desk.keys[late_reply]
    before = snapshot(late_reply)

    r = desk.public.post(
        f"/track/{tracking_number}/request_review", {"to_org": "K"}, **{"X-Access-Key": key}
    )

    assert_refused(r, 422, "late", late_reply, before)


def test_extension_after_the_handling_clock_ran_out_is_late(desk):
    case_id = desk.drive("accept", received="2026-09-01", route="2026-09-02", accept="2026-09-03")
    assert ("handling", "2026-11-02", "open") in deadlines_in_db(case_id)
    before = snapshot(case_id)

    r = desk.bob.act(
        case_id,
        "extend",
        days=10,
        reason="核查",
        approved_by="erin",
        petitioner_notified_on="2026-11-27",
    )

    assert_refused(r, 422, "late", case_id, before)


def test_review_sent_to_the_city_instead_of_the_county_government_is_skip_level(desk):
    case_id = desk.drive("reply")
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "request_review", to_org="C")

    error = assert_refused(r, 422, "skip_level", case_id, before)
    assert error["fields"] == {"right_org": "K", "until": "2026-11-30"}


def test_rereview_sent_to_the_province_instead_of_the_city_is_skip_level(desk):
    case_id = desk.drive("decide_review")
    before = snapshot(case_id)

    r = desk.frank.act(case_id, "request_rereview", to_org="P")

    error = assert_refused(r, 422, "skip_level", case_id, before)
    assert error["fields"]["right_org"] == "C"


def test_review_sent_to_a_sibling_organ_is_wrong_org(desk):
    case_id = desk.drive("reply")
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "request_review", to_org="K-HOUSING")

    error = assert_refused(r, 422, "wrong_org", case_id, before)
    assert error["fields"]["right_org"] == "K"


def test_accepting_a_matter_still_pending_with_another_organ_is_same_matter_pending(desk):
    pending_id = desk.drive("accept")  # being handled by K-EDU
    pending = Case.objects.get(pk=pending_id)
    # The same letter brought to the city government: registered there, linked as a duplicate.
    r = desk.alice.post(
        "/petitions",
        letter(content=pending.content, received_on="2026-11-20", to_org="C"),
    )
    assert r.status_code == 201, r.content
    assert [d["id"] for d in r.json()["duplicates"]] == [pending_id]
    case_id = r.json()["id"]
    before = snapshot(case_id)

    r = desk.grace.act(case_id, "accept", claim_route=6)

    error = assert_refused(r, 422, "same_matter_pending", case_id, before)
    assert error["fields"]["linked_case"] == pending_id


@pytest.fixture
def repeat_of_final(desk: Desk) -> tuple[int, int]:
    """(final case, a new letter with the same facts to the education bureau, linked to it)."""
    final_id = desk.drive("decide_rereview")
    final = Case.objects.get(pk=final_id)
    r = desk.alice.post(
        "/petitions",
        letter(content=final.content, received_on="2026-11-26", to_org="K-EDU"),
    )
    assert r.status_code == 201, r.content
    assert [d["id"] for d in r.json()["duplicates"]] == [final_id]
    return final_id, r.json()["id"]


def test_accepting_the_same_facts_after_a_final_rereview_is_refused_as_final(desk, repeat_of_final):
    final_id, case_id = repeat_of_final
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "accept", claim_route=6)

    error = assert_refused(r, 422, "final", case_id, before)
    assert error["fields"]["linked_case"] == final_id


def test_new_facts_override_finality_and_open_a_new_matter(desk, repeat_of_final):
    _, case_id = repeat_of_final

    body = ok(
        desk.bob.act(
            case_id, "accept", claim_route=6, new_facts="学区划分已于2026年11月调整，出现新事实。"
        )
    )

    assert body["status"] == "accepted"
    # 11-27 + 60 days; 2027's official schedule is not published yet, so it is provisional.
    [handling] = [d for d in body["deadlines"] if d["rule"] == "handling"]
    assert (handling["due_on"], handling["state"], handling["provisional"]) == (
        "2027-01-26",
        "open",
        True,
    )
    [event] = events_of(case_id, "accept")
    assert event.payload["new_facts"] == "学区划分已于2026年11月调整，出现新事实。"


def test_blank_new_facts_do_not_override_finality(desk, repeat_of_final):
    _, case_id = repeat_of_final
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "accept", claim_route=6, new_facts="   ")

    assert_refused(r, 422, "final", case_id, before)


def test_an_extension_beyond_30_days_is_too_long(desk):
    case_id = desk.drive("accept")
    before = snapshot(case_id)

    r = desk.bob.act(
        case_id,
        "extend",
        days=31,
        reason="核查",
        approved_by="erin",
        petitioner_notified_on="2026-11-27",
    )

    assert_refused(r, 422, "extension_too_long", case_id, before)


def test_extensions_totalling_more_than_30_days_are_too_long(desk):
    case_id = desk.drive("accept")
    extension = {"reason": "核查", "approved_by": "erin", "petitioner_notified_on": "2026-11-27"}
    ok(desk.bob.act(case_id, "extend", days=20, **extension))
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "extend", days=11, **extension)

    error = assert_refused(r, 422, "extension_too_long", case_id, before)
    assert error["fields"]["days"] == "at most 10"


@pytest.mark.parametrize(
    "approved_by",
    [None, "bob", "ivan", "nobody"],
    ids=["no approver", "a handler", "a head of another organ", "an unknown user"],
)
def test_an_extension_without_the_handling_organs_head_is_not_approved(
    desk, head_ivan, approved_by
):
    case_id = desk.drive("accept")
    before = snapshot(case_id)

    r = desk.bob.act(
        case_id,
        "extend",
        days=10,
        reason="核查",
        approved_by=approved_by,
        petitioner_notified_on="2026-11-27",
    )

    assert_refused(r, 422, "extension_not_approved", case_id, before)


def test_an_extension_the_petitioner_was_not_told_about_is_not_notified(desk):
    case_id = desk.drive("accept")
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "extend", days=10, reason="核查", approved_by="erin")

    assert_refused(r, 422, "extension_not_notified", case_id, before)


@pytest.mark.parametrize("to_org", ["K-EDU", "K-EDU-S1"])
def test_routing_an_accusation_to_the_accused_organ_or_its_subordinate_is_refused_and_logged(
    desk, caplog, to_org
):
    case_id = desk.register(
        category="accusation", accused_orgs=["K-EDU"], title="举报教育局违规收费"
    )
    before = snapshot(case_id)

    r = desk.alice.act(case_id, "route", to_org=to_org, effective_on="2026-09-29")

    assert_refused(r, 422, "confidential_to_accused", case_id, before)
    [record] = [rec for rec in caplog.records if rec.name == "petitiondesk.security"]
    assert f"case={case_id}" in record.getMessage()
    assert to_org in record.getMessage()


def test_routing_an_accusation_to_the_discipline_organ_is_allowed(desk):
    case_id = desk.register(category="accusation", accused_orgs=["K-EDU"])

    body = ok(desk.alice.act(case_id, "route", to_org="K-JW", mode="to_discipline"))

    assert body["status"] == "routed"
    assert body["org"] == "K-JW"


def test_closing_while_the_review_window_is_open_is_refused(desk):
    case_id = desk.drive("reply")  # window open until 11-30
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "close", reason="办结")

    error = assert_refused(r, 422, "window_open", case_id, before)
    assert error["fields"]["until"] == "2026-11-30"


def test_closing_while_the_rereview_window_is_open_is_refused(desk):
    case_id = desk.drive("decide_review")  # window open until 12-07
    before = snapshot(case_id)

    r = desk.frank.act(case_id, "close", reason="办结")

    error = assert_refused(r, 422, "window_open", case_id, before)
    assert error["fields"]["until"] == "2026-12-07"


def test_a_suggestion_cannot_be_appealed(desk):
    case_id = desk.drive("reply", letter_overrides={"category": "suggestion"})
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "request_review", to_org="K")

    assert_refused(r, 422, "not_reviewable", case_id, before)


# --- 403: wrong role or wrong organisation ----------------------------------------------------

# For each verb but link: the steps that put a case in a status the verb may run from, and a body.
READY = {
    "route": (None, {"to_org": "K-EDU"}),
    "object": ("route", {"reason": "送错了", "effective_on": "2026-10-09"}),
    "accept": ("route", {"claim_route": 6}),
    "decline": ("route", {"reason_code": "other", "reason": "不予受理"}),
    "extend": ("accept", {"days": 10, "reason": "核查", "approved_by": "erin",
                          "petitioner_notified_on": "2026-11-27"}),
    "reply": ("accept", {"outcome": "support", "opinion": "支持"}),
    "request_review": ("reply", {"to_org": "K"}),
    "decide_review": ("request_review", {"outcome": "support", "opinion": "支持"}),
    "request_rereview": ("decide_review", {"to_org": "C"}),
    "hearing": ("request_rereview", {"from": "2026-11-20", "to": "2026-11-21"}),
    "decide_rereview": ("request_rereview", {"outcome": "support", "opinion": "支持"}),
    "close": ("reply", {"reason": "办结"}),
}  # fmt: skip


@pytest.mark.parametrize("verb", list(READY))
def test_a_supervisor_may_not_perform_case_verbs(desk, verb):
    done, body = READY[verb]
    case_id = desk.drive(done, reply="2026-10-20") if verb == "close" else desk.drive(done)
    before = snapshot(case_id)

    r = desk.carol.post(f"/petitions/{case_id}/actions/{verb}", body)

    assert_refused(r, 403, "forbidden", case_id, before)


@pytest.mark.parametrize("verb", ["accept", "reply", "decide_review"])
def test_a_clerk_may_not_accept_reply_or_decide(desk, verb):
    done, body = READY[verb]
    case_id = desk.drive(done)
    before = snapshot(case_id)

    r = desk.alice.post(f"/petitions/{case_id}/actions/{verb}", body)

    assert_refused(r, 403, "forbidden", case_id, before)


@pytest.mark.parametrize("verb", ["object", "accept", "decline", "extend", "reply"])
def test_the_superior_organ_may_not_act_for_the_organ_holding_the_case(desk, verb):
    done, body = READY[verb]
    case_id = desk.drive(done)
    before = snapshot(case_id)

    r = desk.frank.post(f"/petitions/{case_id}/actions/{verb}", body)  # K sees K-EDU's cases

    assert_refused(r, 403, "forbidden", case_id, before)


def test_an_appeal_cannot_be_registered_by_an_organ_that_neither_holds_nor_receives_it(desk):
    case_id = desk.drive("reply")
    before = snapshot(case_id)

    r = desk.grace.act(case_id, "request_review", to_org="K")  # the city sees it, but is neither

    assert_refused(r, 403, "forbidden", case_id, before)


def test_an_analyst_may_not_link_cases(desk, api_as, analyst_hank):
    case_id = desk.drive("route")
    other_id = desk.register()
    before = snapshot(case_id)

    r = api_as(analyst_hank).act(case_id, "link", other_id=other_id, relation="related")

    assert_refused(r, 403, "forbidden", case_id, before)


def test_an_organ_outside_the_case_scope_gets_404_for_an_action(desk, api_as, head_ivan):
    case_id = desk.drive("accept")
    before = snapshot(case_id)

    r = api_as(head_ivan).act(case_id, "reply", outcome="support", opinion="支持")

    assert_refused(r, 404, "not_found", case_id, before)


# --- 400: input the service refuses -----------------------------------------------------------


def test_accepting_a_claim_without_claim_route_is_refused(desk):
    case_id = desk.drive("route")
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "accept")

    error = assert_refused(r, 400, "missing_field", case_id, before)
    assert "claim_route" in error["fields"]


def test_classifying_on_accept_is_rolled_back_when_the_accept_is_refused(desk):
    case_id = desk.drive("route", letter_overrides={"category": None})
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "accept", category="claim")

    assert_refused(r, 400, "missing_field", case_id, before)
    assert Case.objects.get(pk=case_id).category == ""


def test_a_hearing_that_ends_before_it_starts_is_refused(desk):
    case_id = desk.drive("request_rereview")
    before = snapshot(case_id)

    r = desk.grace.post(
        f"/petitions/{case_id}/actions/hearing", {"from": "2026-11-20", "to": "2026-11-19"}
    )

    assert_refused(r, 400, "invalid_input", case_id, before)


def test_routing_to_an_unknown_org_is_refused(desk):
    case_id = desk.register()
    before = snapshot(case_id)

    r = desk.alice.act(case_id, "route", to_org="NOWHERE")

    assert_refused(r, 400, "unknown_org", case_id, before)


def test_an_action_on_a_case_that_does_not_exist_is_not_found(desk):
    r = desk.alice.act(999_999, "route", to_org="K-EDU")

    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_an_opinion_over_20000_characters_is_refused_not_cut(desk):
    case_id = desk.drive("accept")
    before = snapshot(case_id)

    r = desk.bob.act(case_id, "reply", outcome="support", opinion="意" * 20_001)

    error = assert_refused(r, 400, "too_long", case_id, before)
    assert "opinion" in error["fields"]


def test_a_case_cannot_be_linked_to_itself(desk):
    case_id = desk.register()
    before = snapshot(case_id)

    r = desk.alice.act(case_id, "link", other_id=case_id, relation="related")

    assert_refused(r, 400, "invalid_input", case_id, before)
