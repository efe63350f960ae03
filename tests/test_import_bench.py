"""bench/import.py writes rows `petitiondesk import` takes as they are: a small run of its rows
through the same import as the 100,000-row bench."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from petitiondesk.cases.models import Case, ExternalRef
from petitiondesk.intake.imports import import_file
from petitiondesk.intake.mapping import mapping_from

BENCH = Path(__file__).resolve().parent.parent / "bench"
N = 200


def _bench_module() -> Any:
    sys.path.insert(0, str(BENCH))  # the bench imports its sibling intake.py
    try:
        spec = importlib.util.spec_from_file_location("bench_import", BENCH / "import.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.django_db
def test_the_bench_rows_import_with_unique_external_ids(clerk_alice, tmp_path):
    bench = _bench_module()
    if not bench.DATA.exists():
        pytest.skip(f"the shared data set is not at {bench.DATA}")
    rows = tmp_path / "rows.csv"
    bench.write_rows(rows, N)
    mapping = mapping_from(yaml.safe_load(bench.MAPPING))
    summary = import_file(path=rows, mapping=mapping, actor=clerk_alice)
    assert (summary.created, summary.refused) == (N, [])
    assert ExternalRef.objects.filter(source="bench-tipdm").count() == N == Case.objects.count()
    assert Case.objects.filter(received_on__year__lt=2011).count() == 0
