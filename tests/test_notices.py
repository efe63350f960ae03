"""Written notices: rendering every kind to a PDF with the case's facts in Chinese, numbering,
template versions, delivery by e-mail and SMS with retries, and confirmed delivery moving the
petitioner's windows."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import time_machine

from petitiondesk.accounts.models import User
from petitiondesk.calendar.profiles import get_profile
from petitiondesk.cases import services
from petitiondesk.cases.attachments import upload_dir
from petitiondesk.cases.deadlines import new_deadline
from petitiondesk.cases.models import Case, CaseEvent, Deadline
from petitiondesk.cases.selectors import petitioner_timeline
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from petitiondesk.notices.facts import StaffFields
from petitiondesk.notices.models import Delivery, Notice, NoticeTemplate
from petitiondesk.notices.rendering import render_body
from petitiondesk.notices.services import (
    DeliveryRequest,
    deliveries_sweep,
    delivery_attempt,
    notice_delivery_confirm,
    notice_issue,
    template_revise,
)
from petitiondesk.supervision.services import deadlines_sweep
from tests.conftest import FROZEN_NOW, letter

D = dt.date
FACTS = StaffFields(
    request="请求将孩子重新分配到户籍所在学区的初中就读。",
    facts_found="经核查，该生户籍地址属于第一中学学区，但该校学位已满。",
    legal_basis="《中华人民共和国义务教育法》第十二条",
)


@pytest.fixture(autouse=True)
def _storage(settings: Any, tmp_path: Path) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    settings.PETITIONDESK_SMS_FILE = tmp_path / "sms.jsonl"
    settings.PETITIONDESK_SMS_BACKEND = "petitiondesk.notices.sms.FileBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def register(actor: User, **overrides: Any) -> int:
    overrides.setdefault(
        "petitioners",
        [
            {
                "name": "王小明",
                "phone": "13800000000",
                "email": "wxm@example.cn",
                "address": "示范县城关镇人民路1号",
            }
        ],
    )
    body = letter(**overrides)
    body["petitioners"] = [PetitionerData(**p) for p in body["petitioners"]]
    body["received_on"] = D.fromisoformat(body["received_on"])
    return petition_submit(submission=Submission(**body), actor=actor).case.pk


def routed(alice: User, **overrides: Any) -> int:
    case_id = register(alice, received_on="2026-11-16", **overrides)
    services.case_route(case_id=case_id, actor=alice, to_org="K-EDU", effective_on=D(2026, 11, 17))
    return case_id


def accepted(alice: User, bob: User, route: int = 6) -> int:
    case_id = routed(alice)
    services.case_accept(
        case_id=case_id, actor=bob, claim_route=route, effective_on=D(2026, 11, 18)
    )
    return case_id


OPINION = "经研究，学位分配符合本年度招生政策，现予以解释说明。"


def replied(alice: User, bob: User, on: D = D(2026, 11, 20)) -> int:
    case_id = accepted(alice, bob)
    services.case_reply(
        case_id=case_id, actor=bob, outcome="explain", opinion=OPINION, effective_on=on
    )
    return case_id


def reviewed(alice: User, bob: User, frank: User) -> int:
    case_id = replied(alice, bob)
    services.case_request_review(
        case_id=case_id, actor=bob, to_org="K", effective_on=D(2026, 11, 23)
    )
    services.case_decide_review(
        case_id=case_id,
        actor=frank,
        outcome="not_support",
        opinion="复查认为原处理意见正确，不予支持。",
        effective_on=D(2026, 11, 25),
    )
    return case_id


def pdf_text(notice: Notice) -> str:
    """The notice PDF's text as pdftotext reads it, without line breaks or spaces."""
    assert notice.attachment is not None
    path = upload_dir() / notice.attachment.storage_name
    assert path.read_bytes().startswith(b"%PDF-")
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return re.sub(r"\s+", "", out.stdout.decode("utf-8"))


