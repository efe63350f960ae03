"""The deadline engine: pure date arithmetic on a working-day calendar (domain.md §5).

No database access here. Callers build a `WorkCalendar` (see `petitiondesk.calendar.sources`) and a
`ClockSpec` from a profile, and get a `Due` back that says how it was computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

ONE_DAY = dt.timedelta(days=1)


class Method(StrEnum):
    """How "N days" is counted."""

    CALENDAR_ROLLFORWARD = (
        "calendar_rollforward"  # start + N, a rest day rolls to the next working day
    )
    CALENDAR_STRICT = "calendar_strict"  # start + N, whatever day that is
    WORKING_DAYS = "working_days"  # the N-th working day after the start day
    SAME_DAY = "same_day"  # due on the start day (decided on the spot)
    IMMEDIATE = "immediate"  # due on the start day, never paused by rest days (urgent report)


@dataclass(frozen=True)
class YearSchedule:
    """One year's official rest days and make-up workdays, and where they came from."""

    year: int
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]  # make-up workdays (调休) on weekends
    version: str
    provisional: bool


class WorkCalendar:
    """Working days from per-year schedules; years not given come from `fallback(year)`."""

    def __init__(
        self,
        schedules: Mapping[int, YearSchedule],
        fallback: Callable[[int], YearSchedule],
    ) -> None:
        self._schedules = dict(schedules)
        self._fallback = fallback

    def schedule(self, year: int) -> YearSchedule:
        found = self._schedules.get(year)
        if found is None:
            found = self._schedules[year] = self._fallback(year)
        return found

    def is_working_day(self, day: dt.date) -> bool:
        sched = self.schedule(day.year)
        if day in sched.workdays:
            return True
        if day in sched.holidays:
            return False
        return day.weekday() < 5

    def next_working_day_on_or_after(self, day: dt.date) -> dt.date:
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after `start` (the start day itself is not counted)."""
        day = start
        counted = 0
        while counted < n:
            day += ONE_DAY
            if self.is_working_day(day):
                counted += 1
        return day

    def describe(self, first: dt.date, last: dt.date) -> tuple[str, bool]:
        """(calendar version, provisional) of the years from `first` to `last`."""
        scheds = [self.schedule(y) for y in range(first.year, last.year + 1)]
        version = ",".join(f"{s.year}:{s.version}" for s in scheds)
        return version, any(s.provisional for s in scheds)


@dataclass(frozen=True)
class ClockSpec:
    days: int
    method: Method


@dataclass(frozen=True)
class Due:
    due_on: dt.date
    nominal_on: dt.date  # before any roll-forward: start + days + extension + hearing days
    method: Method
    calendar_version: str
    provisional: bool


def compute_due(
    *,
    start: dt.date,
    spec: ClockSpec,
    calendar: WorkCalendar,
    extension_days: int = 0,
    hearing_days: int = 0,
) -> Due:
    """Due date of a clock of `spec` started on `start`.

    Extension and hearing days are added to the nominal (unrolled) due date, then the counting rule
    applies (domain.md §4). For `working_days` they count as further working days.
    """
    if spec.days < 0 or extension_days < 0 or hearing_days < 0:
        raise ValueError("clock lengths cannot be negative")
    total = spec.days + extension_days + hearing_days
    method = spec.method
    if method in (Method.SAME_DAY, Method.IMMEDIATE):
        nominal = due = start
    elif method is Method.WORKING_DAYS:
        nominal = due = calendar.add_working_days(start, total)
    else:
        nominal = start + dt.timedelta(days=total)
        if method is Method.CALENDAR_ROLLFORWARD:
            due = calendar.next_working_day_on_or_after(nominal)
        else:
            due = nominal
    version, provisional = calendar.describe(start, due)
    return Due(
        due_on=due,
        nominal_on=nominal,
        method=method,
        calendar_version=version,
        provisional=provisional,
    )


def hearing_days_inclusive(first: dt.date, last: dt.date) -> int:
    if last < first:
        raise ValueError("a hearing cannot end before it starts")
    return (last - first).days + 1
