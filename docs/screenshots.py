"""Copy the screenshots of the user guides from the browser journeys into docs/images/.

    .venv/bin/pytest -q -p no:cacheprovider tests/browser   # writes test-artifacts/*.png
    .venv/bin/python docs/screenshots.py                    # picks the pages the guides show

The journeys run in Chinese, except the English one of the portal and journey 5
(tests/browser/test_journeys_english.py). Each image is matched by its journey and the label of
its screenshot, whatever its number; a missing or oversized one fails (they are committed).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
IMAGES = ROOT / "docs" / "images"
MAX_BYTES = 400_000

CITIZEN = "test_a_citizen_submits_a_claim_with_an_attachment_and_tracks_it"
CITIZEN_EN = "test_the_same_journey_in_english_remembers_the_language"
RATES = "test_the_citizen_rates_the_reply_and_requests_a_review_within_the_window"
DESK = "test_journey_2_register_route_accept_extend_reply"
BOARD = "test_journey_4_a_supervisor_sees_an_overdue_case_on_the_board"
EN = "test_journey_5_the_workbench_in_english"

# docs/images/NAME ← test-artifacts/JOURNEY-NN-LABEL.png
SHOTS = {
    "portal-home.zh-hans.png": (CITIZEN, "home"),
    "portal-home.en.png": (CITIZEN_EN, "home-en"),
    "portal-submit.zh-hans.png": (CITIZEN, "submit"),
    "portal-submit.en.png": (CITIZEN_EN, "submit"),
    "portal-receipt.zh-hans.png": (CITIZEN, "receipt"),
    "portal-receipt.en.png": (CITIZEN_EN, "receipt"),
    "portal-case.zh-hans.png": (RATES, "case"),
    "portal-case.en.png": (EN, "tracked"),
    "desk-login.zh-hans.png": (BOARD, "accounts-login-_next_-desk-board"),
    "desk-login.en.png": (EN, "login-en"),
    "desk-worklist.zh-hans.png": (DESK, "erin-_desk_list_extensions"),
    "desk-worklist.en.png": (EN, "erin-_desk_list_all"),
    "desk-register.zh-hans.png": (DESK, "desk-register"),
    "desk-register.en.png": (EN, "desk-register"),
    "desk-case.zh-hans.png": (DESK, "case-for-head"),
    "desk-case.en.png": (EN, "case"),
    "desk-board.zh-hans.png": (BOARD, "carol-_desk_board_"),
    "desk-board.en.png": (EN, "carol-_desk_board_"),
}


def source(journey: str, label: str) -> Path | None:
    """The first screenshot of `journey` with `label` (numbered NN by the journey)."""
    found = sorted(ARTIFACTS.glob(f"{journey}-[0-9][0-9]-{label}.png"))
    return found[0] if found else None


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, (journey, label) in SHOTS.items():
        path = source(journey, label)
        if path is None:
            problems.append(f"{name}: no {journey}-NN-{label}.png in {ARTIFACTS}")
            continue
        size = path.stat().st_size
        if size > MAX_BYTES:
            problems.append(f"{name}: {path.name} is {size} bytes (at most {MAX_BYTES})")
            continue
        shutil.copyfile(path, IMAGES / name)
        print(f"{name:28} {size:>8}  ← {path.name}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
