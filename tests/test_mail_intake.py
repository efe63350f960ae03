"""E-mail intake (docs/email.md): mail becomes petitions, replies thread to their case, automatic
mail is quarantined, and every petition or material received is acknowledged once."""

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail as django_mail
from django.core.mail.backends.base import BaseEmailBackend

from petitiondesk.cases.models import Attachment, Case, CaseEvent
from petitiondesk.core.errors import InvalidTransition, NotFound, PermissionDenied
from petitiondesk.intake.services import hash_access_key
from petitiondesk.mail.models import InboundMessage, OutboundMail
from petitiondesk.mail.outbound import case_for_message_ids, make_message_id, remember_outbound
from petitiondesk.mail.services import acks_send_pending, mail_dismiss, mail_ingest, mail_release

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mail"
OURS = "xinfang@petitions.example.gov.cn"
REPLY_TN = "XF20261120ABCDEFGHJK"


@pytest.fixture(autouse=True)
def mail_settings(settings: Any, tmp_path: Path) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    settings.PETITIONDESK_MAIL_ADDRESS = OURS
    settings.PETITIONDESK_MAIL_DOMAIN = "petitions.example.gov.cn"
    settings.PETITIONDESK_MAIL_SITE_URL = "https://xf.example.gov.cn"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def ingest(clerk_alice, django_capture_on_commit_callbacks):
    def run(name: str, **kwargs: Any) -> InboundMessage:
        raw = (FIXTURES / name).read_bytes() if not name.startswith("raw:") else name[4:].encode()
        with django_capture_on_commit_callbacks(execute=True):
            result = mail_ingest(raw=raw, source="file", actor=clerk_alice, **kwargs)
        result.message.refresh_from_db()
        return result.message

    return run


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise OSError("connection refused")


# --- registration --------------------------------------------------------------------------------


def test_a_mail_becomes_an_email_petition_registered_by_the_mail_clerk(ingest, clerk_alice):
    m = ingest("utf8_plain.eml")
    case = m.case
    assert m.state == "registered" and m.reason == ""
    assert case.channel == "email"
    assert case.title == "孩子入学学位分配问题"
    assert case.content.startswith("县教育局：\n我家孩子今年应升入初中")
    assert case.received_on == dt.date(2026, 11, 26)  # the Date header, in Asia/Shanghai
    assert case.registered_by == clerk_alice and case.org.code == "K-XF"
    assert list(case.petitioners.values_list("name", "email")) == [("王小明", "wangxm@example.cn")]
    assert bytes(m.raw) == (FIXTURES / "utf8_plain.eml").read_bytes()
    assert m.org.code == "K-XF" and m.source == "file"


def test_the_sender_is_acknowledged_once_with_the_tracking_number_and_access_key(ingest):
    m = ingest("utf8_plain.eml")
    tn = m.case.tracking_number
    assert len(django_mail.outbox) == 1
    ack = django_mail.outbox[0]
    assert tn in ack.subject and ack.to == ["wangxm@example.cn"] and ack.from_email == OURS
    key = re.search(r"[0-9A-HJKMNP-TV-Z]{12}", ack.body.replace(tn, "")).group(0)
    assert hash_access_key(key) == m.case.access_key_hash
    assert "https://xf.example.gov.cn/track/" in ack.body
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert ack.extra_headers["X-Petitiondesk-Loop"] == "petitions.example.gov.cn"
    assert ack.extra_headers["In-Reply-To"] == "<utf8-plain-1@example.cn>"
    # The acknowledgement's Message-ID threads a reply to it; the key is no longer kept.
    assert case_for_message_ids([ack.extra_headers["Message-ID"]]) == m.case.pk
    assert (m.ack_state, m.ack_secret, m.ack_attempts) == ("sent", "", 1)
    assert m.ack_message_id == ack.extra_headers["Message-ID"]
    assert acks_send_pending() == (0, 0)
    assert len(django_mail.outbox) == 1


def test_importing_the_same_message_twice_creates_nothing(ingest, clerk_alice):
    first = ingest("utf8_plain.eml")
    result = mail_ingest(
        raw=(FIXTURES / "utf8_plain.eml").read_bytes(), source="imap", actor=clerk_alice
    )
    assert not result.created and result.message.pk == first.pk
    assert Case.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert len(django_mail.outbox) == 1


def test_a_gbk_mail_keeps_its_pdf_and_notes_the_refused_program(ingest):
    m = ingest("gbk_attachment.eml")
    assert m.state == "registered"
    assert m.case.title == "关于村道路修缮的请求（李镕堃）"
    assert m.case.petitioners.get().name == "李镕堃"
    files = list(m.case.attachments.values_list("filename", "content_type", "by_petitioner"))
    assert files == [("道路现状说明.pdf", "application/pdf", True)]
    assert "工具.exe" in m.detail
    assert "工具.exe" in django_mail.outbox[0].body  # the petitioner learns it too


def test_a_gb18030_mail_keeps_its_four_byte_characters(ingest):
    m = ingest("gb18030_qp.eml")
    assert m.case.title == "𠮷祥小区物业乱收费"
    assert "反映𠮷祥小区" in m.case.content
    assert m.case.petitioners.get().name == "张𠮷"


