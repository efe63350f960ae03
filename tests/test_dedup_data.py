"""The near-duplicate engine on real messages (TipDM 2020 C, /work/shared/data): skipped, with the
reason shown, when the data set is absent."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

from petitiondesk.routing.minhash import LSHIndex, MinHasher, jaccard, shingle_jaccard

HOTSPOTS = Path(__file__).resolve().parents[2] / "shared/data/tipdm2020c/messages-hotspots.xlsx"

pytestmark = pytest.mark.skipif(
    not HOTSPOTS.exists(), reason=f"the TipDM messages are not at {HOTSPOTS}"
)


@pytest.fixture(scope="module")
def hotspots() -> list[tuple[str, str]]:
    """(title, body) of the 4,326 messages, as the spreadsheet has them (padding included)."""
    import openpyxl

    workbook = openpyxl.load_workbook(HOTSPOTS, read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(min_row=2, values_only=True))
    workbook.close()
    return [(str(r[2] or ""), str(r[4] or "")) for r in rows]


@pytest.fixture(scope="module")
def indexed(hotspots: list[tuple[str, str]]) -> tuple[LSHIndex, np.ndarray]:
    """Every message indexed by its row number, as intake does: title and body together."""
    signatures = MinHasher().signatures([f"{title}\n{body}" for title, body in hotspots])
    index = LSHIndex()
    index.add_many(np.arange(len(hotspots)), signatures)
    return index, signatures


def identical_groups(hotspots: list[tuple[str, str]]) -> list[list[int]]:
    """Messages whose body is identical once whitespace is removed (titles may differ)."""
    groups = collections.defaultdict(list)
    for row, (_, body) in enumerate(hotspots):
        groups["".join(body.split())].append(row)
    return [rows for rows in groups.values() if len(rows) > 1]


def test_the_data_set_has_about_100_groups_of_identical_messages(
    hotspots: list[tuple[str, str]],
) -> None:
    groups = identical_groups(hotspots)
    assert len(hotspots) == 4326
    assert len(groups) == 100
    assert sum(len(g) for g in groups) == 209


def test_every_member_of_an_identical_group_finds_every_other(
    hotspots: list[tuple[str, str]], indexed: tuple[LSHIndex, np.ndarray]
) -> None:
    index, signatures = indexed
    missed = []
    for group in identical_groups(hotspots):
        for row in group:
            found = {key for key, _ in index.query(signatures[row], limit=len(hotspots))}
            missed += [(row, other) for other in group if other != row and other not in found]
    assert missed == []


def test_estimates_follow_the_exact_similarity_on_real_pairs(
    hotspots: list[tuple[str, str]], indexed: tuple[LSHIndex, np.ndarray]
) -> None:
    """Over the best candidates of 300 messages, the estimate is within 0.05 of the exact
    Jaccard similarity on average, and never 0.2 off."""
    index, signatures = indexed
    errors = []
    for row in range(0, len(hotspots), len(hotspots) // 300):
        for other, score in index.query(signatures[row], limit=3, exclude=row):
            a, b = ("\n".join(hotspots[k]) for k in (row, other))
            errors.append(abs(score - shingle_jaccard(a, b)))
            assert score == jaccard(signatures[row], signatures[other])
    assert len(errors) > 100
    assert np.mean(errors) < 0.05
    assert max(errors) < 0.2
