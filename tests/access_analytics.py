"""Access-matrix entries of the analytics area (merged by tests/test_access_matrix.py).

The dashboard, its downloads and the analytics API are for supervisors, analysts and heads, each
over their own jurisdiction (the other city's supervisor sees their own, empty, figures); other
staff roles and the admin role get 403, the public the login page (pages) or 401 (API).
"""

from typing import Any

from tests.test_access_matrix import STAFF, V1, Probe, World, staff_only

READERS = ("head", "supervisor", "supervisor_c2", "analyst")
PAGE = {
    "anonymous": "deny",
    "citizen": "deny",
    **dict.fromkeys(STAFF, "403"),
    **dict.fromkeys(READERS, "ok"),
}
API = staff_only("403", **dict.fromkeys(READERS, "ok"))
# The map's boundaries: readers get them where configured (tests/test_division_map.py), here 404.
BOUNDARIES = {**PAGE, **dict.fromkeys(READERS, "404")}


def _export(w: World) -> dict[str, Any]:
    return {"name": "trend", "fmt": "csv"}


def _report(w: World) -> dict[str, Any]:
    return {"kind": "monthly", "fmt": "xlsx"}


MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {
    ("*", "/desk/analytics/"): PAGE,
    ("*", "/desk/analytics/export/{name}.{fmt}"): PAGE,
    ("*", "/desk/analytics/report/{kind}.{fmt}"): PAGE,
    ("*", "/desk/analytics/boundaries.json"): BOUNDARIES,
    ("GET", f"{V1}/analytics/counts"): API,
    ("GET", f"{V1}/analytics/kpis"): API,
}
PROBE_ENTRIES: dict[tuple[str, str], Any] = {
    ("*", "/desk/analytics/"): Probe(methods=("GET",)),
    ("*", "/desk/analytics/export/{name}.{fmt}"): Probe(setup=_export, methods=("GET",)),
    ("*", "/desk/analytics/report/{kind}.{fmt}"): Probe(setup=_report, methods=("GET",)),
    ("*", "/desk/analytics/boundaries.json"): Probe(methods=("GET",)),
    ("GET", f"{V1}/analytics/counts"): Probe(),
    ("GET", f"{V1}/analytics/kpis"): Probe(),
}