def assert_in_pdf(notice: Notice, *needles: str, standard: bool = True) -> None:
    """The needles, and on every notice of a standard template its case's tracking number, its
    own number and the date of issue (today), are in the PDF's text."""
    text = pdf_text(notice)
    issued = "2026年11月27日" if notice.language == "zh-hans" else "27 November 2026"
    always = (notice.case.tracking_number, notice.number, issued) if standard else ()
    missing = [n for n in (*always, *needles) if re.sub(r"\s+", "", n) not in text]
    assert not missing, f"not in the PDF: {missing}\n{text}"


COMMON = ("王小明", "孩子入学学位分配问题", "示范县教育局")


# --- every kind renders -------------------------------------------------------------------------


def test_the_acceptance_notice_states_the_acceptance_and_the_handling_due_date(
    clerk_alice, handler_bob
):
    case_id = accepted(clerk_alice, handler_bob)
    handling = Deadline.objects.get(case_id=case_id, rule="handling")
    notice = notice_issue(case_id=case_id, actor=handler_bob, kind="acceptance")
    tn = Case.objects.get(pk=case_id).tracking_number
    due = handling.due_on
    assert_in_pdf(
        notice,
        *COMMON,
        tn,
        "信访事项受理告知书",
        "〔2026〕第1号",
        "2026年11月16日",  # received
        "2026年11月18日",  # accepted
        f"{due.year}年{due.month}月{due.day}日",
        "《信访工作条例》第二十三条",
        "2026年11月27日",  # issued
    )


def test_the_non_acceptance_notice_gives_the_reason_and_the_legal_basis(clerk_alice, handler_bob):
    case_id = routed(clerk_alice)
    services.case_decline(
        case_id=case_id,
        actor=handler_bob,
        reason_code="out_of_scope",
        reason="所反映事项不属于本机关职权范围。",
        effective_on=D(2026, 11, 19),
    )
    notice = notice_issue(case_id=case_id, actor=handler_bob, kind="non_acceptance")
    assert_in_pdf(
        notice,
        *COMMON,
        "信访事项不予受理告知书",
        "所反映事项不属于本机关职权范围。",
        "《信访工作条例》第二十三条",
    )


@pytest.mark.parametrize(
    ("route", "procedure"),
    [(1, "诉讼"), (2, "仲裁"), (3, "党员申诉"), (4, "行政复议等行政程序"), (5, "履行法定职责")],
)
def test_the_diversion_notice_names_the_procedure(clerk_alice, handler_bob, route, procedure):
    case_id = accepted(clerk_alice, handler_bob, route=route)
    notice = notice_issue(case_id=case_id, actor=handler_bob, kind="diversion")
    assert_in_pdf(notice, *COMMON, "信访事项导向告知书", procedure, "第三十一条", "2026年11月18日")


def test_the_extension_notice_gives_the_reason_and_the_new_date(
    clerk_alice, handler_bob, head_erin
):
    case_id = accepted(clerk_alice, handler_bob)
    services.case_extend(
        case_id=case_id,
        actor=handler_bob,
        days=30,
        reason="需要向市教育局调取学区划分资料",
        approved_by="erin",
        petitioner_notified_on=D(2026, 11, 27),
    )
    due = Deadline.objects.get(case_id=case_id, rule="handling").due_on
    notice = notice_issue(case_id=case_id, actor=head_erin, kind="extension")
    assert_in_pdf(
        notice,
        *COMMON,
        "信访事项延期办理告知书",
        "需要向市教育局调取学区划分资料",
        "延长30日",
        f"{due.year}年{due.month}月{due.day}日",
        "第三十四条",
    )


def test_the_handling_opinion_has_request_facts_opinion_and_basis(clerk_alice, handler_bob):
    case_id = replied(clerk_alice, handler_bob)
    notice = notice_issue(case_id=case_id, actor=handler_bob, kind="handling_opinion", fields=FACTS)
    assert_in_pdf(
        notice,
        *COMMON,
        "信访事项处理意见书",
        "一、信访请求",
        FACTS.request or "",
        "二、事实和理由",
        FACTS.facts_found or "",
        "三、处理意见",
        "予以解释说明",
        OPINION,
        "四、依据",
        "《中华人民共和国义务教育法》第十二条",
        "第三十二条",
        "30日内向示范县人民政府请求复查",
        "第三十五条",
    )


