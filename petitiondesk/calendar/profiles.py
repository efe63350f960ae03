"""Jurisdiction profiles (domain.md §10): every clock length and parameter, as YAML data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from petitiondesk.core.errors import InvalidInput

from .engine import ClockSpec, Method

PROFILE_DIR = Path(__file__).parent / "profiles"

RULES = (
    "routing",
    "notice",
    "objection",
    "handling",
    "review_request",
    "review_decision",
    "rereview_request",
    "rereview_decision",
    "rating",
    "urgent_report",
)
# Rules the `petitiondesk deadline` command accepts (api.md).
PUBLIC_RULES = RULES[:8]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    clocks: dict[str, ClockSpec]
    internal_targets: dict[str, int]
    statutory_handling_categories: frozenset[str]
    max_extension_days: int
    max_representatives: int
    backlog_open_days: int
    backlog_repeat_count: int
    applies_from: dt.date | None = None
    predecessor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # People's suggestions (domain.md §9): internal targets in calendar days from receipt
    # (assess, reply) and from the support threshold being reached (answer).
    suggestion_targets: dict[str, int] = field(default_factory=dict)
    # The supervision ladder (docs/supervision.md): a reminder this many calendar days before a
    # duty clock's due date; a supervision notice's answer date, this many days from its issue
    # (rolled forward to a working day like the statutory clocks).
    supervision_remind_days: int = 3
    supervision_answer_days: int = 10

    def clock(self, rule: str) -> ClockSpec:
        try:
            return self.clocks[rule]
        except KeyError:
            raise InvalidInput(
                "unknown_rule", f"profile {self.name} has no clock {rule!r}"
            ) from None

    def handling_clock(self, category: str) -> tuple[ClockSpec, bool] | None:
        """The handling clock for a category and whether it is statutory (else an internal target)."""
        spec = self.clocks["handling"]
        if category in self.statutory_handling_categories:
            return spec, True
        target = self.internal_targets.get(category)
        if target is None:
            return None
        return ClockSpec(days=target, method=spec.method), False


def _parse(data: dict[str, Any], source: str) -> Profile:
    try:
        clocks = {
            rule: ClockSpec(days=int(spec["days"]), method=Method(spec["method"]))
            for rule, spec in data["clocks"].items()
        }
        missing = set(RULES) - set(clocks)
        if missing:
            raise ValueError(f"missing clocks {sorted(missing)}")
        return Profile(
            name=str(data["name"]),
            description=str(data.get("description", "")),
            clocks=clocks,
            internal_targets={k: int(v) for k, v in (data.get("internal_targets") or {}).items()},
            statutory_handling_categories=frozenset(data["statutory_handling_categories"]),
            max_extension_days=int(data["max_extension_days"]),
            max_representatives=int(data["max_representatives"]),
            backlog_open_days=int(data["backlog_open_days"]),
            backlog_repeat_count=int(data["backlog_repeat_count"]),
            applies_from=data.get("applies_from"),
            predecessor=data.get("predecessor"),
            suggestion_targets={
                k: int(v) for k, v in (data.get("suggestion_targets") or {}).items()
            },
            supervision_remind_days=int(data.get("supervision_remind_days", 3)),
            supervision_answer_days=int(data.get("supervision_answer_days", 10)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"profile {source} is invalid: {exc}") from exc


@cache
def get_profile(name: str) -> Profile:
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise InvalidInput("unknown_profile", f"no profile named {name!r}")
    return _parse(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def default_profile() -> Profile:
    return get_profile(settings.PETITIONDESK_PROFILE)


def profile_for_received(received_on: dt.date) -> Profile:
    """The deployment's profile, or its predecessor for matters received before it applied."""
    profile = default_profile()
    while profile.applies_from and received_on < profile.applies_from and profile.predecessor:
        profile = get_profile(profile.predecessor)
    return profile
