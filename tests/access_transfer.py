"""Access-matrix entries of the transfer area (merged by tests/test_access_matrix.py): the XLSX
export of a work list answers exactly as the CSV export does."""

from typing import Any

from tests.access_desk import MATRIX_ENTRIES as DESK_MATRIX
from tests.access_desk import PROBE_ENTRIES as DESK_PROBES

MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {
    ("*", "/desk/export.xlsx"): DESK_MATRIX[("*", "/desk/export.csv")],
}
PROBE_ENTRIES: dict[tuple[str, str], Any] = {
    ("*", "/desk/export.xlsx"): DESK_PROBES[("*", "/desk/export.csv")],
}
