"""Sending text messages: a small gateway interface and the backends that ship with petitiondesk.

`PETITIONDESK_SMS_BACKEND` names the backend class (dotted path). A real gateway is one class with a
`send` method; it gets the delivery's `key` on every attempt so that it can refuse a duplicate.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger("petitiondesk.sms")


class SmsError(Exception):
    """The gateway did not take the message; the delivery is retried later."""


class SmsBackend(Protocol):
    def send(self, *, to: str, text: str, key: str) -> str:
        """Hand the message to the gateway; return the gateway's reference. Raise `SmsError`
        (or any exception) when it was not taken."""
        ...


class LoggingBackend:
    """Writes each message to the log: for development."""

    def send(self, *, to: str, text: str, key: str) -> str:
        log.info("sms to=%s key=%s text=%s", to, key, text)
        return f"log:{key}"


_file_lock = threading.Lock()


class FileBackend:
    """Appends each message as one JSON line to `PETITIONDESK_SMS_FILE` (in the data dir): what a
    deployment without a gateway uses, and what the tests read."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or settings.PETITIONDESK_SMS_FILE)

    def send(self, *, to: str, text: str, key: str) -> str:
        record = {"at": timezone.now().isoformat(), "to": to, "text": text, "key": key}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return f"file:{key}"


def get_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.PETITIONDESK_SMS_BACKEND)()
    return backend