def test_the_review_opinion_names_the_first_organ_and_the_next_one(
    clerk_alice, handler_bob, handler_frank
):
    case_id = reviewed(clerk_alice, handler_bob, handler_frank)
    notice = notice_issue(case_id=case_id, actor=handler_frank, kind="review_opinion", fields=FACTS)
    assert_in_pdf(
        notice,
        "王小明",
        "信访事项复查意见书",
        "不服示范县教育局",
        "2026年11月23日",
        "不予支持",
        "复查认为原处理意见正确",
        "第三十五条",
        "向示范市人民政府请求复核",
        "示范县人民政府",
    )


def test_the_rereview_opinion_says_it_is_final(
    clerk_alice, handler_bob, handler_frank, handler_grace
):
    case_id = reviewed(clerk_alice, handler_bob, handler_frank)
    services.case_request_rereview(
        case_id=case_id, actor=handler_frank, to_org="C", effective_on=D(2026, 11, 26)
    )
    services.case_decide_rereview(
        case_id=case_id,
        actor=handler_grace,
        outcome="not_support",
        opinion="复核维持复查意见。",
        effective_on=D(2026, 11, 27),
    )
    notice = notice_issue(
        case_id=case_id, actor=handler_grace, kind="rereview_opinion", fields=FACTS
    )
    assert_in_pdf(
        notice,
        "信访事项复核意见书",
        "不服示范县人民政府",
        "2026年11月26日",
        "复核维持复查意见。",
        "第三十六条第三款",
        "不再受理",
        "示范市人民政府",
    )


def test_the_supervision_notice_goes_to_the_late_organ(clerk_alice, supervisor_carol):
    case_id = register(clerk_alice, received_on="2026-10-19")
    services.case_route(
        case_id=case_id, actor=clerk_alice, to_org="K-EDU", effective_on=D(2026, 10, 20)
    )
    deadlines_sweep()
    notice_clock = Deadline.objects.get(case_id=case_id, rule="notice")
    assert notice_clock.state == Deadline.State.MISSED
    notice = notice_issue(
        case_id=case_id,
        actor=supervisor_carol,
        kind="supervision",
        fields=StaffFields(answer_by=D(2026, 12, 10), requirements="请逐项说明未按期告知的原因。"),
    )
    due = notice_clock.due_on
    assert_in_pdf(
        notice,
        "信访事项督办单",
        "示范县教育局：",
        "受理告知期限已于",
        f"{due.year}年{due.month}月{due.day}日",
        "第四十条",
        "2026年12月10日",
        "示范市人民政府",  # the supervising body
        "请逐项说明未按期告知的原因。",
    )


def test_an_english_notice_is_written_from_the_english_template(clerk_alice, handler_bob):
    case_id = accepted(clerk_alice, handler_bob)
    notice = notice_issue(case_id=case_id, actor=handler_bob, kind="acceptance", language="en")
    assert_in_pdf(notice, "Notice of acceptance", "Article 23", "18 November 2026", "王小明")


# --- freezing, numbering, templates -------------------------------------------------------------


def test_an_issued_notice_keeps_its_template_version_and_text_after_an_edit(
    clerk_alice, handler_bob
):
    case_id = accepted(clerk_alice, handler_bob)
    first = notice_issue(case_id=case_id, actor=handler_bob, kind="acceptance")
    old = NoticeTemplate.objects.get(kind="acceptance", language="zh-hans", is_active=True)
    revised = template_revise(
        kind="acceptance",
        language="zh-hans",
        title="受理告知书",
        body="<p>{{ petitioner }}：你的信访事项已受理。</p>",
        actor=None,
    )
    second = notice_issue(case_id=case_id, actor=handler_bob, kind="acceptance")

    first.refresh_from_db()
    old.refresh_from_db()
    assert (first.template_version, second.template_version) == (1, 2)
    assert revised.version == 2 and not old.is_active
    assert "第二十三条" in first.text and "第二十三条" not in second.text
    assert (first.number, second.number) == ("〔2026〕第1号", "〔2026〕第2号")
    assert_in_pdf(second, "受理告知书", "你的信访事项已受理。", standard=False)


