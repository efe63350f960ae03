"""The roll-up of case events into daily counts (petitiondesk/analytics/rollup.py)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from petitiondesk.accounts.models import User
from petitiondesk.analytics.models import CaseTally, DailyCount, RollupState
from petitiondesk.analytics.rollup import counts_rebuild, counts_rollup
from petitiondesk.cases import services as cs
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from petitiondesk.supervision.services import deadlines_sweep
from tests.test_sweep_and_concurrency import needs_postgres, run_together

D = dt.date.fromisoformat


_serial = itertools.count(1)
MATTERS = (
    "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。",
    "小区门口道路破损多年无人修补，雨天积水严重，请求尽快修复。",
    "用人单位拖欠三个月工资至今未付，请求督促支付。",
    "楼下餐馆油烟直排，夜间噪声扰民，请求依法处理。",
    "村集体土地征收补偿款分配不公，请求公开分配方案。",
    "医院收费项目与清单不符，请求核查并退还多收费用。",
    "公交线路调整后老人出行不便，请求恢复原站点。",
    "物业公司擅自提高收费标准，请求主管部门查处。",
)


def register(clerk: User, received_on: str, **overrides: Any) -> int:
    """A claim letter registered by `clerk`; each with its own text, so none is a repeat."""
    n = next(_serial)
    matter = MATTERS[n % len(MATTERS)]
    values: dict[str, Any] = {
        "title": f"{matter[:12]}（{n}）",
        "content": f"{matter}来信编号{n * 7919}。",
        "category": "claim",
        "topic": "education",
        "division_code": "990101",
        "channel": "letter",
        "received_on": D(received_on),
        "petitioners": [PetitionerData(name=f"王{n}明", phone=f"138{n:08d}")],
    }
    values.update(overrides)
    return petition_submit(submission=Submission(**values), actor=clerk).case.pk


def build_cases(clerk: User, handler: User) -> dict[str, int]:
    """A: routed, accepted, replied (support) and rated satisfied; B: never routed (the sweep
    records the missed routing clock); C: routed and declined; all at K-XF then K-EDU."""
    a = register(clerk, "2026-11-02")
    cs.case_route(case_id=a, actor=clerk, to_org="K-EDU", effective_on=D("2026-11-05"))
    cs.case_accept(case_id=a, actor=handler, claim_route=6, effective_on=D("2026-11-10"))
    cs.case_reply(
        case_id=a,
        actor=handler,
        outcome="support",
        opinion="重新分配学位。",
        effective_on=D("2026-11-20"),
    )
    cs.case_rate(case_id=a, rating="satisfied")
    b = register(clerk, "2026-09-28", topic="housing", channel="visit")
    deadlines_sweep()
    c = register(clerk, "2026-11-02", channel="phone")
    cs.case_route(case_id=c, actor=clerk, to_org="K-EDU", effective_on=D("2026-11-05"))
    cs.case_decline(
        case_id=c,
        actor=handler,
        reason_code="out_of_scope",
        reason="不属于本机关职责。",
        effective_on=D("2026-11-06"),
    )
    return {"a": a, "b": b, "c": c}


def totals(dimension: str = "") -> dict[tuple[str, str, str, str], int]:
    """(day, org code, metric, value) → n of one dimension."""
    return {
        (r.day.isoformat(), r.org.code, r.metric, r.value): r.n
        for r in DailyCount.objects.filter(dimension=dimension).select_related("org")
    }


def all_rows() -> set[tuple[Any, ...]]:
    return set(DailyCount.objects.values_list("day", "org_id", "metric", "dimension", "value", "n"))


HAND_COUNTS = {
    ("2026-11-02", "K-XF", "registered", ""): 2,
    ("2026-09-28", "K-XF", "registered", ""): 1,
    ("2026-11-02", "K-XF", "responded", ""): 2,  # A and C have an acceptance decision
    ("2026-11-05", "K-XF", "routed", ""): 2,
    ("2026-11-05", "K-XF", "clock_met:routing", ""): 2,
    ("2026-10-14", "K-XF", "clock_missed:routing", ""): 1,  # B: due 10-13
    ("2026-10-14", "K-XF", "overdue", ""): 1,
    ("2026-11-10", "K-EDU", "accepted", ""): 1,
    ("2026-11-10", "K-EDU", "clock_met:notice", ""): 1,
    ("2026-11-06", "K-EDU", "declined", ""): 1,
    ("2026-11-06", "K-EDU", "clock_met:notice", ""): 1,
    ("2026-11-20", "K-EDU", "replied", ""): 1,
    ("2026-11-20", "K-EDU", "reply:support", ""): 1,
    ("2026-11-20", "K-EDU", "clock_met:handling", ""): 1,
    ("2026-11-27", "K-EDU", "rated", ""): 1,
    ("2026-11-27", "K-EDU", "rated:satisfied", ""): 1,
    ("2026-11-27", "K-EDU", "rated_resolved", ""): 1,
}


@pytest.mark.django_db
def test_counts_after_acting_through_the_services_equal_the_hand_counts(clerk_alice, handler_bob):
    build_cases(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    assert totals() == HAND_COUNTS


@pytest.mark.django_db
def test_each_dimension_adds_up_to_the_total(clerk_alice, handler_bob):
    build_cases(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    assert totals("channel")[("2026-11-02", "K-XF", "registered", "letter")] == 1
    assert totals("channel")[("2026-11-02", "K-XF", "registered", "phone")] == 1
    assert totals("topic")[("2026-09-28", "K-XF", "registered", "housing")] == 1
    for dim in ("topic", "division", "channel", "category"):
        summed: dict[tuple[str, str, str], int] = {}
        for (day, org, metric, _value), n in totals(dim).items():
            summed[(day, org, metric)] = summed.get((day, org, metric), 0) + n
        assert summed == {(d, o, m): n for (d, o, m, _v), n in HAND_COUNTS.items()}


@pytest.mark.django_db
def test_running_the_rollup_twice_changes_nothing(clerk_alice, handler_bob):
    build_cases(clerk_alice, handler_bob)
    assert counts_rollup(lag_seconds=0) > 0
    before = all_rows()
    assert counts_rollup(lag_seconds=0) == 0
    RollupState.objects.update(last_event_id=0)  # even when it reads every event again
    counts_rollup(lag_seconds=0)
    assert all_rows() == before


@pytest.mark.django_db
def test_events_younger_than_the_lag_wait_for_the_next_run(clerk_alice):
    register(clerk_alice, "2026-11-02")
    assert counts_rollup(lag_seconds=30) == 0  # the clock is frozen: the event is 0 s old
    assert not DailyCount.objects.exists()
    assert counts_rollup(lag_seconds=0) == 1


@pytest.mark.django_db
def test_counts_kept_up_step_by_step_equal_a_rebuild(clerk_alice, handler_bob):
    """Rolled up after every step, including a re-classification on acceptance: the counts move
    with the case, and a rebuild from scratch gives exactly the same rows."""
    a = register(clerk_alice, "2026-11-02", topic="", category="")
    counts_rollup(lag_seconds=0)
    assert totals("topic")[("2026-11-02", "K-XF", "registered", "")] == 1
    cs.case_route(case_id=a, actor=clerk_alice, to_org="K-EDU", effective_on=D("2026-11-05"))
    counts_rollup(lag_seconds=0)
    cs.case_accept(
        case_id=a,
        actor=handler_bob,
        category="claim",
        topic="education",
        claim_route=6,
        effective_on=D("2026-11-10"),
    )
    counts_rollup(lag_seconds=0)
    topics = totals("topic")
    assert ("2026-11-02", "K-XF", "registered", "") not in topics
    assert topics[("2026-11-02", "K-XF", "registered", "education")] == 1
    build_cases(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    incremental = all_rows()
    assert counts_rebuild() == 4
    assert all_rows() == incremental
    assert CaseTally.objects.count() == 4
    assert counts_rollup(lag_seconds=0) == 0  # the rebuild moved the mark to the last event


@pytest.mark.django_db
def test_no_zero_rows_are_left_behind(clerk_alice, handler_bob):
    a = register(clerk_alice, "2026-11-02", topic="")
    counts_rollup(lag_seconds=0)
    cs.case_route(case_id=a, actor=clerk_alice, to_org="K-EDU", effective_on=D("2026-11-05"))
    cs.case_accept(
        case_id=a, actor=handler_bob, topic="education", claim_route=6, effective_on=D("2026-11-10")
    )
    counts_rollup(lag_seconds=0)
    assert not DailyCount.objects.filter(n__lte=0).exists()


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_rolling_up_at_once_count_each_event_once(clerk_alice, handler_bob):
    build_cases(clerk_alice, handler_bob)
    for i in range(20):
        register(clerk_alice, "2026-11-02", title=f"第{i}号来信", topic="roads")
    results = run_together(
        lambda: counts_rollup(lag_seconds=0, batch=3),
        lambda: counts_rollup(lag_seconds=0, batch=3),
    )
    assert sum(results) > 0
    counts = totals()
    assert counts[("2026-11-02", "K-XF", "registered", "")] == 22
    assert {k: v for k, v in counts.items() if k[2] != "registered"} == {
        k: v for k, v in HAND_COUNTS.items() if k[2] != "registered"
    }


@pytest.mark.django_db
def test_the_counts_commands_roll_up_and_rebuild(clerk_alice, capsys):
    from petitiondesk.cli import main

    register(clerk_alice, "2026-11-02")
    assert main(["counts", "rebuild", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == "recounted 1 case(s)"
    assert totals()[("2026-11-02", "K-XF", "registered", "")] == 1
    assert main(["counts", "rollup", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == "counted 0 event(s)"
