"""Backlog cases (积案): flagged by the profile's thresholds or by hand, then owned and resolved."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from petitiondesk.cases.models import Case, CaseEvent, CaseLink
from petitiondesk.cases.services import case_route
from petitiondesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from petitiondesk.supervision.models import BacklogCase, Notification
from petitiondesk.supervision.services import (
    backlog_assign,
    backlog_flag,
    backlog_plan,
    backlog_progress,
    backlog_resolve,
    backlog_sweep,
)
from tests.test_supervision_ladder import registered_case
from tests.test_sweep_and_concurrency import case_held, needs_postgres

TODAY = dt.date(2026, 11, 27)


def link(case_id: int, other_id: int, relation: str = "duplicate") -> None:
    CaseLink.objects.create(case_id=case_id, other_id=other_id, relation=relation)


@pytest.mark.django_db
def test_a_case_open_for_90_days_is_flagged_on_the_90th_day_not_before(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-08-29")  # + 90 = 11-27
    assert backlog_sweep(today=TODAY - dt.timedelta(days=1)) == 0
    assert backlog_sweep(today=TODAY) == 1
    assert backlog_sweep(today=TODAY) == 0
    backlog = BacklogCase.objects.get(case_id=case_id)
    assert (backlog.reason, backlog.flagged_on) == ("open_too_long", TODAY)
    assert CaseEvent.objects.filter(case_id=case_id, verb="backlog_flag").count() == 1


@pytest.mark.django_db
def test_a_closed_case_is_never_a_backlog_case(api_as, clerk_alice):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-08-03")
    Case.objects.filter(pk=case_id).update(status="closed")
    assert backlog_sweep(today=TODAY) == 0


def three_unlinked_cases(api_as: Any, clerk: Any) -> tuple[int, ...]:
    """Three open cases of different matters, with whatever intake linked removed: the links are
    set by hand in the tests."""
    ids = tuple(
        registered_case(
            api_as,
            clerk,
            received_on="2026-11-20",
            title=title,
            content=f"{title}，请求处理。",
            topic=topic,
            petitioners=[{"name": name, "phone": phone}],
        )
        for title, topic, name, phone in (
            ("学位分配不公", "education", "王小明", "13800000001"),
            ("路灯长期不亮", "lighting", "李四", "13900000002"),
            ("餐馆油烟扰民", "food", "赵六", "13700000003"),
        )
    )
    CaseLink.objects.all().delete()
    return ids


@pytest.mark.django_db
def test_the_third_submission_on_the_same_matter_flags_the_case(api_as, clerk_alice):
    first, second, third = three_unlinked_cases(api_as, clerk_alice)
    link(second, first)
    assert backlog_sweep(today=TODAY) == 0  # two submissions
    link(first, third, "same_matter")
    assert backlog_sweep(today=TODAY) == 1
    backlog = BacklogCase.objects.get()
    assert (backlog.case_id, backlog.reason, backlog.submissions) == (first, "repeated", 3)
    link(third, second, "related")  # a related case is another matter
    assert backlog_sweep(today=TODAY) == 0


@pytest.mark.django_db
def test_flagging_by_hand_is_idempotent(api_as, clerk_alice, supervisor_carol):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-20")
    backlog, created = backlog_flag(case_id=case_id, actor=supervisor_carol)
    again, created_again = backlog_flag(case_id=case_id, actor=supervisor_carol)
    assert (created, created_again, again.pk) == (True, False, backlog.pk)
    assert backlog.reason == "by_hand"
    assert backlog_sweep(today=TODAY + dt.timedelta(days=200)) == 0


@pytest.mark.django_db
def test_a_backlog_case_is_owned_planned_progressed_and_resolved(
    api_as, clerk_alice, handler_bob, head_erin, supervisor_carol
):
    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-20")
    case_route(case_id=case_id, actor=clerk_alice, to_org="K-EDU")
    backlog, _ = backlog_flag(case_id=case_id, actor=supervisor_carol)
    with pytest.raises(InvalidInput):  # a handler is no leader
        backlog_assign(backlog_id=backlog.pk, actor=supervisor_carol, owner="bob")
    backlog_assign(backlog_id=backlog.pk, actor=supervisor_carol, owner="erin")
    assert Notification.objects.filter(recipient=head_erin, kind="backlog").exists()
    backlog_plan(
        backlog_id=backlog.pk, actor=head_erin, plan="约谈信访人，复核学位分配。", target_on=TODAY
    )
    backlog_progress(backlog_id=backlog.pk, actor=handler_bob, text="已约谈。", on=TODAY)
    backlog_resolve(backlog_id=backlog.pk, actor=head_erin, outcome="重新分配学位，息诉罢访。")
    backlog.refresh_from_db()
    assert (backlog.owner, backlog.target_on, backlog.state) == (head_erin, TODAY, "resolved")
    assert [p.text for p in backlog.progress.all()] == ["已约谈。"]
    with pytest.raises(Conflict):
        backlog_resolve(backlog_id=backlog.pk, actor=head_erin, outcome="再次")
    verbs = set(CaseEvent.objects.filter(case_id=case_id).values_list("verb", flat=True))
    assert {"backlog_flag", "backlog_assign", "backlog_plan", "backlog_progress"} <= verbs


@pytest.mark.django_db
def test_a_stranger_org_cannot_touch_a_backlog_case(api_as, clerk_alice, supervisor_carol):
    from petitiondesk.accounts.services import user_add

    case_id = registered_case(api_as, clerk_alice, received_on="2026-11-20")
    backlog, _ = backlog_flag(case_id=case_id, actor=supervisor_carol)
    hugo = user_add(username="hugo", org_code="K-HOUSING", role="head")
    with pytest.raises(NotFound):
        backlog_flag(case_id=case_id, actor=hugo)
    with pytest.raises(NotFound):
        backlog_resolve(backlog_id=backlog.pk, actor=hugo, outcome="x")
    analyst = user_add(username="hank", org_code="C", role="analyst")
    with pytest.raises(PermissionDenied):
        backlog_resolve(backlog_id=backlog.pk, actor=analyst, outcome="x")


@pytest.mark.django_db
def test_the_repeat_check_reads_only_links_added_since_its_last_run(
    api_as, clerk_alice, monkeypatch
):
    """The sweep's repeat check counts the cases of new links only (a mark in RollupState), so
    its cost does not grow with every link ever stored; a run with nothing new counts nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from petitiondesk.analytics.models import RollupState
    from petitiondesk.supervision import services as sv

    monkeypatch.setattr(sv, "LATE_LINK_MARGIN", 0)
    first, second, third = three_unlinked_cases(api_as, clerk_alice)
    link(second, first)
    link(first, third, "same_matter")
    assert backlog_sweep(today=TODAY) == 1
    mark = RollupState.objects.get(name=sv.REPEAT_MARK).last_event_id
    assert mark == CaseLink.objects.order_by("-id").values_list("id", flat=True).first()
    with CaptureQueriesContext(connection) as again:
        assert backlog_sweep(today=TODAY) == 0
    assert [q["sql"] for q in again.captured_queries if "COUNT(" in q["sql"]] == []


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_repeat_case_held_by_a_verb_is_flagged_by_the_next_run_without_new_links(
    api_as, clerk_alice, monkeypatch
):
    """The repeat check's mark stays back while a case due a flag is held by another
    transaction, so the next run reads the same links again and flags it."""
    from petitiondesk.analytics.models import RollupState
    from petitiondesk.supervision import services as sv

    monkeypatch.setattr(sv, "LATE_LINK_MARGIN", 0)
    first, second, third = three_unlinked_cases(api_as, clerk_alice)
    link(second, first)
    link(first, third, "same_matter")
    with case_held(first):
        assert backlog_sweep(today=TODAY) == 0
    assert RollupState.objects.get(name=sv.REPEAT_MARK).last_event_id == 0
    assert backlog_sweep(today=TODAY) == 1
    assert BacklogCase.objects.get().case_id == first
    assert RollupState.objects.get(name=sv.REPEAT_MARK).last_event_id > 0