def test_a_template_cannot_inject_markup_through_the_facts(clerk_alice, handler_bob):
    body = render_body("<p>{{ title }}</p>", {"title": "<script>alert(1)</script>"})
    assert "<script>" not in body and "&lt;script&gt;" in body


def test_a_template_with_a_syntax_error_is_refused(db):
    from petitiondesk.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        template_revise(
            kind="acceptance", language="zh-hans", title="x", body="{% if %}", actor=None
        )
    assert exc.value.code == "invalid_template"


def test_each_organisation_numbers_its_own_notices(clerk_alice, handler_bob, handler_frank):
    case_id = replied(clerk_alice, handler_bob)
    by_edu = notice_issue(case_id=case_id, actor=handler_bob, kind="handling_opinion", fields=FACTS)
    services.case_request_review(case_id=case_id, actor=handler_bob, to_org="K")
    services.case_decide_review(
        case_id=case_id, actor=handler_frank, outcome="support", opinion="予以支持。"
    )
    by_county = notice_issue(
        case_id=case_id, actor=handler_frank, kind="review_opinion", fields=FACTS
    )
    again = notice_issue(case_id=case_id, actor=handler_frank, kind="review_opinion", fields=FACTS)
    assert by_edu.number == by_county.number == "〔2026〕第1号"
    assert again.number == "〔2026〕第2号"
    assert by_edu.org.code == "K-EDU" and by_county.org.code == "K"


def test_issuing_attaches_the_pdf_and_logs_an_event(clerk_alice, handler_bob):
    case_id = accepted(clerk_alice, handler_bob)
    notice = notice_issue(case_id=case_id, actor=handler_bob, kind="acceptance")
    assert notice.attachment is not None
    assert notice.attachment.case_id == case_id
    assert notice.attachment.content_type == "application/pdf"
    assert notice.attachment.filename.endswith(".pdf")
    event = CaseEvent.objects.get(case_id=case_id, verb="notice_issue")
    assert event.payload["number"] == "〔2026〕第1号"
    assert event.payload["attachment_id"] == notice.attachment_id


# --- refusals -----------------------------------------------------------------------------------


def test_no_acceptance_notice_for_a_case_not_accepted(clerk_alice, handler_bob):
    from petitiondesk.core.errors import Conflict

    case_id = routed(clerk_alice)
    with pytest.raises(Conflict) as exc:
        notice_issue(case_id=case_id, actor=handler_bob, kind="acceptance")
    assert exc.value.code == "notice_not_applicable"
    assert not Notice.objects.exists()


def test_no_acceptance_notice_for_a_diverted_claim(clerk_alice, handler_bob):
    from petitiondesk.core.errors import Conflict

    case_id = accepted(clerk_alice, handler_bob, route=2)
    with pytest.raises(Conflict):
        notice_issue(case_id=case_id, actor=handler_bob, kind="acceptance")


def test_only_the_organisation_that_took_the_step_issues_its_notice(
    clerk_alice, handler_bob, handler_frank
):
    from petitiondesk.core.errors import PermissionDenied

    case_id = accepted(clerk_alice, handler_bob)
    with pytest.raises(PermissionDenied):  # K sees the case (it is above K-EDU) but did not accept
        notice_issue(case_id=case_id, actor=handler_frank, kind="acceptance")


def test_an_organisation_that_does_not_see_the_case_gets_not_found(clerk_alice, handler_bob):
    from petitiondesk.accounts.services import user_add
    from petitiondesk.core.errors import NotFound

    case_id = accepted(clerk_alice, handler_bob)
    hugo = user_add(username="hugo", org_code="K-HOUSING", role="handler")
    with pytest.raises(NotFound):
        notice_issue(case_id=case_id, actor=hugo, kind="acceptance")


