"""Notices over the JSON API: issue, list, download the PDF, confirm a delivery."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from petitiondesk.cases.models import Deadline

D = dt.date
EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def _storage(settings: Any, tmp_path: Path) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    settings.PETITIONDESK_SMS_FILE = tmp_path / "sms.jsonl"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


PETITIONER = {
    "name": "王小明",
    "phone": "13800000000",
    "email": "wxm@example.cn",
    "address": "示范县城关镇人民路1号",
}


def claim(api_as, alice, bob, *, stage: str = "accepted", **overrides: Any) -> int:
    from tests.conftest import letter

    clerk, handler = api_as(alice), api_as(bob)
    body = letter(received_on="2026-11-16", petitioners=[PETITIONER])
    body.update(overrides)
    case_id = clerk.post("/petitions", body).json()["id"]
    assert clerk.act(case_id, "route", to_org="K-EDU", effective_on="2026-11-17").status_code == 200
    if stage == "routed":
        return case_id
    r = handler.act(case_id, "accept", claim_route=6, effective_on="2026-11-18")
    assert r.status_code == 200, r.content
    if stage == "replied":
        r = handler.act(
            case_id, "reply", outcome="support", opinion="予以支持。", effective_on="2026-11-20"
        )
        assert r.status_code == 200, r.content
    return case_id


OPINION_FIELDS = {"facts_found": "经核查属实。", "legal_basis": "《义务教育法》第十二条"}


def test_issuing_over_the_api_returns_the_notice_with_its_deliveries(
    api_as, clerk_alice, handler_bob, django_capture_on_commit_callbacks, mailoutbox
):
    case_id = claim(api_as, clerk_alice, handler_bob)
    with django_capture_on_commit_callbacks(execute=True):
        r = api_as(handler_bob).post(
            f"/petitions/{case_id}/notices",
            {"kind": "acceptance", "deliver": [{"channel": "email"}, {"channel": "post"}]},
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"] == "〔2026〕第1号" and body["org"] == "K-EDU"
    assert body["template_version"] == 1 and body["issued_by"] == "bob"
    assert body["facts"]["accepted_on"] == "2026-11-18"
    assert [(d["channel"], d["address"], d["state"]) for d in body["deliveries"]] == [
        ("email", "wxm@example.cn", "pending"),  # as issued; the task sends it on commit
        ("post", "示范县城关镇人民路1号", "sent"),
    ]
    assert len(mailoutbox) == 1

    listed = api_as(handler_bob).get(f"/petitions/{case_id}/notices").json()["results"]
    assert [n["id"] for n in listed] == [body["id"]]
    assert listed[0]["deliveries"][0]["state"] == "sent"


def test_the_pdf_is_a_download_of_the_frozen_notice(api_as, clerk_alice, handler_bob):
    case_id = claim(api_as, clerk_alice, handler_bob)
    notice = api_as(handler_bob).post(f"/petitions/{case_id}/notices", {"kind": "acceptance"})
    r = api_as(clerk_alice).get(f"/petitions/{case_id}/notices/{notice.json()['id']}/pdf")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"].startswith("attachment")
    assert b"".join(r.streaming_content).startswith(b"%PDF-")
    assert api_as(clerk_alice).get(f"/petitions/{case_id}/notices/999/pdf").status_code == 404


def test_confirming_over_the_api_moves_the_review_window(api_as, clerk_alice, handler_bob):
    case_id = claim(api_as, clerk_alice, handler_bob, stage="replied")
    bob = api_as(handler_bob)
    notice = bob.post(
        f"/petitions/{case_id}/notices",
        {"kind": "handling_opinion", **OPINION_FIELDS, "deliver": [{"channel": "post"}]},
    ).json()
    delivery = notice["deliveries"][0]
    url = f"/petitions/{case_id}/notices/{notice['id']}/deliveries/{delivery['id']}/confirm"

    r = bob.post(url, {"delivered_on": "2026-11-27"})

    assert r.status_code == 200, r.content
    assert r.json()["state"] == "delivered" and r.json()["delivered_on"] == "2026-11-27"
    window = Deadline.objects.get(case_id=case_id, rule="review_request")
    assert (window.start_on, window.due_on) == (D(2026, 11, 27), D(2026, 12, 28))
    case = bob.get(f"/petitions/{case_id}").json()
    assert case["events"][-1]["verb"] == "deliver"
    other = f"/petitions/{case_id}/notices/{notice['id'] + 1}/deliveries/{delivery['id']}/confirm"
    assert bob.post(other, {"delivered_on": "2026-11-27"}).status_code == 404


def test_a_notice_the_history_does_not_support_is_a_409(api_as, clerk_alice, handler_bob):
    case_id = claim(api_as, clerk_alice, handler_bob, stage="routed")
    r = api_as(handler_bob).post(f"/petitions/{case_id}/notices", {"kind": "acceptance"}, **EN)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "notice_not_applicable"
    assert "cannot be issued" in r.json()["error"]["message"]


def test_delivering_to_an_anonymous_petitioner_is_a_422(api_as, clerk_alice, handler_bob):
    case_id = claim(api_as, clerk_alice, handler_bob, anonymous=True, petitioners=[])
    r = api_as(handler_bob).post(
        f"/petitions/{case_id}/notices",
        {"kind": "acceptance", "deliver": [{"channel": "sms"}]},
        **EN,
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "anonymous_petitioner"
    assert "anonymous" in r.json()["error"]["message"]
    filed = api_as(handler_bob).post(f"/petitions/{case_id}/notices", {"kind": "acceptance"})
    assert filed.status_code == 201


def test_an_unknown_kind_or_field_is_a_400(api_as, clerk_alice, handler_bob):
    case_id = claim(api_as, clerk_alice, handler_bob)
    bob = api_as(handler_bob)
    assert bob.post(f"/petitions/{case_id}/notices", {"kind": "letter"}).status_code == 400
    r = bob.post(f"/petitions/{case_id}/notices", {"kind": "acceptance", "colour": "red"})
    assert r.status_code == 400
    r = bob.post(
        f"/petitions/{case_id}/notices",
        {"kind": "acceptance", "deliver": [{"channel": "email", "address": "not-an-address"}]},
    )
    assert r.status_code == 400 and r.json()["error"]["fields"] == {
        "address": "not an e-mail address"
    }


def test_a_confidential_petitioners_address_is_shown_only_to_the_handler(
    api_as, clerk_alice, handler_bob
):
    case_id = claim(api_as, clerk_alice, handler_bob, confidential=True)
    bob = api_as(handler_bob)
    r = bob.post(
        f"/petitions/{case_id}/notices", {"kind": "acceptance", "deliver": [{"channel": "sms"}]}
    )
    assert r.status_code == 201, r.content
    assert r.json()["deliveries"][0]["address"] == "13800000000"
    seen_by_clerk = api_as(clerk_alice).get(f"/petitions/{case_id}/notices").json()["results"]
    assert seen_by_clerk[0]["deliveries"][0]["address"] == "confidential"
