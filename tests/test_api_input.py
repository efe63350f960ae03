"""Bad input, authentication, scope, idempotency, tracking and the OpenAPI schema of /api/v1.

Every refusal answers `{"error": {"code", "message", "fields"}}` (api.md "Errors").
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import Case, CaseEvent
from tests.conftest import ACTION_VERBS, letter


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error envelope, after checking its status, code and shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


def public_letter(**overrides: Any) -> dict[str, Any]:
    """What a petitioner sends through the web form: no channel, no received_on."""
    body = letter(**overrides)
    for staff_only in ("channel", "received_on"):
        if staff_only not in overrides:
            body.pop(staff_only)
    return body


def case_state(case_id: int) -> tuple[str, int, int, int]:
    case = Case.objects.get(pk=case_id)
    return case.status, case.version, case.org_id, case.events.count()


@pytest.fixture
def alice(api_as: Any, clerk_alice: User) -> Any:
    return api_as(clerk_alice)


@pytest.fixture
def bob(api_as: Any, handler_bob: User) -> Any:
    return api_as(handler_bob)


@pytest.fixture
def public(api_as: Any, org_tree: None) -> Any:
    return api_as()


@pytest.fixture
def registered(alice: Any) -> int:
    """A claim letter received 2026-09-28 and registered at the county petition bureau."""
    r = alice.post("/petitions", letter())
    assert r.status_code == 201, r.content
    return r.json()["id"]


@pytest.fixture
def tracked(public: Any) -> dict[str, Any]:
    """A petition submitted online today: its receipt with the tracking number and access key."""
    r = public.post("/petitions", public_letter())
    assert r.status_code == 201, r.content
    return r.json()


# --- malformed, missing and unknown input -----------------------------------------------------


def test_malformed_json_on_submit_is_malformed_json(public):
    r = public.post("/petitions", raw='{"title": "学位", "content": ')

    error_of(r, 400, "malformed_json")
    assert Case.objects.count() == 0


def test_malformed_json_on_an_action_is_malformed_json(alice, registered):
    before = case_state(registered)

    r = alice.post(f"/petitions/{registered}/actions/route", raw="{to_org: K-EDU}")

    error_of(r, 400, "malformed_json")
    assert case_state(registered) == before


@pytest.mark.parametrize("field", ["title", "content"])
def test_a_submission_missing_a_required_field_is_refused_naming_it(alice, field):
    body = letter()
    del body[field]

    error = error_of(alice.post("/petitions", body), 400, "invalid_input")

    assert field in error["fields"]
    assert Case.objects.count() == 0


def test_a_blank_title_is_a_missing_field(alice):
    error = error_of(alice.post("/petitions", letter(title="   ")), 400, "missing_field")

    assert "title" in error["fields"]


def test_a_submission_naming_nobody_and_not_anonymous_is_refused(public):
    r = public.post("/petitions", public_letter(petitioners=[]))

    error = error_of(r, 400, "missing_field")
    assert "petitioners" in error["fields"]


def test_an_action_missing_a_required_field_is_refused_naming_it(alice, registered):
    before = case_state(registered)

    error = error_of(alice.act(registered, "route", mode="forward"), 400, "invalid_input")

    assert "to_org" in error["fields"]
    assert case_state(registered) == before


def test_an_unknown_field_in_a_submission_is_refused(alice):
    error = error_of(alice.post("/petitions", letter(colour="red")), 400, "invalid_input")

    assert "colour" in error["fields"]
    assert Case.objects.count() == 0


def test_an_unknown_field_of_a_petitioner_is_refused(alice):
    body = letter(petitioners=[{"name": "王小明", "nickname": "小明"}])

    error = error_of(alice.post("/petitions", body), 400, "invalid_input")

    assert any("nickname" in key for key in error["fields"]), error["fields"]


def test_a_misspelt_field_in_an_action_is_refused_not_ignored(alice, registered):
    before = case_state(registered)

    r = alice.act(registered, "route", to_org="K-EDU", assign_due="2026-10-20")

    error = error_of(r, 400, "invalid_input")
    assert "assign_due" in error["fields"]
    assert case_state(registered) == before


def test_an_unknown_enum_value_is_refused(alice):
    error = error_of(alice.post("/petitions", letter(category="complaint")), 400, "invalid_input")

    assert "category" in error["fields"]


# --- limits -----------------------------------------------------------------------------------


def test_a_title_over_200_characters_is_too_long(alice):
    error = error_of(alice.post("/petitions", letter(title="学" * 201)), 400, "too_long")

    assert "title" in error["fields"]
    assert Case.objects.count() == 0


def test_a_title_of_exactly_200_characters_is_accepted(alice):
    r = alice.post("/petitions", letter(title="学" * 200))

    assert r.status_code == 201, r.content
    assert len(Case.objects.get(pk=r.json()["id"]).title) == 200


def test_content_over_20000_characters_is_refused_not_cut(alice):
    error = error_of(alice.post("/petitions", letter(content="诉" * 20_001)), 400, "too_long")

    assert "content" in error["fields"]
    assert Case.objects.count() == 0


def test_content_of_exactly_20000_characters_is_stored_in_full(alice):
    content = "诉" * 19_999 + "止"

    r = alice.post("/petitions", letter(content=content))

    assert r.status_code == 201, r.content
    assert Case.objects.get(pk=r.json()["id"]).content == content


def test_a_body_over_one_mebibyte_is_payload_too_large(public):
    body = json.dumps(public_letter(content="x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1_048_576

    r = public.post("/petitions", raw=body)

    assert r.status_code == 413, r.content
    assert r.json()["error"]["code"] == "payload_too_large"
    assert Case.objects.count() == 0


def test_an_action_body_over_one_mebibyte_is_payload_too_large(alice, registered):
    before = case_state(registered)
    body = json.dumps({"to_org": "K-EDU", "mode": "forward", "pad": "x" * 1_048_576})

    r = alice.post(f"/petitions/{registered}/actions/route", raw=body)

    error_of(r, 413, "payload_too_large")
    assert case_state(registered) == before


def test_a_group_of_12_with_6_representatives_is_refused(alice):
    """E8: the national profile allows at most 5 representatives (Art. 20)."""
    r = alice.post("/petitions", letter(channel="visit", people_count=12, representatives=6))

    error = error_of(r, 422, "too_many_representatives")
    assert "representatives" in error["fields"]
    assert Case.objects.count() == 0


def test_a_group_of_12_with_5_representatives_is_registered(alice):
    r = alice.post("/petitions", letter(channel="visit", people_count=12, representatives=5))

    assert r.status_code == 201, r.content
    assert Case.objects.get(pk=r.json()["id"]).representatives == 5


def test_more_than_50_petitioners_is_too_long(alice):
    people = [{"name": f"申请人{i}"} for i in range(51)]

    r = alice.post("/petitions", letter(petitioners=people, people_count=51))

    error = error_of(r, 400, "too_long")
    assert "petitioners" in error["fields"]
    assert Case.objects.count() == 0


def test_a_page_number_beyond_any_list_is_refused_not_a_server_error(alice, registered):
    r = alice.get("/petitions?page=99999999999999999999")

    error = error_of(r, 400, "invalid_input")
    assert "page" in error["fields"]


def test_an_unknown_verb_answers_404_in_the_error_format(alice, registered):
    r = alice.post(f"/petitions/{registered}/actions/fly", {"to_org": "K-EDU"})

    assert r.status_code == 404
    assert r["Content-Type"].startswith("application/json"), r.content[:80]
    assert r.json()["error"]["code"] == "not_found"


# --- organisations and dates ------------------------------------------------------------------


def test_a_submission_to_an_unknown_org_is_refused(alice):
    error = error_of(alice.post("/petitions", letter(to_org="NOWHERE")), 400, "unknown_org")

    assert error["fields"]
    assert Case.objects.count() == 0


def test_an_accusation_against_an_unknown_org_is_refused(alice):
    body = letter(category="accusation", accused_orgs=["NOWHERE"])

    error_of(alice.post("/petitions", body), 400, "unknown_org")


def test_an_accusation_lodged_with_the_accused_organ_is_refused(alice):
    body = letter(category="accusation", accused_orgs=["K-EDU"], to_org="K-EDU")

    error_of(alice.post("/petitions", body), 422, "confidential_to_accused")
    assert Case.objects.count() == 0


@pytest.mark.parametrize("value", ["2026-02-30", "28/09/2026", "yesterday", "2026-9-28x"])
def test_an_invalid_received_on_is_refused(alice, value):
    error = error_of(alice.post("/petitions", letter(received_on=value)), 400, "invalid_input")

    assert "received_on" in error["fields"]
    assert Case.objects.count() == 0


def test_an_invalid_effective_on_is_refused(alice, registered):
    before = case_state(registered)

    r = alice.act(registered, "route", to_org="K-EDU", effective_on="2026-13-01")

    error = error_of(r, 400, "invalid_input")
    assert "effective_on" in error["fields"]
    assert case_state(registered) == before


def test_a_received_on_in_the_future_is_refused(alice):
    error = error_of(alice.post("/petitions", letter(received_on="2026-11-28")), 400, "future_date")

    assert "received_on" in error["fields"]
    assert Case.objects.count() == 0


def test_a_received_on_of_today_is_accepted(alice):
    r = alice.post("/petitions", letter(received_on="2026-11-27"))

    assert r.status_code == 201, r.content
    assert r.json()["received_on"] == "2026-11-27"


def test_an_effective_on_in_the_future_is_refused(alice, registered):
    before = case_state(registered)

    r = alice.act(registered, "route", to_org="K-EDU", effective_on="2026-11-28")

    error = error_of(r, 400, "future_date")
    assert "effective_on" in error["fields"]
    assert case_state(registered) == before


def test_an_effective_on_before_the_previous_step_is_refused(alice, registered):
    before = case_state(registered)  # received 2026-09-28

    r = alice.act(registered, "route", to_org="K-EDU", effective_on="2026-09-27")

    error = error_of(r, 400, "date_before_previous_step")
    assert "effective_on" in error["fields"]
    assert case_state(registered) == before


def test_an_effective_on_on_the_day_of_the_previous_step_is_accepted(alice, registered):
    r = alice.act(registered, "route", to_org="K-EDU", effective_on="2026-09-28")

    assert r.status_code == 200, r.content
    assert r.json()["events"][-1]["effective_on"] == "2026-09-28"


# --- the public and staff -------------------------------------------------------------------


def test_a_public_web_submission_gets_a_query_code_and_is_held_by_the_local_bureau(public):
    r = public.post("/petitions", public_letter())

    assert r.status_code == 201, r.content
    body = r.json()
    assert body["access_key"]
    assert body["tracking_number"].startswith("XF20261127")
    assert body["received_on"] == "2026-11-27"
    assert body["org"] == "K-XF"
    assert Case.objects.get(pk=body["id"]).channel == "web"


def test_an_anonymous_submission_gets_no_access_key(public):
    r = public.post("/petitions", public_letter(anonymous=True, petitioners=[]))

    assert r.status_code == 201, r.content
    assert r.json()["access_key"] is None


def test_an_anonymous_submission_addressed_to_an_organ_carries_no_notice_duty(public):
    """domain.md §2: nothing to send a notice to, so no notice clock an organ could miss."""
    r = public.post("/petitions", public_letter(anonymous=True, petitioners=[], to_org="K-EDU"))

    assert r.status_code == 201, r.content
    assert r.json()["org"] == "K-EDU"
    assert "notice" not in [d["rule"] for d in r.json()["deadlines"]]


def test_a_public_submission_may_not_claim_to_be_a_letter(public):
    error_of(public.post("/petitions", public_letter(channel="letter")), 403, "forbidden")

    assert Case.objects.count() == 0


def test_a_public_submission_may_not_set_received_on(public):
    r = public.post("/petitions", public_letter(received_on="2026-11-20"))

    error_of(r, 403, "forbidden")
    assert Case.objects.count() == 0


def test_a_wrong_bearer_token_on_submit_is_unauthenticated_not_public(public):
    r = public.post("/petitions", public_letter(), Authorization="Bearer pd_not-a-real-token")

    error_of(r, 401, "unauthenticated")
    assert Case.objects.count() == 0


def test_a_wrong_bearer_token_on_a_read_is_unauthenticated(public, registered):
    r = public.get(f"/petitions/{registered}", Authorization="Bearer pd_not-a-real-token")

    error_of(r, 401, "unauthenticated")


def test_a_wrong_bearer_token_on_an_action_is_unauthenticated(public, registered):
    before = case_state(registered)

    r = public.post(
        f"/petitions/{registered}/actions/route",
        {"to_org": "K-EDU"},
        Authorization="Bearer pd_not-a-real-token",
    )

    error_of(r, 401, "unauthenticated")
    assert case_state(registered) == before


def test_no_token_on_a_read_is_unauthenticated(public, registered):
    error_of(public.get(f"/petitions/{registered}"), 401, "unauthenticated")


def test_the_holder_can_read_its_case(alice, registered):
    r = alice.get(f"/petitions/{registered}")

    assert r.status_code == 200, r.content
    assert r.json()["id"] == registered
    assert r.json()["petitioners"][0]["name"] == "王小明"


def test_a_case_outside_the_callers_scope_reads_as_not_found(bob, registered):
    """The education bureau does not see a letter the petition bureau has not routed to it."""
    outside = bob.get(f"/petitions/{registered}")
    missing = bob.get(f"/petitions/{registered + 1000}")

    error_of(outside, 404, "not_found")
    assert outside.json() == missing.json()


def test_an_accusation_against_the_callers_own_org_reads_as_not_found(api_as, alice, handler_frank):
    """Registered by the county bureau (in the county government's scope) and lodged with the city
    bureau: the accused county government still must not see it."""
    r = alice.post("/petitions", letter(category="accusation", accused_orgs=["K"], to_org="C-XF"))
    assert r.status_code == 201, r.content
    case_id = r.json()["id"]
    frank = api_as(handler_frank)

    error_of(frank.get(f"/petitions/{case_id}"), 404, "not_found")
    assert case_id not in [c["id"] for c in frank.get("/petitions").json()["results"]]


def test_the_superior_organ_reads_an_ordinary_case_its_subordinate_registered(
    api_as, alice, handler_frank
):
    r = alice.post("/petitions", letter(to_org="C-XF"))
    assert r.status_code == 201, r.content

    assert api_as(handler_frank).get(f"/petitions/{r.json()['id']}").status_code == 200


def test_a_confidential_petitioner_is_shown_only_to_the_holding_organ(alice, bob):
    r = alice.post("/petitions", letter(confidential=True))
    assert r.status_code == 201, r.content
    case_id = r.json()["id"]
    assert alice.act(case_id, "route", to_org="K-EDU").status_code == 200

    as_router = alice.get(f"/petitions/{case_id}").json()["petitioners"][0]
    as_holder = bob.get(f"/petitions/{case_id}").json()["petitioners"][0]

    assert as_router == {
        "name": "confidential",
        "phone": "confidential",
        "id_number": "confidential",
        "address": "",
        "email": "",
    }
    assert as_holder["name"] == "王小明"


def test_every_staff_read_of_a_confidential_case_is_logged(alice, clerk_alice, caplog):
    """domain.md §6: every read of a confidential case by staff is logged (who, when, what)."""
    r = alice.post("/petitions", letter(confidential=True))
    assert r.status_code == 201, r.content
    case_id = r.json()["id"]
    caplog.clear()

    assert alice.get(f"/petitions/{case_id}").status_code == 200

    reads = [
        rec.getMessage()
        for rec in caplog.records
        if rec.name == "petitiondesk.security" and str(case_id) in rec.getMessage()
    ]
    assert reads, "no security log record for the read"
    assert any(clerk_alice.username in msg for msg in reads)


# --- Idempotency-Key --------------------------------------------------------------------------


def test_a_retried_submission_with_the_same_key_returns_the_same_answer_and_one_case(public):
    body = public_letter()

    first = public.post("/petitions", body, **{"Idempotency-Key": "k-0001"})
    again = public.post("/petitions", body, **{"Idempotency-Key": "k-0001"})

    assert first.status_code == again.status_code == 201, again.content
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert Case.objects.count() == 1


def test_two_submissions_with_different_keys_make_two_cases(public):
    body = public_letter()

    first = public.post("/petitions", body, **{"Idempotency-Key": "k-0001"})
    second = public.post("/petitions", body, **{"Idempotency-Key": "k-0002"})

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert Case.objects.count() == 2


def test_the_same_key_with_a_different_body_is_refused(public):
    first = public.post("/petitions", public_letter(), **{"Idempotency-Key": "k-0001"})
    assert first.status_code == 201, first.content

    r = public.post("/petitions", public_letter(title="另一件事"), **{"Idempotency-Key": "k-0001"})

    error_of(r, 422, "idempotency_key_reused")
    assert Case.objects.count() == 1


def test_idempotency_keys_are_scoped_to_the_caller(alice, api_as, handler_bob):
    first = alice.post("/petitions", letter(), **{"Idempotency-Key": "shared"})
    other = api_as(handler_bob).post(
        "/petitions", letter(title="另一件事"), **{"Idempotency-Key": "shared"}
    )

    assert first.status_code == other.status_code == 201, other.content
    assert first.json()["id"] != other.json()["id"]


def test_an_empty_idempotency_key_is_refused(public):
    r = public.post("/petitions", public_letter(), **{"Idempotency-Key": " "})

    error_of(r, 400, "invalid_input")
    assert Case.objects.count() == 0


def test_a_retried_action_with_the_same_key_is_performed_once(alice, registered):
    path = f"/petitions/{registered}/actions/route"
    body = {"to_org": "K-EDU", "effective_on": "2026-09-29"}

    first = alice.post(path, body, **{"Idempotency-Key": "route-1"})
    again = alice.post(path, body, **{"Idempotency-Key": "route-1"})

    assert first.status_code == again.status_code == 200, again.content
    assert again.json() == first.json()
    assert CaseEvent.objects.filter(case_id=registered, verb="route").count() == 1
    assert Case.objects.get(pk=registered).version == first.json()["version"]


# --- the petitioner's tracking ---------------------------------------------------------------


def test_tracking_with_the_access_key_shows_status_and_deadlines(public, tracked):
    r = public.get(
        f"/track/{tracked['tracking_number']}", **{"X-Access-Key": tracked["access_key"]}
    )

    assert r.status_code == 200, r.content
    body = r.json()
    assert body["tracking_number"] == tracked["tracking_number"]
    assert body["status"] == "registered"
    assert body["org"] == "示范县信访局"
    assert [(d["rule"], d["due_on"]) for d in body["deadlines"]] == [("routing", "2026-12-14")]
    assert "petitioners" not in body


def test_a_wrong_key_and_a_wrong_number_get_the_same_404(public, tracked):
    wrong_key = public.get(
        f"/track/{tracked['tracking_number']}", **{"X-Access-Key": "WRONGKEY0000"}
    )
    wrong_number = public.get(
        "/track/XF20261127ZZZZZZZZZZ", **{"X-Access-Key": tracked["access_key"]}
    )
    no_key = public.get(f"/track/{tracked['tracking_number']}")

    error_of(wrong_key, 404, "not_found")
    assert wrong_number.status_code == no_key.status_code == 404
    assert wrong_key.json() == wrong_number.json() == no_key.json()


def test_guessing_is_refused_with_429_after_the_configured_number_of_failures(public, tracked):
    limit = settings.PETITIONDESK_TRACK_MAX_FAILURES
    assert limit == 10
    path = f"/track/{tracked['tracking_number']}"
    for guess in range(limit):
        r = public.get(path, **{"X-Access-Key": f"GUESS{guess:07d}"})
        assert r.status_code == 404, (guess, r.content)

    r = public.get(path, **{"X-Access-Key": "GUESS9999999"})

    error_of(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == str(settings.PETITIONDESK_TRACK_WINDOW_SECONDS)
    # Locked even for the right key, or guessing would still tell the key apart.
    locked = public.get(path, **{"X-Access-Key": tracked["access_key"]})
    assert locked.status_code == 429


def test_the_failure_limit_follows_the_setting(public, tracked, settings):
    settings.PETITIONDESK_TRACK_MAX_FAILURES = 3
    path = f"/track/{tracked['tracking_number']}"
    statuses = [public.get(path, **{"X-Access-Key": "WRONGKEY0000"}).status_code for _ in range(4)]

    assert statuses == [404, 404, 404, 429]


@pytest.fixture
def replied(alice: Any, bob: Any, public: Any) -> dict[str, Any]:
    """A staff-registered claim letter with the petitioner's query code, replied to on 2026-11-20:
    the review and rating windows are open until Monday 12-21."""
    r = alice.post("/petitions", letter(received_on="2026-11-02"))
    assert r.status_code == 201, r.content
    receipt = r.json()
    case_id = receipt["id"]
    steps = [
        (alice, "route", {"to_org": "K-EDU", "effective_on": "2026-11-03"}),
        (bob, "accept", {"claim_route": 6, "effective_on": "2026-11-04"}),
        (bob, "reply", {"outcome": "explain", "opinion": "已说明政策。", "effective_on": "2026-11-20"}),
    ]  # fmt: skip
    for client, verb, body in steps:
        assert client.act(case_id, verb, **body).status_code == 200, verb
    return receipt


def test_the_petitioner_can_rate_within_the_window(public, replied):
    tn, key = replied["tracking_number"], replied["access_key"]

    body = {"rating": "basically_satisfied", "comment": "态度很好"}

    r = public.post(f"/track/{tn}/rate", body, **{"X-Access-Key": key})

    assert r.status_code == 200, r.content
    assert r.json()["rating"] == "basically_satisfied"
    case = Case.objects.get(pk=replied["id"])
    assert case.rating == "basically_satisfied"
    [event] = CaseEvent.objects.filter(case=case, verb="rate")
    assert event.by_petitioner
    assert event.actor is None
    assert case.deadlines.get(rule="rating").state == "met"


def test_the_petitioners_view_names_no_staff_and_no_approver(public, alice, bob, head_erin):
    r = alice.post("/petitions", letter(received_on="2026-11-02"))
    receipt = r.json()
    case_id = receipt["id"]
    assert alice.act(case_id, "route", to_org="K-EDU", effective_on="2026-11-03").status_code == 200
    assert bob.act(case_id, "accept", claim_route=6, effective_on="2026-11-04").status_code == 200
    extension = {"days": 10, "reason": "需要实地核查。", "approved_by": "erin",
                 "petitioner_notified_on": "2026-11-27"}  # fmt: skip
    assert bob.act(case_id, "extend", **extension).status_code == 200

    r = public.get(
        f"/track/{receipt['tracking_number']}", **{"X-Access-Key": receipt["access_key"]}
    )

    assert r.status_code == 200, r.content
    [extend] = [e for e in r.json()["timeline"] if e["verb"] == "extend"]
    assert extend["text"] == {"days": 10, "reason": "需要实地核查。", "due_on": "2027-01-13"}
    for name in ("alice", "bob", "erin"):
        assert name not in r.content.decode()


def test_rating_needs_the_access_key(public, replied):
    r = public.post(f"/track/{replied['tracking_number']}/rate", {"rating": "dissatisfied"})

    error_of(r, 404, "not_found")
    assert Case.objects.get(pk=replied["id"]).rating == ""


def test_the_petitioner_can_request_review_within_the_window(public, replied):
    tn, key = replied["tracking_number"], replied["access_key"]

    r = public.post(f"/track/{tn}/request_review", {"to_org": "K"}, **{"X-Access-Key": key})

    assert r.status_code == 200, r.content
    assert r.json()["status"] == "under_review"
    assert r.json()["org"] == "示范县人民政府"
    case = Case.objects.get(pk=replied["id"])
    assert (case.status, case.org.code) == ("under_review", "K")
    [event] = CaseEvent.objects.filter(case=case, verb="request_review")
    assert event.by_petitioner
    assert case.deadlines.get(rule="review_request").state == "met"


def test_the_petitioner_can_request_rereview_within_the_window(
    public, replied, api_as, handler_frank
):
    tn, key = replied["tracking_number"], replied["access_key"]
    review = public.post(f"/track/{tn}/request_review", {"to_org": "K"}, **{"X-Access-Key": key})
    assert review.status_code == 200, review.content
    frank = api_as(handler_frank)
    decision = {"outcome": "support", "opinion": "复查支持。"}
    assert frank.act(replied["id"], "decide_review", **decision).status_code == 200

    r = public.post(f"/track/{tn}/request_rereview", {"to_org": "C"}, **{"X-Access-Key": key})

    assert r.status_code == 200, r.content
    assert r.json()["status"] == "under_rereview"
    assert r.json()["org"] == "示范市人民政府"
    assert Case.objects.get(pk=replied["id"]).org.code == "C"


def test_the_petitioner_is_told_the_right_organ_when_skipping_a_level(public, replied):
    tn, key = replied["tracking_number"], replied["access_key"]

    r = public.post(f"/track/{tn}/request_review", {"to_org": "C"}, **{"X-Access-Key": key})

    error = error_of(r, 422, "skip_level")
    assert error["fields"] == {"right_org": "K", "until": "2026-12-21"}
    assert Case.objects.get(pk=replied["id"]).status == "replied"


def test_the_petitioner_may_not_smuggle_a_justified_reason_into_a_review_request(public, replied):
    tn, key = replied["tracking_number"], replied["access_key"]

    r = public.post(
        f"/track/{tn}/request_review",
        {"to_org": "K", "justified_reason": "x", "approved_by": "erin"},
        **{"X-Access-Key": key},
    )

    error_of(r, 400, "invalid_input")
    assert Case.objects.get(pk=replied["id"]).status == "replied"


# --- OpenAPI ----------------------------------------------------------------------------------


def test_openapi_lists_every_action_endpoint(client, db):
    r = client.get("/api/openapi.json")

    assert r.status_code == 200
    paths = r.json()["paths"]
    for verb in ACTION_VERBS:
        path = f"/api/v1/petitions/{{case_id}}/actions/{verb}"
        assert path in paths, verb
        assert "post" in paths[path]
    assert "/api/v1/track/{tracking_number}" in paths


def test_the_api_docs_page_answers(client, db):
    r = client.get("/api/docs")

    assert r.status_code == 200
    assert b"openapi.json" in r.content


def test_control_characters_in_text_are_refused_not_stored(public):
    # NUL cannot be stored in PostgreSQL text; no control character belongs in a petition.
    error = error_of(
        public.post("/petitions", public_letter(title="学位\x00分配")), 400, "invalid_input"
    )
    assert "title" in error["fields"]
    assert not Case.objects.exists()


def test_line_breaks_and_tabs_in_content_are_kept(public):
    r = public.post("/petitions", public_letter(content="第一段。\n\t第二段。"))
    assert r.status_code == 201
    assert Case.objects.get().content == "第一段。\n\t第二段。"


def test_anonymous_callers_from_two_addresses_do_not_share_idempotency_keys(org_tree):
    from django.test import Client

    body = json.dumps(public_letter())
    first = Client(REMOTE_ADDR="10.0.0.1").post(
        "/api/v1/petitions",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "k1"},
    )
    second = Client(REMOTE_ADDR="10.0.0.2").post(
        "/api/v1/petitions",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "k1"},
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["access_key"] != second.json()["access_key"]
    assert Case.objects.count() == 2


def test_linking_does_not_move_the_date_later_steps_must_follow(alice, registered):
    other = alice.post("/petitions", letter(title="另一件")).json()["id"]
    assert alice.act(registered, "link", other_id=other, relation="related").status_code == 200
    # The letter was received 2026-09-28; linking today must not forbid routing on 2026-09-30.
    r = alice.act(registered, "route", to_org="K-EDU", effective_on="2026-09-30")
    assert r.status_code == 200, r.content


def test_a_submission_keeps_where_the_problem_is(public: Any) -> None:
    where = {"location": "芙蓉区五一大道 100 号", "lat": 28.196, "lng": 112.977}
    r = public.post("/petitions", public_letter(**where))
    assert r.status_code == 201, r.content
    case = Case.objects.get(pk=r.json()["id"])
    assert (case.location, case.lat, case.lng) == ("芙蓉区五一大道 100 号", 28.196, 112.977)


@pytest.mark.parametrize(
    "where",
    [{"lat": 28.1}, {"lat": 91, "lng": 0}, {"lat": 0, "lng": -181}],
    ids=["lat-without-lng", "lat-out-of-range", "lng-out-of-range"],
)
def test_a_location_out_of_range_or_half_given_is_refused(public: Any, where: dict) -> None:
    before = Case.objects.count()
    r = public.post("/petitions", public_letter(**where))
    assert r.status_code in (400, 422), r.content
    assert Case.objects.count() == before