def test_a_notice_to_an_anonymous_petitioner_is_filed_but_not_delivered(clerk_alice, handler_bob):
    from petitiondesk.core.errors import RuleRefusal

    case_id = register(clerk_alice, received_on="2026-11-16", anonymous=True, petitioners=[])
    services.case_route(case_id=case_id, actor=clerk_alice, to_org="K-EDU")
    services.case_accept(case_id=case_id, actor=handler_bob, claim_route=6)
    with pytest.raises(RuleRefusal) as exc:
        notice_issue(
            case_id=case_id,
            actor=handler_bob,
            kind="acceptance",
            deliver=[DeliveryRequest("sms")],
        )
    assert exc.value.code == "anonymous_petitioner"
    assert not Notice.objects.exists()
    assert not list(upload_dir().rglob("*")) or all(p.is_dir() for p in upload_dir().rglob("*"))
    filed = notice_issue(case_id=case_id, actor=handler_bob, kind="acceptance")
    assert_in_pdf(filed, "匿名信访人")


def test_a_handling_opinion_needs_the_facts_found_and_the_legal_basis(clerk_alice, handler_bob):
    from petitiondesk.core.errors import InvalidInput

    case_id = replied(clerk_alice, handler_bob)
    with pytest.raises(InvalidInput) as exc:
        notice_issue(case_id=case_id, actor=handler_bob, kind="handling_opinion")
    assert exc.value.fields == {"facts_found": "required"}


def test_no_supervision_notice_without_an_overdue_clock(clerk_alice, supervisor_carol):
    from petitiondesk.core.errors import Conflict

    case_id = routed(clerk_alice)
    with pytest.raises(Conflict):
        notice_issue(
            case_id=case_id,
            actor=supervisor_carol,
            kind="supervision",
            fields=StaffFields(answer_by=D(2026, 12, 10)),
        )


# --- delivery -----------------------------------------------------------------------------------


def test_an_email_delivery_sends_the_pdf_and_remembers_the_message_id(
    clerk_alice, handler_bob, mailoutbox, django_capture_on_commit_callbacks
):
    from petitiondesk.mail.models import OutboundMail

    case_id = accepted(clerk_alice, handler_bob)
    with django_capture_on_commit_callbacks(execute=True):
        notice = notice_issue(
            case_id=case_id,
            actor=handler_bob,
            kind="acceptance",
            deliver=[DeliveryRequest("email")],
        )

    delivery = notice.deliveries.get()
    assert delivery.state == Delivery.State.SENT and delivery.attempts == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["wxm@example.cn"]
    assert "信访事项受理告知书" in mail.subject and "〔2026〕第1号" in mail.subject
    assert "王小明" in mail.body
    (_filename, data, content_type) = mail.attachments[0]
    assert content_type == "application/pdf" and data.startswith(b"%PDF-")
    assert mail.message()["Message-ID"] == delivery.message_id
    assert OutboundMail.objects.get(message_id=delivery.message_id).case_id == case_id
    assert CaseEvent.objects.filter(case_id=case_id, verb="notice_sent").count() == 1


