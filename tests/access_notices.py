"""Access-matrix entries of the notices area (merged by tests/test_access_matrix.py).

Notices are read by everyone who reads the case; issued and confirmed only by the clerks, handlers
and heads of the organisation that took the step the notice reports (here K-EDU accepted the
claim); the accused organ never sees an accusation's notices (the case's 404)."""

from typing import Any

from petitiondesk.notices.services import DeliveryRequest, notice_issue
from tests.access_desk import desk_case
from tests.test_access_matrix import CLAIM_HIDDEN, CLAIM_READERS, V1, Probe, World, _at, on_case


def _accepted(w: World) -> dict[str, Any]:
    return _at("accepted")(w)


def _with_notice(w: World) -> dict[str, Any]:
    """The accepted claim with its acceptance notice, to be delivered by post."""
    ctx = _at("accepted")(w)
    notice = notice_issue(
        case_id=ctx["case_id"],
        actor=w.users["handler"],
        kind="acceptance",
        deliver=[DeliveryRequest("post", "示范县城关镇人民路1号")],
    )
    return {**ctx, "notice_id": notice.pk, "delivery_id": notice.deliveries.get().pk}


NOTICES = f"{V1}/petitions/{{case_id}}/notices"
ISSUERS = {"handler": "ok", "head": "ok"}

MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", NOTICES): on_case(CLAIM_HIDDEN, **CLAIM_READERS),
    ("POST", NOTICES): on_case(CLAIM_HIDDEN, **ISSUERS),
    ("GET", f"{NOTICES}/{{notice_id}}/pdf"): on_case(CLAIM_HIDDEN, **CLAIM_READERS),
    ("POST", f"{NOTICES}/{{notice_id}}/deliveries/{{delivery_id}}/confirm"): on_case(
        CLAIM_HIDDEN, **ISSUERS
    ),
    # The case page's Notices section: the same rule (a form post, then back to the case page).
    # A petition department's clerk and a supervisor may issue a supervision notice.
    ("*", "/desk/cases/{case_id}/notices/"): desk_case(
        "403", **ISSUERS, clerk="ok", supervisor="ok"
    ),
    ("*", "/desk/cases/{case_id}/notices/deliveries/{delivery_id}/confirm/"): desk_case(
        "403", **ISSUERS
    ),
}

PROBE_ENTRIES: dict[tuple[str, str], Any] = {
    ("GET", NOTICES): Probe(setup=_with_notice),
    ("POST", NOTICES): Probe(setup=_accepted, body=lambda ctx: {"kind": "acceptance"}),
    ("GET", f"{NOTICES}/{{notice_id}}/pdf"): Probe(setup=_with_notice),
    ("POST", f"{NOTICES}/{{notice_id}}/deliveries/{{delivery_id}}/confirm"): Probe(
        setup=_with_notice, body=lambda ctx: {"delivered_on": "2026-11-27"}
    ),
    ("*", "/desk/cases/{case_id}/notices/"): Probe(
        setup=_accepted,
        methods=("POST",),
        body=lambda ctx: {"notice-kind": "acceptance", "notice-language": "zh-hans"},
    ),
    ("*", "/desk/cases/{case_id}/notices/deliveries/{delivery_id}/confirm/"): Probe(
        setup=_with_notice,
        methods=("POST",),
        body=lambda ctx: {f"d{ctx['delivery_id']}-delivered_on": "2026-11-27"},
    ),
}