def test_an_html_only_mail_is_registered_as_text(ingest):
    case = ingest("html_only.eml").case
    assert "晚上出行很不安全" in case.content
    assert "<" not in case.content.replace("<陈静>", "") and "alert" not in case.content


def test_a_nested_multipart_mail_registers_its_plain_text_and_both_files(ingest):
    case = ingest("nested_multipart.eml").case
    assert case.content == "关于学校食堂卫生问题的反映：\n食堂餐具消毒不到位，多名学生腹泻。"
    names = sorted(case.attachments.values_list("filename", flat=True))
    assert names == ["attachment.png", "食堂检查记录.pdf"]


def test_a_mail_without_date_is_received_today_and_one_dated_ahead_never_in_the_future(ingest):
    assert ingest("no_message_id.eml").case.received_on == dt.date(2026, 11, 27)
    future = (
        "raw:From: a@example.cn\r\nSubject: =?utf-8?b?5p2l5L+h?=\r\n"
        "Date: Mon, 1 Mar 2027 10:00:00 +0800\r\nMessage-ID: <future@example.cn>\r\n\r\nhello\r\n"
    )
    assert ingest(future).case.received_on == dt.date(2026, 11, 27)


def test_the_arrival_time_wins_over_the_date_header(ingest):
    when = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC)  # 26 Nov in Asia/Shanghai
    assert ingest("utf8_plain.eml", received_at=when).case.received_on == dt.date(2026, 11, 26)


def test_a_mail_the_intake_refuses_is_kept_as_failed_with_the_refusal(ingest):
    long_body = "长" * 20_001
    m = ingest(f"raw:From: a@example.cn\r\nSubject: x\r\nMessage-ID: <long@x>\r\n\r\n{long_body}")
    assert (m.state, m.reason, m.case) == ("failed", "invalid", None)
    assert m.detail.startswith("too_long")
    assert Case.objects.count() == 0 and not django_mail.outbox
    assert len(bytes(m.raw)) > 20_001


# --- threading -----------------------------------------------------------------------------------


def test_a_reply_to_one_of_our_mails_is_added_to_its_case(ingest):
    case = ingest("utf8_plain.eml").case
    remember_outbound(message_id="<ack-1@petitions.example.gov.cn>", case_id=case.pk)
    reply = ingest("reply_in_reply_to.eml")
    assert reply.state == "threaded" and reply.case == case
    assert Case.objects.count() == 1
    event = CaseEvent.objects.filter(case=case, verb="add_material").get()
    assert event.by_petitioner and event.payload["text"].startswith("补充材料：学校已于昨日通知")
    ack = django_mail.outbox[-1]
    assert case.tracking_number in ack.subject and "access key" not in ack.body.lower()
    assert len(django_mail.outbox) == 2


def test_a_reply_to_our_acknowledgement_threads_end_to_end(ingest):
    case = ingest("utf8_plain.eml").case
    ack_id = django_mail.outbox[0].extra_headers["Message-ID"]
    reply = ingest(
        "raw:From: someone.else@example.cn\r\nSubject: Re: ok\r\n"
        f"Message-ID: <r2@example.cn>\r\nReferences: <x@y> {ack_id}\r\n\r\nthanks, more facts\r\n"
    )
    assert reply.state == "threaded" and reply.case_id == case.pk
    assert case.events.filter(verb="add_material").get().payload["text"] == "thanks, more facts"


def test_a_reply_naming_the_tracking_number_from_the_petitioner_threads_with_its_photo(ingest):
    case = ingest("utf8_plain.eml").case
    Case.objects.filter(pk=case.pk).update(tracking_number=REPLY_TN)
    reply = ingest("reply_tracking.eml")  # From: WangXM@Example.cn (case differs)
    assert reply.state == "threaded" and reply.case_id == case.pk
    photo = Attachment.objects.get(case=case)
    assert (photo.filename, photo.by_petitioner) == ("photo.png", True)


def test_a_tracking_number_from_a_stranger_is_quarantined(ingest, clerk_alice):
    case = ingest("gbk_attachment.eml").case
    Case.objects.filter(pk=case.pk).update(tracking_number=REPLY_TN)
    events = CaseEvent.objects.filter(case=case).count()
    reply = ingest("reply_tracking.eml")
    assert (reply.state, reply.reason, reply.case) == ("quarantined", "unverified_reply", None)
    assert CaseEvent.objects.filter(case=case).count() == events
    assert Attachment.objects.filter(case=case).count() == 1  # only the PDF of the first mail


def test_a_reply_to_a_closed_case_becomes_a_new_petition(ingest):
    case = ingest("utf8_plain.eml").case
    Case.objects.filter(pk=case.pk).update(status="closed")
    remember_outbound(message_id="<ack-1@petitions.example.gov.cn>", case_id=case.pk)
    reply = ingest("reply_in_reply_to.eml")
    assert reply.state == "registered" and reply.case != case
    assert reply.case.title == "回复：您的来信已登记"