def test_an_sms_delivery_is_written_by_the_file_backend(
    clerk_alice, handler_bob, settings, django_capture_on_commit_callbacks
):
    case_id = accepted(clerk_alice, handler_bob)
    with django_capture_on_commit_callbacks(execute=True):
        notice = notice_issue(
            case_id=case_id, actor=handler_bob, kind="acceptance", deliver=[DeliveryRequest("sms")]
        )
    delivery = notice.deliveries.get()
    lines = Path(settings.PETITIONDESK_SMS_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    sms = json.loads(lines[0])
    assert sms["to"] == "13800000000" and sms["key"] == delivery.key
    assert "〔2026〕第1号" in sms["text"] and "信访事项受理告知书" in sms["text"]
    assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.SENT
    # Sent: another attempt (a duplicate task, a sweep) sends nothing.
    assert delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert deliveries_sweep() == 0
    assert len(Path(settings.PETITIONDESK_SMS_FILE).read_text().splitlines()) == 1


class BrokenGateway:
    calls: list[str] = []

    def send(self, *, to: str, text: str, key: str) -> str:
        BrokenGateway.calls.append(key)
        raise ConnectionError("gateway unreachable")


def test_a_failing_gateway_is_retried_with_back_off_then_reported(
    clerk_alice, handler_bob, settings, django_capture_on_commit_callbacks
):
    settings.PETITIONDESK_SMS_BACKEND = "tests.test_notices.BrokenGateway"
    settings.PETITIONDESK_NOTICE_MAX_ATTEMPTS = 3
    settings.PETITIONDESK_NOTICE_RETRY_SECONDS = 60
    BrokenGateway.calls = []
    case_id = accepted(clerk_alice, handler_bob)
    with django_capture_on_commit_callbacks(execute=True):
        notice = notice_issue(
            case_id=case_id, actor=handler_bob, kind="acceptance", deliver=[DeliveryRequest("sms")]
        )
    delivery = Delivery.objects.get(notice=notice)
    assert (delivery.state, delivery.attempts) == (Delivery.State.PENDING, 1)
    assert delivery.next_attempt_at == FROZEN_NOW + dt.timedelta(seconds=60)
    assert "gateway unreachable" in delivery.last_error
    assert deliveries_sweep() == 0  # not due yet

    with time_machine.travel(FROZEN_NOW + dt.timedelta(seconds=61), tick=False):
        assert deliveries_sweep() == 1  # the retry runs (immediate task backend)
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == FROZEN_NOW + dt.timedelta(seconds=61 + 120)

    with time_machine.travel(FROZEN_NOW + dt.timedelta(seconds=61 + 121), tick=False):
        assert delivery_attempt(delivery_id=delivery.pk) == "failed"
        assert deliveries_sweep() == 0
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Delivery.State.FAILED, 3)
    assert BrokenGateway.calls == [delivery.key] * 3  # the same key every time
    event = CaseEvent.objects.get(case_id=case_id, verb="notice_send_failed")
    assert event.payload["attempts"] == 3 and "gateway unreachable" in event.payload["error"]


def test_a_delivery_left_by_a_crashed_worker_is_sent_by_the_sweep_after_its_lease(
    clerk_alice, handler_bob, settings
):
    case_id = accepted(clerk_alice, handler_bob)
    notice = notice_issue(  # no on-commit callbacks: as if the worker never got the task
        case_id=case_id, actor=handler_bob, kind="acceptance", deliver=[DeliveryRequest("sms")]
    )
    delivery = notice.deliveries.get()
    # A worker claimed it and died before sending.
    from petitiondesk.notices.services import ATTEMPT_LEASE

    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=1, next_attempt_at=FROZEN_NOW + ATTEMPT_LEASE
    )
    assert deliveries_sweep() == 0
    with time_machine.travel(FROZEN_NOW + ATTEMPT_LEASE + dt.timedelta(seconds=1), tick=False):
        assert deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT and delivery.attempts == 2
    assert len(Path(settings.PETITIONDESK_SMS_FILE).read_text().splitlines()) == 1


def test_the_scheduler_runs_the_delivery_sweep(clerk_alice, handler_bob, monkeypatch):
    from petitiondesk.core import background

    calls = []
    monkeypatch.setattr("petitiondesk.notices.services.deliveries_sweep", lambda: calls.append(1))
    monkeypatch.setattr("petitiondesk.supervision.services.deadlines_sweep", lambda: 0)
    monkeypatch.setattr(background, "refresh_planner_statistics", lambda: None)

    class OneRound:
        def is_set(self) -> bool:
            return bool(calls)

        def wait(self, timeout: float | None = None) -> bool:
            return True

    background.run_scheduler(OneRound())  # type: ignore[arg-type]
    assert calls == [1]


# --- confirming delivery ------------------------------------------------------------------------


