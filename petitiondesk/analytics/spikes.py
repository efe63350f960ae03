"""Spikes (docs/governance.md): a topic in a division (and, coarser, a topic or a division alone)
whose count this week departs from its usual level, by a robust test rather than a fixed
threshold.

The test, for one weekly series: the baseline is the previous `weeks` weeks (8 by default), its
median `m` and its median absolute deviation `MAD`. The spread is

    s = max(1.4826 · MAD, sqrt(max(m, 1)))

(1.4826 · MAD estimates the standard deviation of normal data; the Poisson floor sqrt(m) keeps a
perfectly steady series — MAD 0 — from calling every extra petition a spike). The robust score is
z = (x − m) / s for this week's count `x`, and the week is a spike when

    x ≥ MIN_COUNT (5)  and  z ≥ Z_MIN (3.5, the Iglewicz–Hoaglin cut-off for modified z-scores)
    and  P(X ≥ x | Poisson(max(m, 0.5))) < P_MAX (0.001).

The Poisson tail guards the low counts, where a z-score is not meaningful: from 1 a week to 5 is
a spike, from 20 to 25 is not. Counts are read from the pre-aggregated `DailyCount` rows.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass

DEFAULT_WEEKS = 8
MIN_COUNT = 5
Z_MIN = 3.5
P_MAX = 0.001
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class SpikeTest:
    count: int
    median: float
    mad: float
    spread: float
    z: float
    p: float
    spike: bool


def poisson_tail(x: int, lam: float) -> float:
    """P(X ≥ x) for X ~ Poisson(lam)."""
    if x <= 0:
        return 1.0
    term = math.exp(-lam)
    below = term
    for k in range(1, x):
        term *= lam / k
        below += term
    return max(0.0, 1.0 - below)


def spike_test(
    baseline: Sequence[int],
    count: int,
    *,
    min_count: int = MIN_COUNT,
    z_min: float = Z_MIN,
    p_max: float = P_MAX,
) -> SpikeTest:
    """Whether `count` is a spike against the `baseline` counts (module docstring)."""
    if not baseline:
        raise ValueError("a spike test needs at least one baseline period")
    median = float(statistics.median(baseline))
    mad = float(statistics.median(abs(b - median) for b in baseline))
    spread = max(MAD_TO_SD * mad, math.sqrt(max(median, 1.0)))
    z = (count - median) / spread
    p = poisson_tail(count, max(median, 0.5))
    return SpikeTest(
        count=count,
        median=median,
        mad=mad,
        spread=spread,
        z=z,
        p=p,
        spike=count >= min_count and z >= z_min and p < p_max,
    )


@dataclass(frozen=True)
class Spike:
    dimension: str  # "topic" or "division"
    value: str
    week: dt.date  # the Monday of the week tested
    test: SpikeTest


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def spikes_find(
    *,
    week_of: dt.date,
    org_ids: Collection[int] | None = None,
    weeks: int = DEFAULT_WEEKS,
    dimensions: Sequence[str] = ("topic_division", "topic", "division"),
    metric: str = "registered",
) -> list[Spike]:
    """The spikes of the week containing `week_of`, per topic × division, per topic and per
    division, among the cases
    held by `org_ids` (None: all), strongest first. Reads `DailyCount` through the analytics
    selectors: one query a dimension."""
    from .selectors import counts_series_by_value

    monday = week_start(week_of)
    date_from = monday - dt.timedelta(weeks=weeks)
    date_to = monday + dt.timedelta(days=6)
    found: list[Spike] = []
    for dimension in dimensions:
        series = counts_series_by_value(
            metric=metric,
            dimension=dimension,
            date_from=date_from,
            date_to=date_to,
            org_ids=org_ids,
            grain="week",
        )
        for value, points in series.items():
            if not value:  # cases without a topic or division are not a matter
                continue
            by_week = {_as_date(day): n for day, n in points}
            baseline = [by_week.get(date_from + dt.timedelta(weeks=i), 0) for i in range(weeks)]
            test = spike_test(baseline, by_week.get(monday, 0))
            if test.spike:
                found.append(Spike(dimension=dimension, value=value, week=monday, test=test))
    found.sort(key=lambda s: (-s.test.z, s.dimension, s.value))
    return found


def _as_date(day: dt.date | dt.datetime) -> dt.date:
    return day.date() if isinstance(day, dt.datetime) else day
