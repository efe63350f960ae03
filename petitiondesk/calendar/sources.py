"""Where the working-day calendar comes from, in order of precedence (domain.md §5):

1. a year loaded by `petitiondesk calendar load` (table `CalendarYear`);
2. the official schedules shipped in the `chinesecalendar` package;
3. provisional: weekends plus the statutory holidays of the `holidays` package (no make-up days).

Single-day overrides (`CalendarOverride`) apply on top of any of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

import chinese_calendar
import holidays as holidays_pkg
from chinese_calendar import constants as cc_constants
from django.conf import settings

from petitiondesk.core.memo import TTLMemo

from .engine import WorkCalendar, YearSchedule
from .models import CalendarOverride, CalendarYear

CC_VERSION = f"chinesecalendar-{chinese_calendar.__version__}"
PROVISIONAL_VERSION = f"provisional-holidays-{holidays_pkg.__version__}"

_CC_YEARS = frozenset(d.year for d in cc_constants.holidays)


def official_package_schedule(year: int) -> YearSchedule | None:
    if year not in _CC_YEARS:
        return None
    return YearSchedule(
        year=year,
        holidays=frozenset(d for d in cc_constants.holidays if d.year == year),
        workdays=frozenset(d for d in cc_constants.workdays if d.year == year),
        version=CC_VERSION,
        provisional=False,
    )


def provisional_schedule(year: int) -> YearSchedule:
    statutory = holidays_pkg.China(years=year, observed=False)
    return YearSchedule(
        year=year,
        holidays=frozenset(statutory),
        workdays=frozenset(),
        version=PROVISIONAL_VERSION,
        provisional=True,
    )


def packaged_schedule(year: int) -> YearSchedule:
    return official_package_schedule(year) or provisional_schedule(year)


def loaded_version(year: int, holidays: Iterable[dt.date], workdays: Iterable[dt.date]) -> str:
    digest = hashlib.sha256(
        (
            ",".join(sorted(d.isoformat() for d in holidays))
            + "|"
            + ",".join(sorted(d.isoformat() for d in workdays))
        ).encode()
    ).hexdigest()[:8]
    return f"loaded-{year}-{digest}"


def _with_overrides(sched: YearSchedule, overrides: dict[dt.date, bool]) -> YearSchedule:
    mine = {d: w for d, w in overrides.items() if d.year == sched.year}
    if not mine:
        return sched
    holidays = set(sched.holidays)
    workdays = set(sched.workdays)
    for day, is_workday in mine.items():
        holidays.discard(day)
        workdays.discard(day)
        if is_workday:
            workdays.add(day)
        else:
            holidays.add(day)
    tag = hashlib.sha256(
        ",".join(f"{d}:{int(w)}" for d, w in sorted(mine.items())).encode()
    ).hexdigest()[:6]
    return YearSchedule(
        year=sched.year,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        version=f"{sched.version}+overrides-{tag}",
        provisional=sched.provisional,
    )


def build_calendar() -> WorkCalendar:
    """A calendar from the database and the packages (two queries)."""
    overrides = dict(CalendarOverride.objects.values_list("day", "is_workday"))
    loaded: dict[int, YearSchedule] = {}
    for row in CalendarYear.objects.all():
        hol = [dt.date.fromisoformat(d) for d in row.holidays]
        work = [dt.date.fromisoformat(d) for d in row.workdays]
        loaded[row.year] = _with_overrides(
            YearSchedule(
                year=row.year,
                holidays=frozenset(hol),
                workdays=frozenset(work),
                version=row.version,
                provisional=False,
            ),
            overrides,
        )

    def fallback(year: int) -> YearSchedule:
        return _with_overrides(packaged_schedule(year), overrides)

    return WorkCalendar(loaded, fallback)


_calendar_memo: TTLMemo[WorkCalendar] = TTLMemo(
    lambda: settings.PETITIONDESK_CALENDAR_TTL_SECONDS, max_entries=1
)


def current_calendar() -> WorkCalendar:
    """This process's copy of the calendar: schedules change a few times a year."""
    return _calendar_memo.get(None, build_calendar)


def invalidate_calendar() -> None:
    _calendar_memo.clear()
