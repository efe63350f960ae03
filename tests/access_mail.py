"""Access-matrix entries of the mail area (merged by tests/test_access_matrix.py).

Quarantined mail holds petitioner data: only the organisation that received it (K-XF, the
clerk's) sees it — its clerks and heads, who release or dismiss, and supervisors whose
jurisdiction includes it (read-only). Handlers, analysts and the admin role may not open the
pages (403); staff of the right roles elsewhere get the 404 of a message that does not exist.
"""

from pathlib import Path
from typing import Any

from petitiondesk.mail.services import mail_ingest
from tests.test_access_matrix import STAFF, Probe, World

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mail"

PUBLIC_DENIED = {"anonymous": "deny", "citizen": "deny"}
# Roles that may not open the mail pages at all.
NO_MAIL = dict.fromkeys(STAFF, "403")


def _quarantined(w: World) -> dict[str, Any]:
    """An automatic reply the county petition bureau's clerk took in: quarantined at K-XF."""
    raw = (FIXTURES / "auto_reply.eml").read_bytes()
    result = mail_ingest(raw=raw, source="file", actor=w.users["clerk"])
    assert result.message.state == "quarantined"
    return {"message_id": result.message.pk}


MESSAGE_READERS = {"clerk": "ok", "supervisor": "ok", "head": "404", "supervisor_c2": "404"}
MESSAGE_ACTORS = {"clerk": "ok", "supervisor": "403", "head": "404", "supervisor_c2": "404"}

MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {
    # The list: each reader sees their organisation's messages (an empty list elsewhere).
    ("*", "/desk/mail/"): {
        **PUBLIC_DENIED,
        **NO_MAIL,
        **dict.fromkeys(("clerk", "head", "supervisor", "supervisor_c2"), "ok"),
    },
    ("*", "/desk/mail/{message_id}/"): {**PUBLIC_DENIED, **NO_MAIL, **MESSAGE_READERS},
    ("*", "/desk/mail/{message_id}/release/"): {**PUBLIC_DENIED, **NO_MAIL, **MESSAGE_ACTORS},
    ("*", "/desk/mail/{message_id}/dismiss/"): {**PUBLIC_DENIED, **NO_MAIL, **MESSAGE_ACTORS},
}
PROBE_ENTRIES: dict[tuple[str, str], Any] = {
    ("*", "/desk/mail/"): Probe(setup=_quarantined, methods=("GET",)),
    ("*", "/desk/mail/{message_id}/"): Probe(setup=_quarantined, methods=("GET",)),
    ("*", "/desk/mail/{message_id}/release/"): Probe(setup=_quarantined, methods=("POST",)),
    ("*", "/desk/mail/{message_id}/dismiss/"): Probe(setup=_quarantined, methods=("POST",)),
}
