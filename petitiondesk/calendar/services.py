"""Loading a year's official schedule and bringing open provisional deadlines up to date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from petitiondesk.core.errors import InvalidInput
from petitiondesk.core.text import clean_text

from .models import CalendarOverride, CalendarYear
from .sources import build_calendar, invalidate_calendar, loaded_version


def _dates(values: Any, year: int, name: str) -> list[dt.date]:
    if values is None:
        return []
    if not isinstance(values, Iterable) or isinstance(values, str | bytes):
        raise InvalidInput("invalid_input", _("%s must be a list of dates") % name)
    out = []
    for v in values:
        try:
            day = v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))
        except ValueError:
            raise InvalidInput(
                "invalid_input", _("%(n)s: %(v)r is not a date") % {"n": name, "v": v}
            ) from None
        if day.year != year:
            raise InvalidInput(
                "invalid_input",
                _("%(n)s: %(d)s is not in %(y)d") % {"n": name, "d": day, "y": year},
            )
        out.append(day)
    return sorted(set(out))


def parse_schedule(data: Mapping[str, Any]) -> tuple[int, list[dt.date], list[dt.date]]:
    """Validate a `calendar load` document: {year, holidays: [dates], workdays: [dates]}."""
    if not isinstance(data, Mapping) or "year" not in data:
        raise InvalidInput("invalid_input", _("the file needs year, holidays and workdays"))
    unknown = set(data) - {"year", "holidays", "workdays", "source"}
    if unknown:
        raise InvalidInput("invalid_input", _("unknown key(s): %s") % ", ".join(sorted(unknown)))
    try:
        year = int(data["year"])
    except (TypeError, ValueError):
        raise InvalidInput("invalid_input", _("year must be a number")) from None
    if not 2000 <= year <= 2200:
        raise InvalidInput("invalid_input", _("year %d is out of range") % year)
    holidays = _dates(data.get("holidays"), year, "holidays")
    workdays = _dates(data.get("workdays"), year, "workdays")
    both = set(holidays) & set(workdays)
    if both:
        raise InvalidInput(
            "invalid_input",
            _("both a holiday and a workday: %s") % ", ".join(map(str, sorted(both))),
        )
    weekday_workdays = [d for d in workdays if d.weekday() < 5]
    if weekday_workdays:
        raise InvalidInput(
            "invalid_input",
            _("make-up workdays fall on weekends; these do not: %s")
            % ", ".join(map(str, weekday_workdays)),
        )
    return year, holidays, workdays


def calendar_load(*, data: Mapping[str, Any], source: str = "") -> tuple[CalendarYear, int]:
    """Store a year's schedule and recompute every open provisional deadline. Returns the year and
    how many deadlines changed (each change is logged as a case event)."""
    from petitiondesk.cases.recompute import deadlines_recompute_provisional

    year, holidays, workdays = parse_schedule(data)
    with transaction.atomic():
        row, _created = CalendarYear.objects.update_or_create(
            year=year,
            defaults={
                "holidays": [d.isoformat() for d in holidays],
                "workdays": [d.isoformat() for d in workdays],
                "version": loaded_version(year, holidays, workdays),
                "source": str(data.get("source") or source)[:200],
            },
        )
        changed = deadlines_recompute_provisional(
            calendar=build_calendar(), reason=f"calendar {year} loaded"
        )
    transaction.on_commit(invalidate_calendar)
    return row, changed


def calendar_override_set(*, day: dt.date, is_workday: bool, reason: str) -> int:
    """Make `day` a working day or a rest day (e.g. a local holiday by provincial decree) and
    recompute the open deadlines it moves. Returns how many changed."""
    reason = clean_text(reason, "reason", limit=200, required=True)
    with transaction.atomic():
        CalendarOverride.objects.update_or_create(
            day=day, defaults={"is_workday": is_workday, "reason": reason}
        )
        return _recompute_around(day, f"calendar override {day}: {reason}")


def calendar_override_delete(*, day: dt.date) -> int:
    """Remove the override of `day` and recompute the open deadlines it moves."""
    with transaction.atomic():
        CalendarOverride.objects.filter(day=day).delete()
        return _recompute_around(day, f"calendar override {day} removed")


def _recompute_around(day: dt.date, reason: str) -> int:
    """Inside the transaction that changed `day`: recompute what it moves, refresh the calendar."""
    from petitiondesk.cases.recompute import deadlines_recompute_around

    transaction.on_commit(invalidate_calendar)
    return deadlines_recompute_around(day=day, calendar=build_calendar(), reason=reason)
