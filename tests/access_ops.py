"""Access-matrix entries of the operations endpoints (merged by tests/test_access_matrix.py).

`/healthz` answers everyone (it reveals no data). `/metrics` answers only PETITIONDESK_METRICS_ALLOW
networks, by client address and not by login: the test client calls from 127.0.0.1, which the
default allows, so every persona gets it here; tests/test_health.py checks the 404 for others."""

from typing import Any

from tests.test_access_matrix import Probe, everyone

MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {
    ("*", "/healthz"): everyone("ok"),
    ("*", "/metrics"): everyone("ok"),
}

PROBE_ENTRIES: dict[tuple[str, str], Any] = {
    ("*", "/healthz"): Probe(methods=("GET",)),
    ("*", "/metrics"): Probe(methods=("GET",)),
}