def test_confirming_a_handling_opinion_delivery_moves_the_review_window(clerk_alice, handler_bob):
    from petitiondesk.calendar.engine import compute_due
    from petitiondesk.calendar.sources import current_calendar

    case_id = replied(clerk_alice, handler_bob, on=D(2026, 11, 20))
    before = Deadline.objects.get(case_id=case_id, rule="review_request")
    assert before.start_on == D(2026, 11, 20)
    notice = notice_issue(
        case_id=case_id,
        actor=handler_bob,
        kind="handling_opinion",
        fields=FACTS,
        deliver=[DeliveryRequest("post")],
    )
    delivery = notice.deliveries.get()
    assert delivery.state == Delivery.State.SENT and delivery.address == "示范县城关镇人民路1号"

    notice_delivery_confirm(
        case_id=case_id, delivery_id=delivery.pk, delivered_on=D(2026, 11, 27), actor=handler_bob
    )

    profile = get_profile(Case.objects.get(pk=case_id).profile)
    for rule in ("review_request", "rating"):
        row = Deadline.objects.get(case_id=case_id, rule=rule)
        expected = compute_due(
            start=D(2026, 11, 27), spec=profile.clock(rule), calendar=current_calendar()
        )
        assert (row.start_on, row.due_on, row.state) == (D(2026, 11, 27), expected.due_on, "open")
    assert Deadline.objects.get(case_id=case_id, rule="review_request").due_on == D(2026, 12, 28)
    case = Case.objects.get(pk=case_id)
    assert case.last_effective_on == D(2026, 11, 27)
    event = CaseEvent.objects.get(case_id=case_id, verb="deliver")
    assert event.payload["delivered_on"] == "2026-11-27" and event.payload["of"] == "reply"
    _timeline, replies = petitioner_timeline(case)
    assert replies[-1]["delivered_on"] == "2026-11-27"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.delivered_on) == (Delivery.State.DELIVERED, D(2026, 11, 27))


def test_a_late_confirmed_delivery_reopens_a_window_the_sweep_closed(clerk_alice, handler_bob):
    case_id = register(clerk_alice, received_on="2026-09-28")
    services.case_route(
        case_id=case_id, actor=clerk_alice, to_org="K-EDU", effective_on=D(2026, 9, 29)
    )
    services.case_accept(
        case_id=case_id, actor=handler_bob, claim_route=6, effective_on=D(2026, 9, 30)
    )
    services.case_reply(
        case_id=case_id,
        actor=handler_bob,
        outcome="support",
        opinion="予以支持。",
        effective_on=D(2026, 10, 8),
    )
    deadlines_sweep()  # counted from 2026-10-08, the window ran out on 2026-11-09
    assert Deadline.objects.get(case_id=case_id, rule="review_request").state == "missed"
    with time_machine.travel(dt.datetime(2026, 10, 9, 10, tzinfo=FROZEN_NOW.tzinfo), tick=False):
        notice = notice_issue(
            case_id=case_id,
            actor=handler_bob,
            kind="handling_opinion",
            fields=FACTS,
            deliver=[DeliveryRequest("in_person")],
        )
    notice_delivery_confirm(
        case_id=case_id,
        delivery_id=notice.deliveries.get().pk,
        delivered_on=D(2026, 11, 20),
        actor=handler_bob,
    )
    row = Deadline.objects.get(case_id=case_id, rule="review_request")
    assert (row.state, row.start_on, row.due_on) == ("open", D(2026, 11, 20), D(2026, 12, 21))


def test_a_confirmed_delivery_is_never_in_the_future_nor_before_the_notice(
    clerk_alice, handler_bob
):
    from petitiondesk.core.errors import InvalidInput

    case_id = replied(clerk_alice, handler_bob)
    notice = notice_issue(
        case_id=case_id,
        actor=handler_bob,
        kind="handling_opinion",
        fields=FACTS,
        deliver=[DeliveryRequest("post")],
    )
    delivery_id = notice.deliveries.get().pk
    for day in (D(2026, 11, 28), D(2026, 11, 26)):
        with pytest.raises(InvalidInput):
            notice_delivery_confirm(
                case_id=case_id, delivery_id=delivery_id, delivered_on=day, actor=handler_bob
            )
    assert Deadline.objects.get(case_id=case_id, rule="review_request").start_on == D(2026, 11, 20)


