"""The deadline engine as pure functions: worked examples E1–E7 and properties (domain.md §5)."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petitiondesk.calendar.engine import ClockSpec, Method, WorkCalendar, compute_due
from petitiondesk.calendar.profiles import get_profile, profile_for_received
from petitiondesk.calendar.sources import packaged_schedule

D = dt.date
CAL = WorkCalendar({}, packaged_schedule)  # the packaged official schedules, no database
NATIONAL = get_profile("national_2022")


def due(rule: str, start: dt.date, **kw: int) -> dt.date:
    return compute_due(start=start, spec=NATIONAL.clock(rule), calendar=CAL, **kw).due_on


@pytest.mark.parametrize(
    ("example", "rule", "start", "extra", "expected"),
    [
        ("E1", "routing", D(2026, 9, 28), {}, D(2026, 10, 13)),
        ("E2", "routing", D(2026, 9, 16), {}, D(2026, 10, 8)),
        ("E3", "objection", D(2026, 9, 29), {}, D(2026, 10, 12)),
        ("E4", "handling", D(2026, 3, 2), {}, D(2026, 5, 6)),
        ("E5 unextended", "handling", D(2026, 3, 10), {}, D(2026, 5, 9)),
        ("E5", "handling", D(2026, 3, 10), {"extension_days": 30}, D(2026, 6, 8)),
        ("E6", "review_request", D(2026, 6, 1), {}, D(2026, 7, 1)),
        ("E7", "rereview_decision", D(2026, 10, 12), {"hearing_days": 5}, D(2026, 11, 16)),
    ],
)
def test_worked_examples_of_domain_md(example, rule, start, extra, expected):
    assert due(rule, start, **extra) == expected, example


def test_a_make_up_saturday_is_a_working_day():
    assert CAL.is_working_day(D(2026, 10, 10))
    assert CAL.is_working_day(D(2026, 9, 20))
    assert not CAL.is_working_day(D(2026, 10, 11))


def test_a_clock_ending_in_an_unpublished_year_is_provisional():
    result = compute_due(start=D(2026, 12, 20), spec=NATIONAL.clock("routing"), calendar=CAL)
    assert result.provisional
    assert "2027:provisional" in result.calendar_version
    # 2027-01-04 is a Monday and no statutory holiday: the date itself stands.
    assert result.due_on == D(2027, 1, 4)


def test_a_clock_inside_a_published_year_is_not_provisional():
    result = compute_due(start=D(2026, 9, 28), spec=NATIONAL.clock("routing"), calendar=CAL)
    assert not result.provisional
    assert result.calendar_version.startswith("2026:chinesecalendar-")


def test_provisional_calendar_rests_on_2027_statutory_holidays():
    # 2027 Spring Festival (statutory days from the `holidays` package) is a rest day.
    assert not CAL.is_working_day(D(2027, 2, 8))
    assert CAL.is_working_day(D(2027, 2, 11))


def test_strict_counting_does_not_roll_forward():
    spec = ClockSpec(days=15, method=Method.CALENDAR_STRICT)
    assert compute_due(start=D(2026, 9, 16), spec=spec, calendar=CAL).due_on == D(2026, 10, 1)


def test_immediate_and_same_day_are_due_on_the_start_day_even_on_holidays():
    for method in (Method.IMMEDIATE, Method.SAME_DAY):
        spec = ClockSpec(days=0, method=method)
        assert compute_due(start=D(2026, 10, 3), spec=spec, calendar=CAL).due_on == D(2026, 10, 3)


def test_matters_received_before_may_2022_follow_the_2005_regulations():
    assert profile_for_received(D(2022, 4, 30)).name == "national_2005"
    assert profile_for_received(D(2022, 5, 1)).name == "national_2022"


def test_the_2005_profile_gives_every_category_a_statutory_handling_clock():
    old = get_profile("national_2005")
    assert old.handling_clock("suggestion") == (old.clock("handling"), True)
    spec, statutory = NATIONAL.handling_clock("suggestion")  # type: ignore[misc]
    assert (spec.days, statutory) == (60, False)


# --- properties ---------------------------------------------------------------------------------

dates = st.dates(min_value=D(2004, 1, 1), max_value=D(2030, 12, 31))
lengths = st.integers(min_value=0, max_value=120)


@settings(max_examples=300, deadline=None)
@given(start=dates, n=lengths)
def test_rollforward_due_is_a_working_day_never_before_start_plus_n(start, n):
    spec = ClockSpec(days=n, method=Method.CALENDAR_ROLLFORWARD)
    result = compute_due(start=start, spec=spec, calendar=CAL).due_on
    assert CAL.is_working_day(result)
    assert result >= start + dt.timedelta(days=n)
    # Nothing between start + N and the due date is a working day: it rolled to the *next* one.
    day = start + dt.timedelta(days=n)
    while day < result:
        assert not CAL.is_working_day(day)
        day += dt.timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(start=dates, gap=st.integers(min_value=0, max_value=60), n=lengths)
def test_rollforward_is_monotonic_in_the_start_date(start, gap, n):
    spec = ClockSpec(days=n, method=Method.CALENDAR_ROLLFORWARD)
    later = start + dt.timedelta(days=gap)
    assert (
        compute_due(start=start, spec=spec, calendar=CAL).due_on
        <= compute_due(start=later, spec=spec, calendar=CAL).due_on
    )


@settings(max_examples=300, deadline=None)
@given(start=dates, n=st.integers(min_value=0, max_value=40))
def test_working_days_counts_exactly_n_working_days(start, n):
    spec = ClockSpec(days=n, method=Method.WORKING_DAYS)
    result = compute_due(start=start, spec=spec, calendar=CAL).due_on
    counted = sum(
        CAL.is_working_day(start + dt.timedelta(days=i))
        for i in range(1, (result - start).days + 1)
    )
    assert counted == n
    assert n == 0 or CAL.is_working_day(result)


@settings(max_examples=200, deadline=None)
@given(start=dates, n=lengths, ext=st.integers(min_value=0, max_value=30))
def test_an_extension_never_brings_the_due_date_forward(start, n, ext):
    spec = ClockSpec(days=n, method=Method.CALENDAR_ROLLFORWARD)
    plain = compute_due(start=start, spec=spec, calendar=CAL).due_on
    extended = compute_due(start=start, spec=spec, calendar=CAL, extension_days=ext).due_on
    assert extended >= plain
