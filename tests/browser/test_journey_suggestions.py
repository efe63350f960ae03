"""The people's suggestions journey in a real browser (Debian's chromium) against a live server.

A citizen answers an open solicitation (with consent to publication and support); another citizen,
on a phone, supports it after confirming the code sent to their e-mail (read from the test
outbox); a handler of the office adopts it (assess, decide, reply with publication) and records a
conversion; the public page then shows the reply. The clock is frozen at 2026-11-27 10:00 (+08:00).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail

from petitiondesk.suggestions.models import Suggestion
from petitiondesk.suggestions.services import solicitation_publish
from tests.browser.conftest import new_journey
from tests.browser.test_journeys_desk import log_in, log_out, staff

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.date(2026, 11, 27)
REPLY = "您的建议已被采纳，将写入本市加装电梯办法。"


def test_journey_suggestion_answered_supported_adopted_and_converted(
    journey: Any, browser: Any, live_server: Any, org_tree: None, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alice = staff("alice", "K-XF", "clerk")
    xavier = staff("xavier", "K-XF", "handler")
    solicitation = solicitation_publish(
        actor=alice,
        title="老旧小区加装电梯",
        description="本市正在制定老旧小区加装电梯的办法，欢迎提出意见建议。",
        question="加装电梯的费用应当如何分担？",
        opens_on=TODAY - dt.timedelta(days=7),
        closes_on=TODAY + dt.timedelta(days=30),
        support_threshold=100,
    )
    page = journey.page

    # A citizen answers the open solicitation, consenting to publication and support.
    journey.go("/suggestions/")
    journey.assert_accessible()
    page.click(f"a[href='/suggestions/solicitations/{solicitation.pk}/']")
    page.wait_for_url(f"**/suggestions/solicitations/{solicitation.pk}/")
    journey.shot("solicitation")
    journey.assert_accessible()
    page.fill("#id_title", "按楼层分担加装电梯费用")
    page.fill("#id_reasons", "高层住户受益多，低层住户受益少，平均分担不公平。")
    page.fill("#id_proposal", "按楼层设定分担系数，一楼免缴，政府补贴三成。")
    page.fill("#id_proposer_name", "李建国")
    page.fill("#id_proposer_phone", "13900001111")
    page.check("#id_public_consent")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/suggestions/receipt/")
    journey.shot("receipt")
    tracking = page.inner_text("#tracking-number")
    assert tracking.startswith("JY20261127")
    suggestion = Suggestion.objects.get(tracking_number=tracking)
    assert suggestion.solicitation_id == solicitation.pk and suggestion.public_consent

    # Another citizen, on a phone, supports it after confirming the code sent by e-mail.
    phone = new_journey(
        browser,
        live_server,
        "suggestion-supporter",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
    )
    try:
        phone.go("/suggestions/")
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"/suggestions/ scrolls sideways on a phone ({width}px)"
        phone.page.click(f"a[href='/suggestions/{suggestion.pk}/support/']")
        phone.page.wait_for_url(f"**/suggestions/{suggestion.pk}/support/")
        phone.shot("support")
        phone.assert_accessible()
        phone.page.fill("#id_contact", "wang.fang@example.cn")
        phone.page.click("#contact-form button[type=submit]")
        phone.page.wait_for_selector("#code-form")
        phone.shot("code-sent")
        assert mail.outbox and mail.outbox[-1].to == ["wang.fang@example.cn"]
        code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
        assert code is not None
        phone.page.fill("#id_code", code.group(1))
        phone.page.click("#code-form button[type=submit]")
        phone.page.wait_for_selector("#supported")
        phone.shot("supported")
        assert "1" in phone.page.inner_text("#support-count")
    finally:
        phone.page.context.close()
    phone.finish()

    # A handler of the office assesses, adopts, replies with publication and records a conversion.
    log_in(journey, xavier, "/desk/suggestions/")
    journey.assert_accessible()
    page.click(f"a[href='/desk/suggestions/{suggestion.pk}/']")
    page.wait_for_url(f"**/desk/suggestions/{suggestion.pk}/")
    journey.shot("suggestion")
    journey.assert_accessible()

    def act(verb: str, fill: dict[str, str], label: str, *, once: bool = True) -> None:
        for selector, value in fill.items():
            if selector.startswith("select:"):
                page.select_option(selector[7:], value)
            elif value == "check":
                page.check(selector)
            else:
                page.fill(selector, value)
        with page.expect_navigation():
            page.click(f"#action-{verb} button[type=submit]")
        if once:  # a suggestion may be converted more than once: that form stays
            page.wait_for_selector(f"#action-{verb}", state="detached")
        journey.shot(label)

    act("assess", {"#id_assess-note": "建议具体可行，涉及住建部门职责。"}, "assessed")
    act(
        "decide",
        {"select:#id_decide-decision": "adopted", "#id_decide-reason": "分担方案公平可行。"},
        "decided",
    )
    act("reply", {"#id_reply-reply": REPLY, "#id_reply-publish": "check"}, "replied")
    act(
        "convert",
        {
            "select:#id_convert-kind": "policy",
            "#id_convert-reference": "示范县政办发〔2026〕12号",
            "#id_convert-on": "2026-11-27",
        },
        "converted",
        once=False,
    )
    assert "示范县政办发〔2026〕12号" in page.inner_text("#conversions")
    suggestion.refresh_from_db()
    assert suggestion.status == "converted" and suggestion.published
    journey.go("/desk/suggestions/stats/")
    journey.assert_accessible()
    log_out(journey)

    # The public page shows the published reply, without the proposer's details.
    journey.go("/suggestions/")
    body = page.inner_text("main")
    assert REPLY in body and "按楼层分担加装电梯费用" in body
    assert "李建国" not in body and "13900001111" not in body
