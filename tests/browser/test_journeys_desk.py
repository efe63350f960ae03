"""Journeys through the staff workbench in a real browser (Debian's chromium) against a live server.

The clock is frozen at Friday 2026-11-27 10:00 (+08:00) for the test and the live server alike.
Every page and every htmx step worth seeing is photographed under test-artifacts/; a console error
fails the journey; axe-core checks the work list, the case page and the board.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import otp_enrol, user_add
from petitiondesk.cases.models import Case, ExtensionRequest
from petitiondesk.supervision.services import deadlines_sweep
from tests.test_access_matrix import register

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Correct-Horse-Battery-42"


def staff(username: str, org: str, role: str) -> User:
    return user_add(username=username, org_code=org, role=role, password=PASSWORD)


def log_in(journey: Any, user: User, next_url: str, otp: str = "") -> None:
    page = journey.page
    journey.go(f"/accounts/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    if otp:
        page.fill("#id_otp_token", otp)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**{next_url}")
    journey.shot(f"{user.username}-{next_url}")


def log_out(journey: Any) -> None:
    journey.page.click("form.inline-form button[type=submit]")
    journey.page.wait_for_url("**/accounts/login/**")
    journey.shot("logged-out")


def act(journey: Any, action: str, label: str, gone: str | None = None) -> None:
    """Submit the form of `action` (htmx) and wait for the refreshed panels."""
    page = journey.page
    with page.expect_response(lambda r: f"/act/{action}/" in r.url):
        page.click(f"#action-{action} button[type=submit]")
    page.wait_for_selector(f"#action-{gone or action}", state="detached")
    journey.shot(label)


def test_journey_2_register_route_accept_extend_reply(journey: Any, org_tree: None) -> None:
    alice = staff("alice", "K-XF", "clerk")
    bob = staff("bob", "K-EDU", "handler")
    erin = staff("erin", "K-EDU", "head")
    page = journey.page

    # The clerk registers a letter received a week ago and routes it to the education bureau.
    log_in(journey, alice, "/desk/")
    journey.go("/desk/register/")
    page.select_option("#id_channel", "letter")
    page.fill("#id_received_on", "2026-11-20")
    page.fill("#id_title", "孩子入学学位分配问题")
    page.fill("#id_content", "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。")
    page.select_option("#id_category", "claim")
    page.fill("#id_name", "王小明")
    page.fill("#id_phone", "13800000000")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/desk/cases/*/")
    journey.shot("registered")
    case = Case.objects.get(title="孩子入学学位分配问题")
    assert case.received_on == dt.date(2026, 11, 20) and case.channel == "letter"
    page.select_option("#id_route-to_org", "K-EDU")
    act(journey, "route", "routed")
    log_out(journey)

    # The handler finds it in the list to accept, accepts it and asks for an extension.
    log_in(journey, bob, "/desk/")
    page.click(f"a[href='/desk/cases/{case.pk}/']")
    page.wait_for_url(f"**/desk/cases/{case.pk}/")
    journey.shot("case-for-handler")
    journey.assert_accessible()
    page.select_option("#id_accept-claim_route", "6")
    act(journey, "accept", "accepted")
    page.fill("#id_request_extension-days", "30")
    page.fill("#id_request_extension-reason", "需要会同住建部门核查学区划分")
    act(journey, "request_extension", "extension-requested")
    log_out(journey)

    # The head approves the extension from the list of extensions to approve.
    log_in(journey, erin, "/desk/?list=extensions")
    journey.assert_accessible()
    page.click(f"a[href='/desk/cases/{case.pk}/']")
    page.wait_for_url(f"**/desk/cases/{case.pk}/")
    journey.shot("case-for-head")
    page.fill("#id_approve_extension-petitioner_notified_on", "2026-11-27")
    act(journey, "approve_extension", "extension-approved")
    assert ExtensionRequest.objects.get(case=case).state == "approved"
    log_out(journey)

    # The handler replies.
    log_in(journey, bob, f"/desk/cases/{case.pk}/")
    page.select_option("#id_reply-outcome", "support")
    page.fill("#id_reply-opinion", "经核查，按户籍所在学区重新分配学位。")
    act(journey, "reply", "replied")
    case.refresh_from_db()
    assert (case.status, case.extension_days) == ("replied", 30)


def test_journey_4_a_supervisor_sees_an_overdue_case_on_the_board(
    journey: Any, org_tree: None
) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    alice = staff("alice", "K-XF", "clerk")
    carol = staff("carol", "C", "supervisor")
    case_id, tn, _key = register(alice, received_on="2026-10-01")  # routing was due 2026-10-16
    deadlines_sweep()
    otp_enrol(username="carol")
    device = TOTPDevice.objects.get(user=carol)
    code = f"{totp(device.bin_key):06d}"

    log_in(journey, carol, "/desk/board/", otp=code)
    journey.assert_accessible()
    # Listed among the overdue cases (and again among the open supervision notices it got).
    row = journey.page.locator("section[aria-labelledby='h-overdue'] tr", has_text=tn)
    assert row.count() == 1
    assert "示范县信访局" in row.inner_text()
    notice = journey.page.locator("section[aria-labelledby='h-notices'] tr", has_text=tn)
    assert notice.count() == 1
    row.locator(f"a[href='/desk/cases/{case_id}/']").click()
    journey.page.wait_for_url(f"**/desk/cases/{case_id}/")
    journey.shot("overdue-case")
    journey.assert_accessible()
