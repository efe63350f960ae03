"""Access-matrix entries of the citizen portal's pages (merged by tests/test_access_matrix.py)."""

from tests.test_access_matrix import Probe, everyone

MATRIX_ENTRIES = {
    ("*", "/"): everyone("ok"),
    ("*", "/submit/"): everyone("ok"),
    ("*", "/track/"): everyone("ok"),
}

PROBE_ENTRIES = {
    ("*", "/"): Probe(methods=("GET",)),
    ("*", "/submit/"): Probe(methods=("GET",)),
    ("*", "/track/"): Probe(methods=("GET",)),
}
