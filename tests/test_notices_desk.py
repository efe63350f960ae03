"""The Notices section of the desk's case page: issue, see the PDF and deliveries, confirm."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from petitiondesk.cases.models import Deadline
from petitiondesk.notices.models import Delivery, Notice
from petitiondesk.notices.services import DeliveryRequest, notice_issue
from tests.test_notices import FACTS, accepted, replied

D = dt.date


@pytest.fixture(autouse=True)
def _storage(settings: Any, tmp_path: Path) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    settings.PETITIONDESK_SMS_FILE = tmp_path / "sms.jsonl"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def page(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_handler_issues_a_notice_from_the_case_page(
    clerk_alice, handler_bob, django_capture_on_commit_callbacks
):
    case_id = accepted(clerk_alice, handler_bob)
    client = page(handler_bob)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/desk/cases/{case_id}/notices/",
            {"notice-kind": "acceptance", "notice-language": "zh-hans", "notice-deliver": ["sms"]},
        )
    assert r.status_code == 303 and r["Location"].endswith(f"/desk/cases/{case_id}/#notices")
    notice = Notice.objects.get(case_id=case_id)
    assert notice.deliveries.get().state == Delivery.State.SENT

    html = client.get(f"/desk/cases/{case_id}/", headers={"Accept-Language": "en"}).content.decode()
    assert 'id="notices"' in html
    assert f"/desk/cases/{case_id}/attachments/{notice.attachment_id}/" in html
    assert "〔2026〕第1号" in html and "13800000000" in html


def test_a_refused_notice_is_explained_on_the_page(clerk_alice, handler_bob):
    case_id = replied(clerk_alice, handler_bob)
    client = page(handler_bob)
    r = client.post(
        f"/desk/cases/{case_id}/notices/",
        {"notice-kind": "handling_opinion", "notice-language": "zh-hans"},
        follow=True,
        headers={"Accept-Language": "en"},
    )
    html = r.content.decode()
    assert "facts_found is required" in html
    # Shown as a refusal, not in a success's colours.
    assert re.search(r'<p class="notice warn" role="alert">[^<]*facts_found is required', html)
    assert not Notice.objects.exists()


def test_another_organisation_may_not_issue_the_notice(clerk_alice, handler_bob):
    case_id = accepted(clerk_alice, handler_bob)
    r = page(clerk_alice).post(
        f"/desk/cases/{case_id}/notices/",
        {"notice-kind": "acceptance", "notice-language": "zh-hans"},
    )
    assert r.status_code == 403
    assert not Notice.objects.exists()


def test_confirming_a_delivery_on_the_page_moves_the_review_window(clerk_alice, handler_bob):
    case_id = replied(clerk_alice, handler_bob)
    notice = notice_issue(
        case_id=case_id,
        actor=handler_bob,
        kind="handling_opinion",
        fields=FACTS,
        deliver=[DeliveryRequest("post")],
    )
    delivery = notice.deliveries.get()
    client = page(handler_bob)
    html = client.get(f"/desk/cases/{case_id}/").content.decode()
    assert f"/desk/cases/{case_id}/notices/deliveries/{delivery.pk}/confirm/" in html

    r = client.post(
        f"/desk/cases/{case_id}/notices/deliveries/{delivery.pk}/confirm/",
        {f"d{delivery.pk}-delivered_on": "2026-11-27"},
    )

    assert r.status_code == 303
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DELIVERED
    window = Deadline.objects.get(case_id=case_id, rule="review_request")
    assert window.start_on == D(2026, 11, 27)


def test_the_notices_section_costs_the_same_queries_however_many_notices(clerk_alice, handler_bob):
    case_id = accepted(clerk_alice, handler_bob)
    client = page(handler_bob)
    client.get(f"/desk/cases/{case_id}/")
    notice_issue(
        case_id=case_id,
        actor=handler_bob,
        kind="acceptance",
        deliver=[DeliveryRequest("post", "甲地")],
    )

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/desk/cases/{case_id}/").status_code == 200
        return len(ctx.captured_queries)

    one = queries()
    for _ in range(3):
        notice_issue(
            case_id=case_id,
            actor=handler_bob,
            kind="acceptance",
            deliver=[DeliveryRequest("post", "乙地"), DeliveryRequest("in_person")],
        )
    assert queries() == one
