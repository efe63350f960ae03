"""Journey 5: the workbench and the petitioner's page in English, in a real browser.

English is chosen once in the header (on the login page) and holds through the login, the work
lists, the case page, registration, the supervision board and the citizen's tracking page. Its
screenshots, with the Chinese ones of the other journeys, illustrate docs/user-guide.md
(docs/images/).
"""

from __future__ import annotations

import datetime as dt

import pytest

from petitiondesk.accounts.services import otp_enrol
from petitiondesk.cases import services
from petitiondesk.cases.extensions import extension_request
from petitiondesk.reference.services import divisions_load
from petitiondesk.supervision.services import deadlines_sweep
from tests.browser.conftest import Journey
from tests.browser.test_journeys_desk import log_in, log_out, staff
from tests.test_access_matrix import register
from tests.test_web_portal import DIVISIONS, replied_claim

pytestmark = pytest.mark.django_db(transaction=True)


def test_journey_5_the_workbench_in_english(journey: Journey, org_tree: None) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    divisions_load(records=DIVISIONS)
    alice = staff("alice", "K-XF", "clerk")
    bob = staff("bob", "K-EDU", "handler")
    erin = staff("erin", "K-EDU", "head")
    carol = staff("carol", "C", "supervisor")
    # A claim the education bureau accepted; its handler asks for an extension.
    case_id, tn, _key = register(alice, received_on="2026-11-20")
    services.case_route(case_id=case_id, actor=alice, to_org="K-EDU")
    services.case_accept(case_id=case_id, actor=bob, claim_route=6)
    extension_request(case_id=case_id, actor=bob, days=30, reason="需要会同住建部门核查学区划分")
    # A suggestion routed on 2026-11-13: its acceptance notice is due on Monday 2026-11-30.
    soon_id, soon_tn, _ = register(
        alice, received_on="2026-11-12", title="建议增设校车线路", category="suggestion"
    )
    services.case_route(
        case_id=soon_id, actor=alice, to_org="K-EDU", effective_on=dt.date(2026, 11, 13)
    )
    # A claim answered today, and a letter the petition bureau never routed (due 2026-10-16).
    replied, replied_key = replied_claim(alice, bob)
    _, late_tn, _ = register(alice, received_on="2026-10-01", title="小区施工噪音扰民")
    deadlines_sweep()
    page = journey.page

    # English is chosen on the login page and stays chosen after logging in.
    journey.go("/accounts/login/?next=/desk/")
    page.select_option("#lang-select", "en")
    with page.expect_navigation():
        page.click(".lang-form button[type=submit]")
    journey.shot("login-en")
    assert page.get_attribute("html", "lang") == "en"
    assert "One-time code" in page.inner_text("main")

    log_in(journey, erin, "/desk/?list=all")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "Work lists: All cases"
    tabs = page.inner_text("ul.tabs")
    assert "Extensions to approve" in tabs and "Due within 3 days" in tabs
    assert "60 days left" in page.locator("tr", has_text=tn).inner_text()
    assert "3 days left" in page.locator("tr", has_text=soon_tn).inner_text()
    assert late_tn not in page.inner_text("main")  # held by the petition bureau: not erin's

    page.click(f"a[href='/desk/cases/{case_id}/']")
    page.wait_for_url(f"**/desk/cases/{case_id}/")
    journey.shot("case")
    panels = page.inner_text("#case-panels")
    assert "bob asks for an extension of 30 days" in panels
    assert "Approve the extension" in panels and "Refuse the extension" in panels
    handling = page.locator("#case-panels tr", has_text="handling").first.inner_text()
    assert "Jan. 26, 2027" in handling and "60 days left" in handling

    journey.go("/desk/register/")
    assert page.inner_text("h1") == "Register a petition"
    assert "The day the letter, visit, call or fax came in." in page.inner_text("main")
    log_out(journey)

    # The supervisor needs the one-time code; the board shows the letter nobody routed.
    otp_enrol(username="carol")
    code = f"{totp(TOTPDevice.objects.get(user=carol).bin_key):06d}"
    log_in(journey, carol, "/desk/board/", otp=code)
    assert page.inner_text("h1") == "Supervision board"
    row = page.locator("section[aria-labelledby='h-overdue'] tr", has_text=late_tn).inner_text()
    assert "42 days overdue" in row  # due 2026-10-16, the sweep saw it the next day
    log_out(journey)

    # The petitioner tracks the answered claim: the rating and the review, each with its window.
    journey.go("/track/")
    page.fill("#id_tracking_number", replied.tracking_number)
    page.fill("#id_access_key", replied_key)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    journey.shot("tracked")
    assert page.get_attribute("html", "lang") == "en"
    assert "Request a review (复查)" in page.inner_text("#appeal")
    assert "Dec. 28, 2026" in page.inner_text("#appeal")
    assert "You can rate until Dec. 28, 2026" in page.inner_text("#rate")
