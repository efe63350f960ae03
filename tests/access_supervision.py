"""Access-matrix entries of the supervision area (merged by tests/test_access_matrix.py).

Supervision notices and backlog cases are read by everyone who reads their case (the claim,
held by K-EDU); strangers get the 404 of a row that does not exist. A notice is issued by hand by a
supervisor or a petition department's clerk or head (not by the holder), answered by the addressed
organ's clerks, handlers and heads, closed by its issuer (here the supervisor at C). Backlog cases
are flagged, assigned, planned and resolved by supervisors, heads and clerks; progress is also
reported by the holding organ's staff. Lists answer every member of staff with what they may read.
"""

import datetime as dt
from typing import Any

from petitiondesk.supervision.services import (
    backlog_flag,
    supervision_answer,
    supervision_issue,
)
from tests.access_desk import STAFF_PAGE, desk_case
from tests.test_access_matrix import (
    CLAIM_HIDDEN,
    CLAIM_READERS,
    V1,
    Probe,
    World,
    on_case,
    staff_only,
)

TODAY = dt.date(2026, 11, 27)
NOTICES = f"{V1}/supervision/notices"
BACKLOG = f"{V1}/supervision/backlog"
DESK = "/desk/supervision"
MANAGERS = {"clerk": "ok", "head": "ok", "supervisor": "ok"}


def _notice(w: World) -> dict[str, Any]:
    record = supervision_issue(
        case_id=w.claim,
        actor=w.users["supervisor"],
        reason="poor",
        recommendations="限期整改。",
        answer_by=TODAY + dt.timedelta(days=10),
    )
    return {"record_id": record.pk, "case": w.claim}


def _answered(w: World) -> dict[str, Any]:
    ctx = _notice(w)
    supervision_answer(record_id=ctx["record_id"], actor=w.users["handler"], text="已整改。")
    return ctx


def _backlog(w: World) -> dict[str, Any]:
    backlog, _created = backlog_flag(case_id=w.claim, actor=w.users["supervisor"])
    return {"backlog_id": backlog.pk, "case": w.claim, "step": "plan"}


def _claim(w: World) -> dict[str, Any]:
    return {"case": w.claim}


MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", NOTICES): staff_only("ok"),
    ("POST", NOTICES): on_case(CLAIM_HIDDEN, clerk="ok", supervisor="ok"),
    ("GET", f"{NOTICES}/{{record_id}}"): on_case(CLAIM_HIDDEN, **CLAIM_READERS),
    ("POST", f"{NOTICES}/{{record_id}}/answer"): on_case(CLAIM_HIDDEN, handler="ok", head="ok"),
    ("POST", f"{NOTICES}/{{record_id}}/close"): on_case(CLAIM_HIDDEN, supervisor="ok"),
    ("GET", BACKLOG): staff_only("ok"),
    ("POST", BACKLOG): on_case(CLAIM_HIDDEN, **MANAGERS),
    ("GET", f"{BACKLOG}/{{backlog_id}}"): on_case(CLAIM_HIDDEN, **CLAIM_READERS),
    ("POST", f"{BACKLOG}/{{backlog_id}}/assign"): on_case(CLAIM_HIDDEN, **MANAGERS),
    ("POST", f"{BACKLOG}/{{backlog_id}}/plan"): on_case(CLAIM_HIDDEN, **MANAGERS),
    ("POST", f"{BACKLOG}/{{backlog_id}}/progress"): on_case(CLAIM_HIDDEN, **MANAGERS, handler="ok"),
    ("POST", f"{BACKLOG}/{{backlog_id}}/resolve"): on_case(CLAIM_HIDDEN, **MANAGERS),
    # Each member of staff reads and marks their own notifications only.
    ("GET", f"{V1}/supervision/notifications"): staff_only("ok"),
    ("POST", f"{V1}/supervision/notifications/read"): staff_only("ok"),
    # Desk pages: lists for every reading role (the admin reads no case: 403), rows like the case.
    ("*", f"{DESK}/inbox/"): STAFF_PAGE,
    ("*", f"{DESK}/notices/"): STAFF_PAGE,
    ("*", f"{DESK}/notices/{{record_id}}/"): desk_case("ok"),
    ("*", f"{DESK}/notices/{{record_id}}/answer/"): desk_case("403", handler="ok", head="ok"),
    ("*", f"{DESK}/notices/{{record_id}}/close/"): desk_case("403", supervisor="ok"),
    ("*", f"{DESK}/backlog/"): STAFF_PAGE,
    ("*", f"{DESK}/backlog/{{backlog_id}}/"): desk_case("ok"),
    ("*", f"{DESK}/backlog/{{backlog_id}}/{{step}}/"): desk_case("403", **MANAGERS),
}

