"""Access-matrix entries of the citizen portal's pages (merged by tests/test_access_matrix.py).

The portal is public: every page answers everyone. A case is shown only to the browser session
that gave its tracking number and access key (POST /track/); every other caller, staff included,
is sent from the case pages back to the tracking form (a redirect, "ok" in the table's terms), and
the case's own actions refuse it the same way. tests/test_web_portal.py checks what each page does.
"""

from tests.test_access_matrix import Probe, everyone

MATRIX_ENTRIES = {
    ("*", "/"): everyone("ok"),
    ("*", "/submit/"): everyone("ok"),  # a POST without fields: the form again, with its errors
    ("*", "/divisions/"): everyone("ok"),
    ("*", "/receipt/"): everyone("ok"),  # without a fresh submission: "already shown"
    ("*", "/track/"): everyone("ok"),
    ("*", "/track/case/"): everyone("ok"),  # without a tracked case: back to the form
    ("*", "/track/case/material/"): everyone("ok"),
    ("*", "/track/case/rate/"): everyone("ok"),
    ("*", "/track/case/appeal/"): everyone("ok"),
    ("*", "/track/leave/"): everyone("ok"),
}

PROBE_ENTRIES = {
    ("*", "/"): Probe(methods=("GET",)),
    ("*", "/submit/"): Probe(methods=("GET", "POST")),
    ("*", "/divisions/"): Probe(methods=("GET",)),
    ("*", "/receipt/"): Probe(methods=("GET",)),
    ("*", "/track/"): Probe(methods=("GET", "POST")),
    ("*", "/track/case/"): Probe(methods=("GET",)),
    ("*", "/track/case/material/"): Probe(methods=("POST",)),
    ("*", "/track/case/rate/"): Probe(methods=("POST",)),
    ("*", "/track/case/appeal/"): Probe(methods=("POST",)),
    ("*", "/track/leave/"): Probe(methods=("POST",)),
}
