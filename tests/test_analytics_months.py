"""Monthly sums and in-hand counts (analytics.models.MonthlyCount / InHandCount): kept by the
roll-up beside the daily counts, read by the selectors for whole months and for "now"."""

from __future__ import annotations

import datetime as dt
import importlib
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.models import Count, Q, Sum

from petitiondesk.accounts.models import User
from petitiondesk.analytics import selectors as sel
from petitiondesk.analytics.models import CaseTally, DailyCount, InHandCount, MonthlyCount
from petitiondesk.analytics.rollup import counts_rebuild, counts_rollup
from petitiondesk.cases import services as cs
from petitiondesk.cases.models import Case
from petitiondesk.cases.transitions import OPEN_STATUSES
from petitiondesk.supervision.services import deadlines_sweep
from tests.test_analytics_rollup import build_cases, register

D = dt.date.fromisoformat


def month_sums_of_days() -> set[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for day, org, metric, dim, value, n in DailyCount.objects.values_list(
        "day", "org_id", "metric", "dimension", "value", "n"
    ):
        out[(day.replace(day=1), org, metric, dim, value)] += n
    return {(*k, n) for k, n in out.items() if n}


def month_rows() -> set[tuple[Any, ...]]:
    return set(
        MonthlyCount.objects.values_list("day", "org_id", "metric", "dimension", "value", "n")
    )


def live_in_hand() -> set[tuple[int, str, int, int]]:
    rows = Case.objects.values("org_id", "status").annotate(
        n=Count("id"), over=Count("id", filter=Q(is_overdue=True))
    )
    return {(r["org_id"], r["status"], r["n"], r["over"]) for r in rows}


def stored_in_hand() -> set[tuple[int, str, int, int]]:
    return set(InHandCount.objects.values_list("org_id", "status", "n", "overdue"))


def several_months(clerk: User, handler: User) -> dict[str, int]:
    ids = build_cases(clerk, handler)
    for day in ("2026-07-31", "2026-08-01", "2026-08-15", "2026-10-31"):
        register(clerk, day, topic="housing" if day.endswith("1") else "education")
    d = register(clerk, "2026-08-03", channel="phone")
    cs.case_route(case_id=d, actor=clerk, to_org="K-EDU", effective_on=D("2026-08-04"))
    ids["d"] = d
    return ids


@pytest.mark.django_db
def test_monthly_rows_are_the_sums_of_the_daily_rows_as_the_counts_move(clerk_alice, handler_bob):
    ids = several_months(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    assert month_rows() == month_sums_of_days()
    assert MonthlyCount.objects.filter(day=D("2026-08-01"), metric="registered").exists()
    # A re-classified case moves its counts in both tables.
    Case.objects.filter(pk=ids["d"]).update(topic="transport")
    cs.case_accept(case_id=ids["d"], actor=handler_bob, claim_route=6, effective_on=D("2026-08-10"))
    counts_rollup(lag_seconds=0)
    assert month_rows() == month_sums_of_days()
    assert MonthlyCount.objects.filter(dimension="topic", value="transport").exists()
    kept = month_rows()
    counts_rebuild()
    assert month_rows() == kept


@pytest.mark.django_db
def test_selectors_give_the_same_totals_from_months_as_from_days(clerk_alice, handler_bob):
    several_months(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    scope = None
    periods = [
        (D("2026-07-15"), D("2026-11-30")),  # ragged start, whole months to the end
        (D("2026-08-01"), D("2026-10-31")),  # whole months only
        (D("2026-07-31"), D("2026-11-20")),  # ragged at both ends
        (D("2026-08-02"), D("2026-08-20")),  # inside one month: days only
    ]
    for a, b in periods:
        days = DailyCount.objects.filter(day__gte=a, day__lte=b)
        by_topic = Counter(
            dict(
                days.filter(metric="registered", dimension="topic")
                .values_list("value")
                .annotate(t=Sum("n"))
                .values_list("value", "t")
            )
        )
        got = sel.counts_by_value(metric="registered", dimension="topic", date_from=a, date_to=b)
        assert dict(got) == {k: v for k, v in by_topic.items() if v}, (a, b)
        want_total = days.filter(metric="registered", dimension="").aggregate(t=Sum("n"))["t"] or 0
        assert sel.counts_total(metric="registered", date_from=a, date_to=b) == want_total
        totals = sel.counts_totals(metrics=["registered", "routed"], date_from=a, date_to=b)
        assert totals["registered"] == want_total
        monthly = sel.counts_series(
            metric="registered", date_from=a, date_to=b, org_ids=scope, grain="month"
        )
        assert sum(n for _d, n in monthly) == want_total
        daily = sel.counts_series(metric="registered", date_from=a, date_to=b, grain="day")
        per_month: Counter[dt.date] = Counter()
        for day, n in daily:
            per_month[day.replace(day=1)] += n
        assert dict(monthly) == {m: per_month.get(m, 0) for m, _n in monthly}, (a, b)


def test_a_period_is_cut_into_whole_months_and_ragged_days():
    cut = sel._pieces(D("2026-01-15"), D("2026-12-02"), "month")
    assert [(m.__name__, a.isoformat(), b.isoformat()) for m, a, b in cut] == [
        ("MonthlyCount", "2026-02-01", "2026-11-30"),
        ("DailyCount", "2026-01-15", "2026-01-31"),
        ("DailyCount", "2026-12-01", "2026-12-02"),
    ]
    assert [m.__name__ for m, _a, _b in sel._pieces(D("2026-01-01"), D("2026-12-31"), "month")] == [
        "MonthlyCount"
    ]
    assert sel._pieces(D("2026-01-15"), D("2026-02-10"), "month") == [
        (DailyCount, D("2026-01-15"), D("2026-02-10"))
    ]
    assert sel._pieces(D("2026-01-01"), D("2026-12-31"), "week") == [
        (DailyCount, D("2026-01-01"), D("2026-12-31"))
    ]


@pytest.mark.django_db
def test_in_hand_counts_follow_the_cases_as_of_the_last_rollup(clerk_alice, handler_bob):
    ids = several_months(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    assert stored_in_hand() == live_in_hand()
    assert InHandCount.objects.filter(overdue__gt=0).exists()  # case B missed its routing clock
    open_now = {
        s: n
        for s, n in Case.objects.filter(status__in=list(OPEN_STATUSES))
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    }
    assert sel.open_by_status() == open_now
    overdue = sel.overdue_by_org()
    assert overdue == [
        (o, n)
        for o, n in Case.objects.filter(is_overdue=True)
        .values_list("org_id")
        .annotate(n=Count("id"))
        .order_by("-n", "org_id")
        .values_list("org_id", "n")
    ]
    # Acting on a case moves it once the roll-up has seen the event, not before.
    cs.case_route(case_id=ids["b"], actor=clerk_alice, to_org="K-EDU", effective_on=D("2026-11-25"))
    before = stored_in_hand()
    assert before != live_in_hand()
    counts_rollup(lag_seconds=0)
    assert stored_in_hand() == live_in_hand()
    deadlines_sweep()
    counts_rollup(lag_seconds=0)
    assert stored_in_hand() == live_in_hand()
    kept = stored_in_hand()
    counts_rebuild()
    assert stored_in_hand() == kept


@pytest.mark.django_db
def test_the_migration_derives_months_and_in_hand_counts_from_what_is_stored(
    clerk_alice, handler_bob
):
    several_months(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    months, in_hand = month_rows(), stored_in_hand()
    MonthlyCount.objects.all().delete()
    InHandCount.objects.all().delete()
    CaseTally.objects.update(holder_id=None, status="", overdue=False)
    migration = importlib.import_module(
        "petitiondesk.analytics.migrations.0003_monthly_counts_in_hand"
    )
    # `fill` only needs the editor's connection (a real editor can't open inside the test's
    # transaction on SQLite).
    migration.fill(django_apps, SimpleNamespace(connection=connection))
    assert month_rows() == months
    assert stored_in_hand() == in_hand


@pytest.mark.django_db
def test_topic_by_division_counts_and_their_migration(clerk_alice, handler_bob):
    several_months(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    crossed = DailyCount.objects.filter(dimension="topic_division")
    assert set(crossed.values_list("value", flat=True)) == {
        f"{t}|{d}" for t, d in Case.objects.values_list("topic", "division_code")
    }
    total = DailyCount.objects.filter(metric="registered", dimension="")
    assert sum(crossed.filter(metric="registered").values_list("n", flat=True)) == sum(
        total.values_list("n", flat=True)
    )
    days, months = set(crossed.values_list("day", "org_id", "metric", "value", "n")), month_rows()
    crossed.delete()
    MonthlyCount.objects.filter(dimension="topic_division").delete()
    migration = importlib.import_module("petitiondesk.analytics.migrations.0004_topic_division")
    migration.add_topic_division(django_apps, SimpleNamespace(connection=connection))
    assert set(crossed.values_list("day", "org_id", "metric", "value", "n")) == days
    assert month_rows() == months