PROBE_ENTRIES: dict[tuple[str, str], Any] = {
    ("GET", NOTICES): Probe(setup=_notice),
    ("POST", NOTICES): Probe(
        setup=_claim,
        body=lambda ctx: {
            "case_id": ctx["case"],
            "reason": "late",
            "recommendations": "请加快办理。",
            "answer_by": "2026-12-07",
        },
    ),
    ("GET", f"{NOTICES}/{{record_id}}"): Probe(setup=_notice),
    ("POST", f"{NOTICES}/{{record_id}}/answer"): Probe(
        setup=_notice, body=lambda ctx: {"text": "已整改。"}
    ),
    ("POST", f"{NOTICES}/{{record_id}}/close"): Probe(setup=_answered, body=lambda ctx: {}),
    ("GET", BACKLOG): Probe(setup=_backlog),
    ("POST", BACKLOG): Probe(setup=_claim, body=lambda ctx: {"case_id": ctx["case"]}),
    ("GET", f"{BACKLOG}/{{backlog_id}}"): Probe(setup=_backlog),
    ("POST", f"{BACKLOG}/{{backlog_id}}/assign"): Probe(
        setup=_backlog, body=lambda ctx: {"owner": "erin"}
    ),
    ("POST", f"{BACKLOG}/{{backlog_id}}/plan"): Probe(
        setup=_backlog, body=lambda ctx: {"plan": "包案化解。", "target_on": "2027-01-31"}
    ),
    ("POST", f"{BACKLOG}/{{backlog_id}}/progress"): Probe(
        setup=_backlog, body=lambda ctx: {"text": "已走访。"}
    ),
    ("POST", f"{BACKLOG}/{{backlog_id}}/resolve"): Probe(
        setup=_backlog, body=lambda ctx: {"outcome": "已化解。"}
    ),
    ("GET", f"{V1}/supervision/notifications"): Probe(setup=_notice),
    ("POST", f"{V1}/supervision/notifications/read"): Probe(setup=_notice, body=lambda ctx: {}),
    ("*", f"{DESK}/inbox/"): Probe(setup=_notice, methods=("GET", "POST")),
    ("*", f"{DESK}/notices/"): Probe(setup=_notice, methods=("GET",)),
    ("*", f"{DESK}/notices/{{record_id}}/"): Probe(setup=_notice, methods=("GET",)),
    # A form post without fields: past the access checks, refused as invalid (a message, 303).
    ("*", f"{DESK}/notices/{{record_id}}/answer/"): Probe(setup=_notice, methods=("POST",)),
    ("*", f"{DESK}/notices/{{record_id}}/close/"): Probe(setup=_answered, methods=("POST",)),
    ("*", f"{DESK}/backlog/"): Probe(setup=_backlog, methods=("GET",)),
    ("*", f"{DESK}/backlog/{{backlog_id}}/"): Probe(setup=_backlog, methods=("GET",)),
    ("*", f"{DESK}/backlog/{{backlog_id}}/{{step}}/"): Probe(setup=_backlog, methods=("POST",)),
}