def test_only_the_issuing_organisation_confirms_and_only_once(
    clerk_alice, handler_bob, handler_frank
):
    from petitiondesk.core.errors import Conflict, PermissionDenied

    case_id = accepted(clerk_alice, handler_bob)
    notice = notice_issue(
        case_id=case_id, actor=handler_bob, kind="acceptance", deliver=[DeliveryRequest("post")]
    )
    delivery_id = notice.deliveries.get().pk
    with pytest.raises(PermissionDenied):
        notice_delivery_confirm(
            case_id=case_id,
            delivery_id=delivery_id,
            delivered_on=D(2026, 11, 27),
            actor=handler_frank,
        )
    notice_delivery_confirm(
        case_id=case_id, delivery_id=delivery_id, delivered_on=D(2026, 11, 27), actor=handler_bob
    )
    assert CaseEvent.objects.filter(case_id=case_id, verb="notice_delivered").count() == 1
    with pytest.raises(Conflict):
        notice_delivery_confirm(
            case_id=case_id,
            delivery_id=delivery_id,
            delivered_on=D(2026, 11, 26),
            actor=handler_bob,
        )


def test_a_pending_or_failed_delivery_cannot_be_confirmed(clerk_alice, handler_bob):
    from petitiondesk.core.errors import Conflict

    case_id = accepted(clerk_alice, handler_bob)
    notice = notice_issue(
        case_id=case_id, actor=handler_bob, kind="acceptance", deliver=[DeliveryRequest("sms")]
    )
    with pytest.raises(Conflict) as exc:
        notice_delivery_confirm(
            case_id=case_id,
            delivery_id=notice.deliveries.get().pk,
            delivered_on=D(2026, 11, 27),
            actor=handler_bob,
        )
    assert exc.value.code == "not_sent"


def test_new_deadline_helper_is_the_engine_used(clerk_alice, handler_bob):
    """The review window's due date after a confirmed delivery equals a fresh deadline's."""
    case_id = replied(clerk_alice, handler_bob)
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, tzinfo=FROZEN_NOW.tzinfo), tick=False):
        notice = notice_issue(
            case_id=case_id,
            actor=handler_bob,
            kind="handling_opinion",
            fields=FACTS,
            deliver=[DeliveryRequest("post")],
        )
    notice_delivery_confirm(
        case_id=case_id,
        delivery_id=notice.deliveries.get().pk,
        delivered_on=D(2026, 11, 24),
        actor=handler_bob,
    )
    case = Case.objects.get(pk=case_id)
    fresh = new_deadline(case, "review_request", D(2026, 11, 24))
    assert Deadline.objects.get(case_id=case_id, rule="review_request").due_on == fresh.due_on


def test_an_admin_edit_of_a_template_saves_a_new_version(org_tree):
    from django.test import Client

    from petitiondesk.accounts.services import user_add
    from tests.conftest import login_verified

    root = user_add(username="root", org_code="P", role="admin")
    root.is_staff = True
    root.save(update_fields=["is_staff"])
    client = Client()
    login_verified(client, root)
    old = NoticeTemplate.objects.get(kind="extension", language="zh-hans", is_active=True)

    r = client.post(
        f"/admin/notices/noticetemplate/{old.pk}/change/",
        {"title": "延期告知书", "body": "<p>{{ petitioner }}：延长{{ days }}日。</p>"},
    )

    assert r.status_code == 302, r.content.decode()[:2000]
    old.refresh_from_db()
    new = NoticeTemplate.objects.get(kind="extension", language="zh-hans", is_active=True)
    assert (old.version, old.is_active, "第三十四条" in old.body) == (1, False, True)
    assert (new.version, new.title, new.updated_by) == (2, "延期告知书", root)
    bad = client.post(
        f"/admin/notices/noticetemplate/{new.pk}/change/", {"title": "x", "body": "{% for %}"}
    )
    assert bad.status_code == 200  # the form again, with the syntax error
    assert NoticeTemplate.objects.filter(kind="extension", language="zh-hans").count() == 2


@pytest.mark.parametrize(
    "body", ["{% include 'base.html' %}", "{% extends 'base.html' %}", "{% load static %}"]
)
def test_a_template_cannot_reach_other_templates_or_libraries(db, body):
    from petitiondesk.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        template_revise(kind="acceptance", language="zh-hans", title="x", body=body, actor=None)
