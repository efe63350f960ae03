"""Access-matrix entries of the staff workbench's pages (merged by tests/test_access_matrix.py)."""

from typing import Any

from tests.test_access_matrix import (
    CLAIM_HIDDEN,
    CLAIM_READERS,
    STAFF,
    Probe,
    World,
    _at,
    _with_attachment,
    everyone,
)

# Staff who read cases; the public is sent to the login page; the admin role reads no cases.
STAFF_PAGE = {**everyone("ok"), "anonymous": "deny", "citizen": "deny", "admin": "403"}


def desk_case(default: str, **outcomes: str) -> dict[str, str]:
    """A case page: the public to the login page, staff who do not see the claim (the admin
    included: it reads no case) 404, the named staff their outcome, other staff `default`."""
    hidden = {**dict.fromkeys(CLAIM_HIDDEN, "404"), "admin": "404"}
    return {
        "anonymous": "deny",
        "citizen": "deny",
        **dict.fromkeys(STAFF, default),
        **hidden,
        **outcomes,
    }


def _accept_at_routed(w: World) -> dict[str, Any]:
    return {**_at("routed")(w), "verb": "accept"}


MATRIX_ENTRIES = {
    ("*", "/desk/"): STAFF_PAGE,
    ("*", "/desk/export.csv"): STAFF_PAGE,
    # Supervisors and analysts watch their jurisdiction; heads answer for their organ's delays.
    ("*", "/desk/board/"): {
        **STAFF_PAGE,
        **dict.fromkeys(
            ("clerk", "handler", "housing_handler", "county_handler", "city_handler"), "403"
        ),
    },
    # Registering: the roles that register petitions (as the intake service allows).
    ("*", "/desk/register/"): {
        **STAFF_PAGE,
        **dict.fromkeys(("supervisor", "supervisor_c2", "analyst"), "403"),
    },
    ("*", "/desk/cases/{case_id}/"): desk_case("ok", **CLAIM_READERS),
    # Accepting the routed claim: its holder's handler and head get past access control (the
    # empty form is then refused as a claim without its route); other staff who see it 403.
    ("*", "/desk/cases/{case_id}/act/{verb}/"): desk_case("403", handler="allow", head="allow"),
    ("*", "/desk/cases/{case_id}/attachments/{attachment_id}/"): desk_case("ok", **CLAIM_READERS),
}

PROBE_ENTRIES = {
    ("*", "/desk/"): Probe(methods=("GET",)),
    ("*", "/desk/export.csv"): Probe(methods=("GET",)),
    ("*", "/desk/board/"): Probe(methods=("GET",)),
    ("*", "/desk/register/"): Probe(methods=("GET",)),
    ("*", "/desk/cases/{case_id}/"): Probe(setup=lambda w: {"case_id": w.claim}, methods=("GET",)),
    ("*", "/desk/cases/{case_id}/act/{verb}/"): Probe(setup=_accept_at_routed, methods=("POST",)),
    ("*", "/desk/cases/{case_id}/attachments/{attachment_id}/"): Probe(
        setup=_with_attachment, methods=("GET",)
    ),
}
