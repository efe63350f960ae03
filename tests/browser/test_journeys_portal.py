"""The citizen's journeys through the portal, in a real browser against a live server.

Each journey fails on any console error and saves a screenshot of every page it visits."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from petitiondesk.cases.models import Case
from petitiondesk.reference.services import divisions_load
from tests.browser.conftest import Journey
from tests.test_access_matrix import PNG
from tests.test_web_portal import AFTER_THE_WINDOWS, DIVISIONS, replied_claim

pytestmark = pytest.mark.django_db(transaction=True)

OPINION = "经核查，学位分配符合政策。"


@pytest.fixture(autouse=True)
def _world(org_tree: None, settings: Any, tmp_path: Any) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    divisions_load(records=DIVISIONS)


def click_to(journey: Journey, selector: str, label: str) -> None:
    """Click a link or button that loads a page, and screenshot that page."""
    with journey.page.expect_navigation():
        journey.page.click(selector)
    journey.shot(label)


def choose(journey: Journey, select: str, value: str) -> None:
    """Pick a division once htmx has loaded its options."""
    journey.page.wait_for_selector(f"{select} option[value='{value}']", state="attached")
    journey.page.select_option(select, value)


def submit_a_claim(journey: Journey) -> tuple[str, str]:
    """From the home page: submit a claim with an attachment; return the receipt's number and key."""
    page = journey.page
    click_to(journey, "main a[href='/submit/']", "submit")
    journey.assert_accessible()
    page.fill("#id_title", "孩子入学学位分配问题")
    page.fill("#id_content", "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。")
    page.check("input[name=category][value=claim]")
    choose(journey, "#id_province", "990000")
    choose(journey, "#id_city", "990100")
    choose(journey, "#id_county", "990101")
    page.fill("#id_name", "王小明")
    page.fill("#id_phone", "13800000000")
    page.set_input_files(
        "#id_attachments", files=[{"name": "scan.png", "mimeType": "image/png", "buffer": PNG}]
    )
    click_to(journey, "main form button[type=submit]", "receipt")
    assert page.url.endswith("/receipt/")
    return page.inner_text("#tracking-number"), page.inner_text("#access-key")


def track(journey: Journey, number: str, key: str) -> None:
    page = journey.page
    page.fill("#id_tracking_number", number)
    page.fill("#id_access_key", key)
    click_to(journey, "main form button[type=submit]", "case")
    assert journey.page.url.endswith("/track/case/")


def test_a_citizen_submits_a_claim_with_an_attachment_and_tracks_it(journey: Journey) -> None:
    journey.go("/")
    journey.assert_accessible()

    number, key = submit_a_claim(journey)
    click_to(journey, "main a[href='/track/']", "track")
    journey.assert_accessible()
    track(journey, number, key)

    case = Case.objects.get(tracking_number=number)
    assert case.division_code == "990101" and case.category == "claim"
    assert case.attachments.get().filename == "scan.png"
    text = journey.page.inner_text("main")
    assert number in text and "孩子入学学位分配问题" in text and "scan.png" in text
    assert journey.page.get_attribute("html", "lang") == "zh-hans"
    assert "2026年11月27日" in text  # received today, in the Chinese date format


def test_the_same_journey_in_english_remembers_the_language(journey: Journey) -> None:
    page = journey.page
    journey.go("/")
    page.select_option("#lang-select", "en")
    click_to(journey, ".lang-form button[type=submit]", "home-en")
    assert page.get_attribute("html", "lang") == "en"

    number, key = submit_a_claim(journey)
    assert page.get_attribute("html", "lang") == "en"
    assert "Nov. 27, 2026" in page.inner_text("main")
    click_to(journey, "main a[href='/track/']", "track")
    track(journey, number, key)

    assert page.get_attribute("html", "lang") == "en"
    assert "Your petition" in page.inner_text("h1")
    assert "scan.png" in page.inner_text("main")


def test_the_citizen_rates_the_reply_and_requests_a_review_within_the_window(
    journey: Journey, clerk_alice: Any, handler_bob: Any
) -> None:
    case, key = replied_claim(clerk_alice, handler_bob)
    late_case, late_key = replied_claim(clerk_alice, handler_bob)
    page = journey.page

    journey.go("/track/")
    track(journey, case.tracking_number, key)
    assert OPINION in page.inner_text("main")
    assert "2026年12月28日" in page.inner_text("#appeal")  # "until": the window's last day
    page.check("input[name=rating][value=dissatisfied]")
    click_to(journey, "#rate button[type=submit]", "rated")
    assert page.locator("#rate form").count() == 0  # rated once: the window is settled
    click_to(journey, "#appeal button[type=submit]", "review-requested")

    case.refresh_from_db()
    assert (case.rating, case.status, case.org.code) == ("dissatisfied", "under_review", "K")
    assert page.locator("#appeal").count() == 0

    with time_machine.travel(AFTER_THE_WINDOWS, tick=False):
        journey.go("/track/")  # weeks later: the session has ended, the key is asked again
        track(journey, late_case.tracking_number, late_key)
        assert OPINION in page.inner_text("main")
        assert page.locator("#appeal").count() == 0
        assert page.locator("#rate").count() == 0
        token = page.input_value("input[name=csrfmiddlewaretoken] >> nth=0")
        refused = page.request.post(
            journey.base_url + "/track/case/appeal/",
            form={"verb": "request_review", "csrfmiddlewaretoken": token},
        )

    assert refused.status == 422
    assert "2026-12-28" in refused.text()
    late_case.refresh_from_db()
    assert late_case.status == "replied"


def test_the_portal_fits_a_phone(browser: Any, live_server: Any) -> None:
    from tests.browser.conftest import new_journey

    phone = new_journey(
        browser, live_server, "phone", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    try:
        for path in ("/", "/submit/", "/track/"):
            phone.go(path)
            width = phone.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
            phone.assert_accessible()
    finally:
        phone.page.context.close()
    phone.finish()
