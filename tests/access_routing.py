"""Access-matrix entries of the routing area (merged by tests/test_access_matrix.py)."""

from typing import Any

# Reply assistance (routing/replies.py): read like the case page (desk) or the case (API); the
# draft check answers every member of staff who reads cases (the admin role does not).
from tests.access_desk import STAFF_PAGE, desk_case
from tests.test_access_matrix import (
    CLAIM,
    CLAIM_HIDDEN,
    CLAIM_READERS,
    V1,
    Probe,
    on_case,
    staff_only,
)

MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {
    # Routing suggestions while registering: whoever may register (routing/views.py).
    ("*", "/desk/routing/suggest/"): {
        **STAFF_PAGE,
        **dict.fromkeys(("supervisor", "supervisor_c2", "analyst"), "403"),
    },
    ("*", "/desk/routing/cases/{case_id}/similar-replies/"): desk_case("ok", **CLAIM_READERS),
    ("*", "/desk/routing/cases/{case_id}/opinion-check/"): desk_case("ok", **CLAIM_READERS),
    ("GET", f"{V1}/petitions/{{case_id}}/similar-replies"): on_case(CLAIM_HIDDEN, **CLAIM_READERS),
    ("POST", f"{V1}/opinions/check"): staff_only("ok", admin="403"),
}
PROBE_ENTRIES: dict[tuple[str, str], Any] = {
    ("*", "/desk/routing/suggest/"): Probe(methods=("POST",)),
    ("*", "/desk/routing/cases/{case_id}/similar-replies/"): Probe(setup=CLAIM, methods=("GET",)),
    # A POST without an opinion field: an empty check (200).
    ("*", "/desk/routing/cases/{case_id}/opinion-check/"): Probe(setup=CLAIM, methods=("POST",)),
    ("GET", f"{V1}/petitions/{{case_id}}/similar-replies"): Probe(setup=CLAIM),
    ("POST", f"{V1}/opinions/check"): Probe(body=lambda ctx: {"text": "经查，您反映的问题属实。"}),
}