# --- quarantine ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [("auto_reply.eml", "auto_reply"), ("bounce.eml", "bounce"), ("loop.eml", "loop")],
)
def test_automatic_mail_is_quarantined_and_never_acknowledged(ingest, name, reason):
    case = ingest("utf8_plain.eml").case
    Case.objects.filter(pk=case.pk).update(tracking_number=REPLY_TN)
    django_mail.outbox.clear()
    m = ingest(name)
    assert (m.state, m.reason, m.case, m.ack_state) == ("quarantined", reason, None, "none")
    assert not django_mail.outbox
    assert Case.objects.count() == 1
    assert not CaseEvent.objects.filter(verb="add_material").exists()


def test_releasing_a_quarantined_message_registers_and_acknowledges_it(
    ingest, clerk_alice, django_capture_on_commit_callbacks
):
    m = ingest("auto_reply.eml")
    with django_capture_on_commit_callbacks(execute=True):
        released = mail_release(message_pk=m.pk, actor=clerk_alice)
    assert released.state == "released" and released.handled_by == clerk_alice
    assert released.case.channel == "email"
    assert released.case.received_on == dt.date(2026, 11, 27)
    assert released.case.tracking_number in django_mail.outbox[0].subject
    with pytest.raises(InvalidTransition):
        mail_release(message_pk=m.pk, actor=clerk_alice)


def test_dismissing_keeps_the_message_and_registers_nothing(ingest, clerk_alice):
    m = ingest("bounce.eml")
    assert mail_dismiss(message_pk=m.pk, actor=clerk_alice).state == "dismissed"
    assert Case.objects.count() == 0 and InboundMessage.objects.filter(pk=m.pk).exists()
    with pytest.raises(InvalidTransition):
        mail_dismiss(message_pk=m.pk, actor=clerk_alice)


def test_only_the_receiving_organisations_clerks_and_heads_review(
    ingest, handler_bob, supervisor_carol
):
    m = ingest("bounce.eml")
    with pytest.raises(NotFound):  # a handler does not even see it
        mail_dismiss(message_pk=m.pk, actor=handler_bob)
    with pytest.raises(PermissionDenied):  # the supervisor reads, never acts
        mail_release(message_pk=m.pk, actor=supervisor_carol)
    m.refresh_from_db()
    assert m.state == "quarantined"


# --- acknowledgements that fail -----------------------------------------------------------------


def test_a_failed_acknowledgement_is_recorded_and_sent_by_the_next_run(ingest, settings):
    settings.EMAIL_BACKEND = "tests.test_mail_intake.FailingBackend"
    m = ingest("utf8_plain.eml")
    assert m.state == "registered" and m.case is not None  # the petition is not lost
    assert (m.ack_state, m.ack_attempts) == ("failed", 1)
    assert "connection refused" in m.ack_error and m.ack_secret
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert acks_send_pending() == (1, 0)
    m.refresh_from_db()
    assert (m.ack_state, m.ack_attempts, m.ack_secret) == ("sent", 2, "")
    key = re.search(
        r"[0-9A-HJKMNP-TV-Z]{12}", django_mail.outbox[0].body.replace(m.case.tracking_number, "")
    ).group(0)
    assert hash_access_key(key) == m.case.access_key_hash


def test_a_claimed_acknowledgement_is_not_sent_twice(ingest, settings):
    settings.EMAIL_BACKEND = "tests.test_mail_intake.FailingBackend"
    m = ingest("utf8_plain.eml")
    InboundMessage.objects.filter(pk=m.pk).update(
        ack_state="sending", ack_claimed_at=dt.datetime(2026, 11, 27, 1, 55, tzinfo=dt.UTC)
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert acks_send_pending() == (0, 0)  # claimed 5 minutes ago by another sender
    InboundMessage.objects.filter(pk=m.pk).update(
        ack_claimed_at=dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
    )
    assert acks_send_pending() == (1, 0)  # a stale claim: its sender crashed


# --- outbound Message-IDs (used by the notices too) ---------------------------------------------


def test_outbound_message_ids_map_replies_to_their_case(ingest):
    case = ingest("utf8_plain.eml").case
    mid = make_message_id()
    assert mid.startswith("<") and mid.endswith("@petitions.example.gov.cn>")
    remember_outbound(message_id=mid.strip("<>"), case_id=case.pk)
    remember_outbound(message_id=mid, case_id=case.pk)  # idempotent
    assert OutboundMail.objects.filter(message_id=mid).count() == 1
    assert case_for_message_ids(["<other@x>", mid]) == case.pk
    assert case_for_message_ids(["<other@x>"]) is None and case_for_message_ids([]) is None


def test_the_acknowledgement_is_a_task_enqueued_on_commit(ingest, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    m = ingest("utf8_plain.eml")
    assert m.ack_state == "pending" and not django_mail.outbox
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "petitiondesk.mail.tasks.send_ack"
    assert queued.args_kwargs["args"] == [m.pk]
    assert acks_send_pending() == (1, 0)  # the next run sends it if no worker has
    from petitiondesk.mail.tasks import send_ack

    assert send_ack.call(m.pk) is False  # the worker then finds it sent: nothing twice
    assert len(django_mail.outbox) == 1
