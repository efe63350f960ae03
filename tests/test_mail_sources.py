"""Where mail comes from: `petitiondesk mail import` (files, directories, Maildir), the IMAP poller
(against a fake IMAP4 object, no network) and its settings, and the quarantine commands."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail as django_mail
from django.utils import translation

from petitiondesk.cases.models import Case
from petitiondesk.cli import main
from petitiondesk.mail import sources
from petitiondesk.mail.models import InboundMessage
from petitiondesk.mail.sources import mail_poll

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mail"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def mail_settings(settings: Any, tmp_path: Path) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    settings.PETITIONDESK_MAIL_ADDRESS = "xinfang@petitions.example.gov.cn"
    settings.PETITIONDESK_MAIL_CLERK = "alice"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    # The messages asserted here are the English ones; the CLI speaks the default language.
    with translation.override("en"):
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def copy(names: list[str], into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / name, into / name)
    return into


# --- import --------------------------------------------------------------------------------------


def test_import_takes_files_directories_and_maildirs_and_says_what_became_of_each(
    clerk_alice, tmp_path, capsys
):
    folder = copy(["utf8_plain.eml", "html_only.eml"], tmp_path / "eml")
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    shutil.copy(FIXTURES / "bounce.eml", maildir / "new" / "1700000000.M1P1.host")
    shutil.copy(FIXTURES / "gbk_attachment.eml", maildir / "cur" / "1700000001.M2P1.host:2,S")
    single = FIXTURES / "undeclared_gbk.eml"

    code, out, err = run(capsys, "mail", "import", str(folder), str(maildir), str(single))
    assert code == 0, err
    assert out.strip() == (
        "4 registered, 0 threaded, 1 quarantined, 0 skipped, 0 failed; "
        "acknowledgements: 4 sent, 0 failed"
    )
    assert "html_only.eml: registered XF2026" in err and "(bounce)" in err
    sources_seen = dict(InboundMessage.objects.values_list("message_id", "source"))
    assert sources_seen["<bounce-1@mx.example.cn>"] == "maildir"
    assert sources_seen["<utf8-plain-1@example.cn>"] == "file"
    assert sorted((maildir / "new").iterdir())  # the Maildir is read, never changed

    code, out, _err = run(capsys, "mail", "import", str(folder), str(maildir), str(single))
    assert out.strip().startswith("0 registered, 0 threaded, 0 quarantined, 5 skipped, 0 failed")
    assert Case.objects.count() == 4 and len(django_mail.outbox) == 4


def test_import_as_another_user_and_refusals_in_one_line(clerk_alice, handler_bob, capsys):
    code, _out, err = run(capsys, "mail", "import", str(FIXTURES / "utf8_plain.eml"), "--as", "bob")
    assert code == 2 and err.count("\n") == 1 and "bob must be a clerk or head" in err
    code, _out, err = run(capsys, "mail", "import", "/no/such/dir", "--as", "alice")
    assert code == 2 and "no such file or directory: /no/such/dir" in err
    assert InboundMessage.objects.count() == 0


def test_import_without_a_configured_clerk_is_refused(org_tree, settings, capsys):
    settings.PETITIONDESK_MAIL_CLERK = ""
    code, _out, err = run(capsys, "mail", "import", str(FIXTURES / "utf8_plain.eml"))
    assert code == 2 and "PETITIONDESK_MAIL_CLERK" in err


def test_quarantine_list_release_and_dismiss(clerk_alice, tmp_path, capsys):
    folder = copy(["auto_reply.eml", "bounce.eml"], tmp_path / "q")
    run(capsys, "mail", "import", str(folder))
    auto = InboundMessage.objects.get(reason="auto_reply")
    bounce = InboundMessage.objects.get(reason="bounce")

    code, out, _err = run(capsys, "mail", "quarantine", "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-1] == "2 message(s) to review"
    assert any(line.startswith(f"{auto.pk}\t") and "auto_reply" in line for line in lines)

    code, out, _err = run(capsys, "mail", "quarantine", "release", str(auto.pk))
    auto.refresh_from_db()
    assert (
        code == 0 and out.strip() == f"message {auto.pk} registered as {auto.case.tracking_number}"
    )
    code, out, _err = run(capsys, "mail", "quarantine", "dismiss", str(bounce.pk))
    assert out.strip() == f"message {bounce.pk} dismissed"
    code, _out, err = run(capsys, "mail", "quarantine", "dismiss", str(bounce.pk))
    assert code == 2 and "only quarantined or failed messages" in err
    assert run(capsys, "mail", "quarantine", "list")[1].strip() == "0 message(s) to review"


# --- IMAP ----------------------------------------------------------------------------------------


class FakeImap:
    """The few IMAP4 methods the poller calls, over a dict of messages."""

    def __init__(self, messages: dict[bytes, tuple[bytes, str]], *, broken: bytes = b"") -> None:
        self.messages = messages
        self.seen: set[bytes] = set()
        self.broken = broken
        self.selected = ""
        self.logged_out = False

    def select(self, folder: str) -> tuple[str, list[bytes]]:
        self.selected = folder
        return "OK", [str(len(self.messages)).encode()]

    def uid(self, command: str, *args: Any) -> tuple[str, list[Any]]:
        if command == "SEARCH":
            assert args == (None, "UNSEEN")
            unseen = [u for u in sorted(self.messages) if u not in self.seen]
            return "OK", [b" ".join(unseen)]
        if command == "FETCH":
            uid, what = args
            assert "BODY.PEEK[]" in what  # fetching must not set \Seen by itself
            raw, date = self.messages[uid]
            if uid == self.broken:
                return "OK", [None]
            meta = f'1 (UID {uid.decode()} INTERNALDATE "{date}" BODY[] {{{len(raw)}}}'.encode()
            return "OK", [(meta, raw), b")"]
        if command == "STORE":
            uid, op, flags = args
            assert (op, flags) == ("+FLAGS", "(\\Seen)")
            self.seen.add(uid)
            return "OK", []
        raise AssertionError(command)

    def logout(self) -> tuple[str, list[bytes]]:
        self.logged_out = True
        return "BYE", []


def test_the_poller_takes_unseen_mail_in_and_flags_it_seen(clerk_alice):
    box = FakeImap(
        {
            b"7": ((FIXTURES / "gbk_attachment.eml").read_bytes(), "24-Nov-2026 23:50:00 +0000"),
            b"8": ((FIXTURES / "auto_reply.eml").read_bytes(), "27-Nov-2026 08:00:07 +0800"),
        }
    )
    summary = mail_poll(actor=clerk_alice, connect=lambda: box)
    assert summary.line().startswith("1 registered, 0 threaded, 1 quarantined, 0 skipped")
    assert box.seen == {b"7", b"8"} and box.logged_out and box.selected == "INBOX"
    registered = InboundMessage.objects.get(state="registered")
    assert registered.source == "imap" and registered.source_ref == "imap:INBOX:7"
    # INTERNALDATE (25 Nov 07:50 in Asia/Shanghai), not the Date header, is the arrival.
    assert registered.case.received_on.isoformat() == "2026-11-25"
    assert mail_poll(actor=clerk_alice, connect=lambda: box).counts.total() == 0


def test_a_message_that_fails_stays_unseen_for_the_next_poll(clerk_alice):
    box = FakeImap(
        {
            b"1": ((FIXTURES / "utf8_plain.eml").read_bytes(), "26-Nov-2026 21:15:03 +0800"),
            b"2": ((FIXTURES / "html_only.eml").read_bytes(), "23-Nov-2026 20:00:01 +0800"),
        },
        broken=b"1",
    )
    summary = mail_poll(actor=clerk_alice, connect=lambda: box)
    assert (summary.counts["failed"], summary.counts["registered"]) == (1, 1)
    assert box.seen == {b"2"}
    box.broken = b""
    assert mail_poll(actor=clerk_alice, connect=lambda: box).counts["registered"] == 1
    assert box.seen == {b"1", b"2"}


def test_the_scheduler_polls_only_when_imap_is_configured_and_due(
    clerk_alice, settings, monkeypatch
):
    box = FakeImap(
        {b"1": ((FIXTURES / "utf8_plain.eml").read_bytes(), "26-Nov-2026 21:15:03 +0800")}
    )
    connects: list[int] = []

    def connect() -> FakeImap:
        connects.append(1)
        return box

    monkeypatch.setattr(sources, "imap_connect", connect)
    monkeypatch.setattr(sources, "_last_poll", {})
    settings.PETITIONDESK_IMAP_HOST = ""
    sources.poll_when_due()
    assert connects == []
    settings.PETITIONDESK_IMAP_HOST = "imap.example.gov.cn"
    sources.poll_when_due()
    sources.poll_when_due()  # PETITIONDESK_IMAP_POLL_SECONDS have not passed
    assert connects == [1] and box.seen == {b"1"}


def test_imap_settings_come_from_the_environment_and_bad_values_are_refused(tmp_path):
    env = {
        **os.environ,
        "PETITIONDESK_DATA_DIR": str(tmp_path),
        "PETITIONDESK_IMAP_HOST": "imap.example.gov.cn",
        "PETITIONDESK_IMAP_SECURITY": "STARTTLS",
        "PETITIONDESK_IMAP_USER": "xinfang",
        "PETITIONDESK_MAIL_ADDRESS": "xinfang@petitions.example.gov.cn",
    }
    code = (
        "from config import settings as s; print(s.PETITIONDESK_IMAP_HOST, s.PETITIONDESK_IMAP_PORT,"
        " s.PETITIONDESK_IMAP_SECURITY, s.PETITIONDESK_IMAP_FOLDER, s.PETITIONDESK_MAIL_DOMAIN)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.stdout.split() == [
        "imap.example.gov.cn",
        "143",
        "starttls",
        "INBOX",
        "petitions.example.gov.cn",
    ], done.stderr
    env["PETITIONDESK_IMAP_SECURITY"] = "tls1.0"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode != 0 and "PETITIONDESK_IMAP_SECURITY must be ssl, starttls or none" in (
        done.stderr
    )


def test_an_acknowledgement_that_failed_is_sent_by_the_next_run(clerk_alice, settings, capsys):
    settings.EMAIL_BACKEND = "tests.test_mail_intake.FailingBackend"
    path = str(FIXTURES / "utf8_plain.eml")
    assert (
        run(capsys, "mail", "import", path)[1]
        .strip()
        .endswith("acknowledgements: 0 sent, 1 failed")
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert run(capsys, "mail", "import", path)[1].strip() == (
        "0 registered, 0 threaded, 0 quarantined, 1 skipped, 0 failed; "
        "acknowledgements: 1 sent, 0 failed"
    )
    assert len(django_mail.outbox) == 1
