"""Access-matrix entries of the analytics area (merged by tests/test_access_matrix.py)."""

from typing import Any

MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {}
PROBE_ENTRIES: dict[tuple[str, str], Any] = {}
