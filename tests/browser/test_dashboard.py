"""The analytics dashboard in a real browser (Debian's chromium) against a live server.

Seven cases of tests/test_kpis.py and a people's suggestion are counted; a city supervisor (with
the second factor) opens the dashboard: every chart is drawn with ECharts from the embedded table,
without a console error (the page's CSP allows no inline script or style), in Chinese and in
English, the map of divisions included (drawn from a test boundary file). The screenshots illustrate docs/analytics.md (docs/images/dashboard.*.png).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from petitiondesk.accounts.services import otp_enrol
from petitiondesk.analytics.rollup import counts_rollup
from petitiondesk.suggestions.services import (
    SuggestionSubmission,
    solicitation_publish,
    suggestion_submit,
)
from tests.browser.conftest import Journey
from tests.browser.test_journeys_desk import log_in, staff
from tests.test_kpis import build

pytestmark = pytest.mark.django_db(transaction=True)

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
TODAY = dt.date(2026, 11, 27)
CHARTS = (
    "trend",
    "topics",
    "divisions",
    "division_map",
    "organs",
    "channels",
    "overdue",
    "open",
    "suggestions",
)
# Made-up squares standing for a deployment's own boundary file (analytics/boundaries.py).
BOUNDARIES = Path(__file__).resolve().parents[1] / "fixtures" / "divisions-test.geojson"


def _suggestion(clerk: Any) -> None:
    solicitation = solicitation_publish(
        actor=clerk,
        title="老旧小区加装电梯",
        description="征集加装电梯费用分担的建议。",
        question="费用应当如何分担？",
        opens_on=TODAY,
        closes_on=TODAY + dt.timedelta(days=30),
        support_threshold=10,
    )
    suggestion_submit(
        data=SuggestionSubmission(
            title="按楼层分担",
            reasons="高层受益多。",
            proposal="按楼层设定系数。",
            solicitation_id=solicitation.pk,
            proposer_name="李建国",
            proposer_phone="13900001111",
            topic="urban",
        ),
        actor=None,
    )


def _charts_drawn(journey: Journey) -> None:
    page = journey.page
    for name in CHARTS:
        chart = page.locator(f"#chart-{name}")
        chart.wait_for()
        assert chart.get_attribute("data-rendered") == "1", name
        assert chart.locator("canvas").count() >= 1, name


def test_the_dashboard_draws_every_chart_in_both_languages(
    journey: Journey, org_tree: None, settings: Any
) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    alice = staff("alice", "K-XF", "clerk")
    bob = staff("bob", "K-EDU", "handler")
    carol = staff("carol", "C", "supervisor")
    settings.PETITIONDESK_DIVISION_BOUNDARIES = str(BOUNDARIES)
    build(alice, bob)
    _suggestion(alice)
    counts_rollup(lag_seconds=0)
    otp_enrol(username="carol")
    code = f"{totp(TOTPDevice.objects.get(user=carol).bin_key):06d}"
    page = journey.page

    log_in(journey, carol, "/desk/", otp=code)
    page.click("a[href='/desk/analytics/']")
    page.wait_for_url("**/desk/analytics/")
    _charts_drawn(journey)
    assert "5 / 7" in page.inner_text("[data-kpi='on_time_routing'] .kpi-rate")
    journey.shot("dashboard")
    journey.assert_accessible()
    page.screenshot(path=str(IMAGES / "dashboard.zh-hans.png"), full_page=True)

    page.select_option("#lang-select", "en")
    with page.expect_navigation():
        page.click(".lang-form button[type=submit]")
    _charts_drawn(journey)
    assert "On-time routing rate" in page.inner_text("#kpi-tiles")
    journey.shot("dashboard-en")
    page.screenshot(path=str(IMAGES / "dashboard.en.png"), full_page=True)

    # Narrowed to the education bureau: its KPIs, the petition bureau's routing left out.
    page.select_option("#id_org", "K-EDU")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    _charts_drawn(journey)
    assert "0 / 0" in page.inner_text("[data-kpi='on_time_routing']")
    journey.shot("dashboard-k-edu")
