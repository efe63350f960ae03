"""Message-IDs of the mails this system sends, so that replies to them thread to their case.

Used by the acknowledgements of the e-mail intake and by the notices app.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import make_msgid

from django.conf import settings

from petitiondesk.mail.models import OutboundMail


def normalise_message_id(value: str) -> str:
    """A Message-ID as stored: stripped, angle brackets kept (``<x@y>``), case as sent."""
    value = value.strip()
    if value and not value.startswith("<"):
        value = f"<{value}>"
    return value


def make_message_id() -> str:
    """A new Message-ID (``<…@domain>``) for a mail this system is about to send."""
    domain = getattr(settings, "PETITIONDESK_MAIL_DOMAIN", "") or "petitiondesk.local"
    return make_msgid(domain=domain)


def remember_outbound(*, message_id: str, case_id: int) -> None:
    """Record that the mail with ``message_id`` was sent about case ``case_id`` (idempotent)."""
    OutboundMail.objects.get_or_create(
        message_id=normalise_message_id(message_id), defaults={"case_id": case_id}
    )


def case_for_message_ids(ids: Iterable[str]) -> int | None:
    """The case of the latest of ``ids`` (In-Reply-To, References) that this system sent, or None."""
    wanted = [normalise_message_id(i) for i in ids if i and i.strip()]
    if not wanted:
        return None
    found = (
        OutboundMail.objects.filter(message_id__in=wanted)
        .order_by("-created_at", "-id")
        .values_list("case_id", flat=True)
        .first()
    )
    return found
