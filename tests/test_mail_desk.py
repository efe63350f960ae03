"""The quarantine review pages of the workbench (/desk/mail/)."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import Case
from petitiondesk.mail.models import InboundMessage
from petitiondesk.mail.services import mail_ingest
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mail"
EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def mail_settings(settings: Any, tmp_path: Path) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    settings.PETITIONDESK_MAIL_ADDRESS = "xinfang@petitions.example.gov.cn"


def browser(user: User) -> Client:
    client = Client()
    login_verified(client, user)
    return client


def quarantined(actor: User, name: str = "auto_reply.eml", raw: bytes | None = None) -> Any:
    raw = raw if raw is not None else (FIXTURES / name).read_bytes()
    return mail_ingest(raw=raw, source="file", actor=actor).message


def test_the_list_shows_reason_sender_and_subject(clerk_alice):
    m = quarantined(clerk_alice)
    page = browser(clerk_alice).get("/desk/mail/", headers=EN).content.decode()
    assert "automatic reply" in page and "wangxm@example.cn" in page
    assert "自动回复: 您的来信已登记" in page and f"/desk/mail/{m.pk}/" in page


def test_the_message_text_is_shown_escaped(clerk_alice):
    raw = (
        b"From: x@example.cn\r\nSubject: Auto: <b>hi</b>\r\nMessage-ID: <esc@x>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n<script>alert(1)</script>\r\n"
    )
    m = quarantined(clerk_alice, raw=raw)
    page = browser(clerk_alice).get(f"/desk/mail/{m.pk}/", headers=EN).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "Auto: &lt;b&gt;hi&lt;/b&gt;" in page


def test_a_clerk_releases_a_message_into_a_petition(clerk_alice):
    m = quarantined(clerk_alice)
    client = browser(clerk_alice)
    r = client.post(f"/desk/mail/{m.pk}/release/", headers=EN)
    assert r.status_code == 302 and r["Location"] == "/desk/mail/"
    m.refresh_from_db()
    assert m.state == "released" and m.case.channel == "email"
    page = client.get("/desk/mail/", headers=EN).content.decode()
    assert f"Registered as {m.case.tracking_number}." in page and "No mail to review." in page


def test_a_clerk_dismisses_a_message_and_a_second_review_is_refused_with_a_message(clerk_alice):
    m = quarantined(clerk_alice, "bounce.eml")
    client = browser(clerk_alice)
    assert client.post(f"/desk/mail/{m.pk}/dismiss/").status_code == 302
    r = client.post(f"/desk/mail/{m.pk}/release/", headers=EN, follow=True)
    assert "only quarantined or failed messages can be reviewed" in r.content.decode()
    assert Case.objects.count() == 0
    assert InboundMessage.objects.get(pk=m.pk).state == "dismissed"


def test_a_supervisor_reads_but_has_no_buttons(clerk_alice, supervisor_carol):
    m = quarantined(clerk_alice)
    page = browser(supervisor_carol).get(f"/desk/mail/{m.pk}/", headers=EN).content.decode()
    assert "您好，我正在休假" in page and "Dismiss" not in page
    assert (
        browser(clerk_alice)
        .get(f"/desk/mail/{m.pk}/", headers=EN)
        .content.decode()
        .count("Dismiss")
        == 1
    )


def test_the_nav_links_to_the_quarantine_for_its_readers_only(clerk_alice, handler_bob):
    assert "/desk/mail/" in browser(clerk_alice).get("/desk/", headers=EN).content.decode()
    assert "/desk/mail/" not in browser(handler_bob).get("/desk/", headers=EN).content.decode()


def test_get_on_release_changes_nothing(clerk_alice):
    m = quarantined(clerk_alice)
    assert browser(clerk_alice).get(f"/desk/mail/{m.pk}/release/").status_code == 405
    m.refresh_from_db()
    assert m.state == "quarantined"
