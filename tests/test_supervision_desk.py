"""Supervision notices by hand and backlog cases through the API and the desk pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from petitiondesk.accounts.services import user_add
from petitiondesk.cases.services import case_route
from petitiondesk.supervision.models import Notification, SupervisionRecord
from petitiondesk.supervision.services import deadlines_sweep
from tests.conftest import login_verified
from tests.test_supervision_ladder import registered_case

NOTICES = "/supervision/notices"


@pytest.fixture
def held_case(api_as, clerk_alice) -> int:
    """A claim registered and routed by the county petition bureau, held by the education bureau."""
    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-20")
    case_route(case_id=case_id, actor=clerk_alice, to_org="K-EDU")
    return case_id


def issue(api: Any, case_id: int, **overrides: Any) -> Any:
    body = {
        "case_id": case_id,
        "reason": "poor",
        "recommendations": "限期重新调查，追究承办人责任。",
        "answer_by": "2026-12-07",
        **overrides,
    }
    return api.post(NOTICES, body)


@pytest.mark.django_db
def test_a_notice_by_hand_is_answered_by_the_organ_and_closed_by_the_issuer(
    api_as, held_case, handler_bob, head_erin, supervisor_carol
):
    carol, bob = api_as(supervisor_carol), api_as(handler_bob)
    r = issue(carol, held_case)
    assert r.status_code == 201, r.content
    notice = r.json()
    assert (notice["org"], notice["issuer_org"], notice["state"]) == ("K-EDU", "C", "open")
    # The head of the addressed organ is told.
    assert Notification.objects.filter(recipient=head_erin, kind="supervise").count() == 1
    # The issuer cannot close before the answer; the organ answers in writing.
    assert carol.post(f"{NOTICES}/{notice['id']}/close", {}).json()["error"]["code"] == (
        "not_answered"
    )
    r = bob.post(
        f"{NOTICES}/{notice['id']}/answer",
        {"text": "已重新调查并整改。", "answered_on": "2026-11-27"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "answered"
    assert Notification.objects.filter(
        recipient=supervisor_carol, kind="supervision_answer"
    ).exists()
    assert bob.post(f"{NOTICES}/{notice['id']}/close", {}).status_code == 403
    r = carol.post(f"{NOTICES}/{notice['id']}/close", {})
    assert (r.status_code, r.json()["state"]) == (200, "closed")


@pytest.mark.django_db
def test_the_holding_organ_cannot_supervise_itself(api_as, held_case, head_erin):
    r = issue(api_as(head_erin), held_case)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")


@pytest.mark.django_db
def test_a_notice_needs_an_answer_date_not_in_the_past(api_as, held_case, clerk_alice):
    r = issue(api_as(clerk_alice), held_case, answer_by="2026-11-26")
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {"answer_by": "past"}


@pytest.mark.django_db
def test_a_stranger_org_gets_404_for_notices_and_backlog(api_as, held_case, supervisor_carol):
    hugo = api_as(user_add(username="hugo", org_code="K-HOUSING", role="head"))
    notice = issue(api_as(supervisor_carol), held_case).json()
    backlog = api_as(supervisor_carol).post("/supervision/backlog", {"case_id": held_case}).json()
    assert issue(hugo, held_case).status_code == 404
    assert hugo.get(f"{NOTICES}/{notice['id']}").status_code == 404
    assert hugo.post(f"{NOTICES}/{notice['id']}/answer", {"text": "x"}).status_code == 404
    assert hugo.get(f"/supervision/backlog/{backlog['id']}").status_code == 404
    assert hugo.post("/supervision/backlog", {"case_id": held_case}).status_code == 404
    assert hugo.get(NOTICES).json() == {"count": 0, "results": []}


@pytest.mark.django_db
def test_backlog_through_the_api(api_as, held_case, supervisor_carol, head_erin, handler_bob):
    carol = api_as(supervisor_carol)
    r = carol.post("/supervision/backlog", {"case_id": held_case})
    assert r.status_code == 201
    backlog_id = r.json()["id"]
    assert carol.post("/supervision/backlog", {"case_id": held_case}).status_code == 200
    path = f"/supervision/backlog/{backlog_id}"
    assert carol.post(f"{path}/assign", {"owner": "erin"}).json()["owner"] == "erin"
    erin = api_as(head_erin)
    r = erin.post(f"{path}/plan", {"plan": "包案化解。", "target_on": "2027-01-31"})
    assert r.json()["target_on"] == "2027-01-31"
    api_as(handler_bob).post(f"{path}/progress", {"text": "已走访。"})
    r = erin.post(f"{path}/resolve", {"outcome": "已化解。"})
    body = r.json()
    assert (body["state"], [p["text"] for p in body["progress"]]) == ("resolved", ["已走访。"])
    assert body["days_open"] == 7
    listed = carol.get("/supervision/backlog?state=resolved&min_days=7").json()
    assert [b["id"] for b in listed["results"]] == [backlog_id]
    assert carol.get("/supervision/backlog?min_days=8").json()["count"] == 0


# --- desk pages -------------------------------------------------------------------------------


def desk(user: Any) -> Client:
    client = Client()
    login_verified(client, user)
    client.cookies["django_language"] = "en"  # the assertions read the English pages
    return client


@pytest.mark.django_db
def test_the_inbox_shows_the_users_notifications_with_the_unread_count(
    api_as, clerk_alice, supervisor_carol
):
    registered_case(api_as, clerk_alice, received_on="2026-09-01")
    deadlines_sweep()  # a supervision notice to K-XF (routing missed): alice is told
    client = desk(clerk_alice)
    with translation.override("en"):
        page = client.get("/desk/supervision/inbox/").content.decode()
        assert "supervision notice" in page and "Inbox (1)" in page
        assert "answer by 2026-12-07" in page
        assert client.post("/desk/supervision/inbox/").status_code == 303
        assert "Inbox (1)" not in client.get("/desk/supervision/inbox/").content.decode()
        assert (
            "Nothing in your inbox"
            in desk(supervisor_carol).get("/desk/supervision/inbox/").content.decode()
        )


@pytest.mark.django_db
def test_the_organ_answers_on_the_notice_page_and_the_board_lists_open_notices(
    api_as, held_case, handler_bob, supervisor_carol
):
    record_id = issue(api_as(supervisor_carol), held_case).json()["id"]
    bob = desk(handler_bob)
    page = f"/desk/supervision/notices/{record_id}/"
    with translation.override("en"):
        assert "Answer in writing" in bob.get(page).content.decode()
        assert "Answer in writing" not in desk(supervisor_carol).get(page).content.decode()
        board = desk(supervisor_carol).get("/desk/board/").content.decode()
        assert f"/desk/supervision/notices/{record_id}/" in board
        assert "1 open, 0 past their answer date" in board
    r = bob.post(f"{page}answer/", {"text": "已整改。"})
    assert r.status_code == 303
    assert SupervisionRecord.objects.get(pk=record_id).state == "answered"
    assert desk(supervisor_carol).post(f"{page}close/").status_code == 303
    assert SupervisionRecord.objects.get(pk=record_id).state == "closed"


@pytest.mark.django_db
def test_issuing_and_flagging_on_the_desk(api_as, held_case, supervisor_carol, head_erin):
    from petitiondesk.cases.models import Case

    tn = Case.objects.get(pk=held_case).tracking_number
    carol = desk(supervisor_carol)
    r = carol.post(
        "/desk/supervision/notices/",
        {
            "issue-tracking_number": tn,
            "issue-reason": "late",
            "issue-recommendations": "请加快办理。",
            "issue-answer_by": "2026-12-04",
        },
    )
    assert r.status_code == 303
    assert SupervisionRecord.objects.filter(case_id=held_case, reason="late").count() == 1
    assert carol.post("/desk/supervision/backlog/", {"flag-tracking_number": tn}).status_code == 303
    with translation.override("en"):
        board = carol.get("/desk/supervision/backlog/").content.decode()
        assert tn in board
        backlog_id = Case.objects.get(pk=held_case).backlog.pk
        r = carol.post(f"/desk/supervision/backlog/{backlog_id}/assign/", {"owner": "erin"})
        assert r.status_code == 303
        detail = desk(head_erin).get(f"/desk/supervision/backlog/{backlog_id}/").content.decode()
        assert "Save the plan" in detail and "erin" in detail


@pytest.mark.django_db
def test_a_notice_by_hand_on_a_late_case_freezes_the_written_notice(
    api_as, clerk_alice, supervisor_carol, settings, tmp_path
):
    """The written supervision notice (督办单) comes from the notices app, with the recommendations
    as its requirements; it needs a missed clock."""
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    case_id = registered_case(api_as, clerk_alice, received_on="2026-09-01")
    carol = api_as(supervisor_carol)
    r = issue(carol, case_id, reason="late", document=True)
    assert r.json()["error"]["code"] == "notice_not_applicable"  # no clock missed yet
    assert not SupervisionRecord.objects.filter(case_id=case_id).exists()  # all or nothing
    deadlines_sweep()
    r = issue(carol, case_id, reason="late", document=True)
    assert r.status_code == 201, r.content
    record = SupervisionRecord.objects.get(pk=r.json()["id"])
    assert record.notice is not None
    assert record.notice.kind == "supervision"
    assert record.notice.facts["requirements"] == "限期重新调查，追究承办人责任。"
    assert record.notice.facts["answer_by"] == "2026-12-07"


@pytest.mark.django_db
def test_notifications_are_read_through_the_api_and_by_opening_the_notice(
    api_as, held_case, head_erin, supervisor_carol
):
    record_id = issue(api_as(supervisor_carol), held_case).json()["id"]
    erin = api_as(head_erin)
    with translation.override("en"):
        listed = erin.get("/supervision/notifications", **{"Accept-Language": "en"}).json()
    assert listed["unread"] == 1
    [n] = listed["results"]
    assert (n["kind"], n["record_id"], n["detail"]) == (
        "supervise",
        record_id,
        "answer by 2026-12-07",
    )
    assert api_as(supervisor_carol).get("/supervision/notifications").json()["unread"] == 0
    desk(head_erin).get(f"/desk/supervision/notices/{record_id}/")
    assert erin.get("/supervision/notifications").json()["unread"] == 0
    assert erin.post("/supervision/notifications/read", {}).json() == {"marked": 0}
