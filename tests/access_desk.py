"""Access-matrix entries of the staff workbench's pages (merged by tests/test_access_matrix.py)."""

from tests.test_access_matrix import Probe, everyone

# Staff who read cases; the public is sent to the login page; the admin role reads no cases.
STAFF_PAGE = {**everyone("ok"), "anonymous": "deny", "citizen": "deny", "admin": "403"}

MATRIX_ENTRIES = {
    ("*", "/desk/"): STAFF_PAGE,
}

PROBE_ENTRIES = {
    ("*", "/desk/"): Probe(methods=("GET",)),
}
