"""Where mail comes from: .eml files, directories of them, Maildir folders and an IMAP mailbox."""

from __future__ import annotations

import datetime as dt
import imaplib
import logging
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.core.errors import InvalidInput

from .models import InboundMessage
from .services import Ingested, acks_send_pending, mail_ingest

log = logging.getLogger("petitiondesk.mail")
OUTCOMES = ("registered", "threaded", "quarantined", "skipped", "failed")
Progress = Callable[[str, str], None]


@dataclass
class RunSummary:
    counts: Counter[str] = field(default_factory=Counter)
    created: list[int] = field(default_factory=list)  # the messages this run took in
    acks_sent: int = 0  # of this run's messages, and of earlier ones sent again
    acks_failed: int = 0  # acknowledgements still owed after the run

    def line(self) -> str:
        parts = ", ".join(f"{self.counts[k]} {k}" for k in OUTCOMES)
        return f"{parts}; acknowledgements: {self.acks_sent} sent, {self.acks_failed} failed"

    def count(self, result: Ingested) -> None:
        self.counts[outcome_of(result)] += 1
        if result.created:
            self.created.append(result.message.pk)

    def finish(self, retried: int) -> RunSummary:
        """Send what is still owed, then count: `retried` were sent again before the run."""
        acks_send_pending()
        Ack = InboundMessage.Ack
        sent = InboundMessage.objects.filter(pk__in=self.created, ack_state=Ack.SENT).count()
        self.acks_sent = retried + sent
        self.acks_failed = InboundMessage.objects.filter(ack_state=Ack.FAILED).count()
        return self


def outcome_of(result: Ingested) -> str:
    if not result.created:
        return "skipped"
    return str(result.message.state)


def _describe(result: Ingested) -> str:
    m = result.message
    what = outcome_of(result)
    if m.case is not None:
        what += f" {m.case.tracking_number}"
    if m.reason:
        what += f" ({m.reason})"
    return what


# --- files and Maildir ---------------------------------------------------------------------------


def _is_maildir(path: Path) -> bool:
    return all((path / d).is_dir() for d in ("new", "cur", "tmp"))


def iter_mail_files(paths: list[str]) -> Iterator[tuple[str, Path]]:
    """(source, file) for each path: a file, a directory of .eml files, or a Maildir (new/ and
    cur/; the folder is only read, never changed)."""
    for name in paths:
        path = Path(name)
        if _is_maildir(path):
            for sub in ("cur", "new"):
                for f in sorted((path / sub).iterdir()):
                    if f.is_file() and not f.name.startswith("."):
                        yield InboundMessage.Source.MAILDIR, f
        elif path.is_dir():
            for f in sorted(path.glob("*.eml")):
                yield InboundMessage.Source.FILE, f
        elif path.is_file():
            yield InboundMessage.Source.FILE, path
        else:
            raise InvalidInput("not_found", _("no such file or directory: %s") % name)


def mail_import(*, paths: list[str], actor: User, progress: Progress | None = None) -> RunSummary:
    """Import every message under `paths` as `actor`; a message that fails is counted and the
    run goes on. Owed acknowledgements are sent (again) first."""
    files = list(iter_mail_files(paths))  # every path checked before anything is imported
    summary = RunSummary()
    retried, _failed = acks_send_pending()
    for source, f in files:
        try:
            result = mail_ingest(
                raw=f.read_bytes(), source=source, actor=actor, source_ref=str(f.resolve())
            )
        except Exception as exc:  # one broken message must not stop the others
            log.exception("mail import of %s failed", f)
            summary.counts["failed"] += 1
            if progress:
                progress(str(f), f"failed: {exc}")
            continue
        summary.count(result)
        if progress:
            progress(str(f), _describe(result))
    return summary.finish(retried)


# --- IMAP --------------------------------------------------------------------------------------


def imap_connect() -> Any:
    """A logged-in IMAP connection from the PETITIONDESK_IMAP_* settings."""
    host, port = settings.PETITIONDESK_IMAP_HOST, settings.PETITIONDESK_IMAP_PORT
    if not host:
        raise InvalidInput("imap_not_configured", _("PETITIONDESK_IMAP_HOST is not set"))
    context = ssl.create_default_context()
    conn: imaplib.IMAP4
    if settings.PETITIONDESK_IMAP_SECURITY == "ssl":
        conn = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=60)
    else:
        conn = imaplib.IMAP4(host, port, timeout=60)
        if settings.PETITIONDESK_IMAP_SECURITY == "starttls":
            conn.starttls(ssl_context=context)
    conn.login(settings.PETITIONDESK_IMAP_USER, settings.PETITIONDESK_IMAP_PASSWORD)
    return conn


_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


def _fetched(data: list[Any]) -> tuple[bytes | None, dt.datetime | None]:
    """The message bytes and INTERNALDATE of a `UID FETCH (INTERNALDATE BODY.PEEK[])` answer."""
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            meta, raw = item
            when = None
            found = _INTERNALDATE.search(meta)
            if found:
                try:
                    when = dt.datetime.strptime(
                        found.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z"
                    )
                except ValueError:
                    when = None
            return raw, when
    return None, None


def mail_poll(
    *, actor: User, connect: Callable[[], Any] | None = None, progress: Progress | None = None
) -> RunSummary:
    """Fetch the unseen messages of the mailbox, take each in, then flag it \\Seen (after its
    commit: a crash in between re-fetches it, and the Message-ID makes that harmless). A message
    that fails is left unseen for the next poll."""
    summary = RunSummary()
    retried, _failed = acks_send_pending()
    conn = (connect or imap_connect)()
    try:
        conn.select(settings.PETITIONDESK_IMAP_FOLDER)
        _typ, found = conn.uid("SEARCH", None, "UNSEEN")
        uids = found[0].split() if found and found[0] else []
        for uid in uids:
            ref = f"imap:{settings.PETITIONDESK_IMAP_FOLDER}:{uid.decode()}"
            try:
                _typ, data = conn.uid("FETCH", uid, "(INTERNALDATE BODY.PEEK[])")
                raw, when = _fetched(data or [])
                if raw is None:
                    raise ValueError("the server sent no message body")
                result = mail_ingest(
                    raw=raw,
                    source=InboundMessage.Source.IMAP,
                    actor=actor,
                    source_ref=ref,
                    received_at=when,
                )
            except Exception as exc:
                log.exception("IMAP message %s failed", ref)
                summary.counts["failed"] += 1
                if progress:
                    progress(ref, f"failed: {exc}")
                continue
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            summary.count(result)
            if progress:
                progress(ref, _describe(result))
    finally:
        try:
            conn.logout()
        except Exception:  # the mailbox is done with; a failed goodbye changes nothing
            log.warning("IMAP logout failed", exc_info=True)
    return summary.finish(retried)


_last_poll: dict[str, float] = {}
_poll_lock = threading.Lock()


def poll_when_due() -> None:
    """From the scheduler: poll when IMAP is configured and PETITIONDESK_IMAP_POLL_SECONDS have
    passed since the last poll of this process. Failures are logged; the next turn retries."""
    if not settings.PETITIONDESK_IMAP_HOST:
        return
    with _poll_lock:
        last = _last_poll.get("imap")
        if last is not None and time.monotonic() - last < settings.PETITIONDESK_IMAP_POLL_SECONDS:
            return
        _last_poll["imap"] = time.monotonic()
    try:
        from .services import mail_clerk

        summary = mail_poll(actor=mail_clerk())
        if sum(summary.counts.values()):
            log.info("mail poll: %s", summary.line())
    except Exception:
        log.exception("mail poll failed")
