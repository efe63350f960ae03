"""Spikes: a robust test of this week's count against the previous weeks
(petitiondesk/analytics/spikes.py, docs/governance.md)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from petitiondesk.accounts.models import Organisation
from petitiondesk.analytics.models import DailyCount
from petitiondesk.analytics.spikes import poisson_tail, spike_test, spikes_find
from petitiondesk.cli import main

MONDAY = dt.date(2026, 11, 23)  # the week of the frozen clock (2026-11-27)


def test_a_planted_jump_is_a_spike() -> None:
    result = spike_test([3, 4, 2, 5, 3, 4, 3, 4], 15)
    assert result.spike
    assert result.median == 3.5 and result.z > 3.5 and result.p < 0.001


def test_a_steady_series_has_no_spike() -> None:
    assert not spike_test([10, 12, 9, 11, 10, 13, 10, 11], 13).spike
    assert not spike_test([20] * 8, 25).spike  # MAD 0: the Poisson floor keeps 25 usual


def test_few_petitions_are_no_spike_however_unusual() -> None:
    assert not spike_test([0] * 8, 4).spike  # below the minimum count
    assert spike_test([0] * 8, 5).spike


def test_the_poisson_tail_is_exact_for_small_counts() -> None:
    assert poisson_tail(0, 2.0) == 1.0
    assert poisson_tail(1, 2.0) == pytest.approx(1 - 0.1353352832)
    assert poisson_tail(3, 1.0) == pytest.approx(0.0803013971)


def put(org: Organisation, day: dt.date, dimension: str, value: str, n: int) -> None:
    DailyCount.objects.create(
        day=day, org=org, metric="registered", dimension=dimension, value=value, n=n
    )


@pytest.fixture
def weekly_counts(org_tree: None) -> None:
    """Eight usual weeks of 3–4 housing and 10–12 education petitions at K-XF, then a week with
    18 housing petitions (a spike) and 12 education ones (usual)."""
    org = Organisation.objects.get(code="K-XF")
    for week in range(1, 9):
        monday = MONDAY - dt.timedelta(weeks=week)
        put(org, monday, "topic", "housing", 3 + week % 2)
        put(org, monday + dt.timedelta(days=2), "topic", "education", 10 + week % 3)
    put(org, MONDAY, "topic", "housing", 10)
    put(org, MONDAY + dt.timedelta(days=3), "topic", "housing", 8)
    put(org, MONDAY + dt.timedelta(days=1), "topic", "education", 12)


def test_a_planted_topic_spike_is_found_in_the_counts(weekly_counts: None) -> None:
    [spike] = spikes_find(week_of=dt.date(2026, 11, 27), dimensions=["topic"])
    assert (spike.dimension, spike.value, spike.week) == ("topic", "housing", MONDAY)
    assert spike.test.count == 18 and spike.test.median == 3.5


def test_spikes_are_counted_only_among_the_given_organs(weekly_counts: None) -> None:
    other = Organisation.objects.get(code="K-EDU")
    assert spikes_find(week_of=MONDAY, org_ids=[other.id]) == []


def test_the_command_lists_the_spikes(weekly_counts: None, capsys: Any) -> None:
    assert main(["spikes", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["value"], row["count"], row["week"]) == ("housing", 18, "2026-11-23")


def test_a_topic_surging_in_one_division_is_a_spike_though_the_topic_is_not(
    org_tree: None,
) -> None:
    """Housing in 990101 goes from 2 a week to 12 while housing in 990102 falls from 10 to 4:
    the topic's total (12 → 16) is usual, the topic in that division is not."""
    org = Organisation.objects.get(code="K-XF")
    for week in range(1, 9):
        monday = MONDAY - dt.timedelta(weeks=week)
        put(org, monday, "topic_division", "housing|990101", 2)
        put(org, monday, "topic_division", "housing|990102", 10)
        put(org, monday, "topic", "housing", 12)
    put(org, MONDAY, "topic_division", "housing|990101", 12)
    put(org, MONDAY, "topic_division", "housing|990102", 4)
    put(org, MONDAY, "topic", "housing", 16)
    found = spikes_find(week_of=MONDAY)
    assert [(s.dimension, s.value) for s in found] == [("topic_division", "housing|990101")]
    assert found[0].test.count == 12 and found[0].test.median == 2
