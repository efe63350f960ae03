"""People's suggestions (domain.md §9): solicitations, the lifecycle, re-classification, access,
statistics, over the services and the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import Case, CaseEvent, Deadline
from petitiondesk.core.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RuleRefusal,
)
from petitiondesk.suggestions import selectors as sel
from petitiondesk.suggestions import services as svc
from petitiondesk.suggestions.models import Suggestion, SuggestionEvent
from tests.conftest import _user

TODAY = dt.date(2026, 11, 27)


@pytest.fixture
def xf_handler(org_tree: None) -> User:
    return _user("xena", "K-XF", "handler")


@pytest.fixture
def solicitation(clerk_alice: User) -> Any:
    return svc.solicitation_publish(
        actor=clerk_alice,
        title="优化城区停车管理",
        description="征集关于老城区停车难的意见建议。",
        question="如何缓解老城区停车难？",
        opens_on=dt.date(2026, 11, 1),
        closes_on=dt.date(2026, 12, 31),
        support_threshold=3,
    )


def submission(**overrides: Any) -> svc.SuggestionSubmission:
    data: dict[str, Any] = {
        "title": "错时开放机关停车场",
        "reasons": "老城区夜间停车位紧张。",
        "proposal": "建议机关单位停车场夜间向居民错时开放。",
        "topic": "traffic",
        "proposer_name": "李明",
        "proposer_phone": "13900001111",
        "public_consent": True,
    }
    data.update(overrides)
    return svc.SuggestionSubmission(**data)


def submit(solicitation: Any = None, **overrides: Any) -> Suggestion:
    if solicitation is not None:
        overrides.setdefault("solicitation_id", solicitation.pk)
    return svc.suggestion_submit(data=submission(**overrides), actor=None).suggestion


# --- solicitations ----------------------------------------------------------------------------


def test_a_public_suggestion_answering_a_solicitation_goes_to_its_office(solicitation):
    receipt = svc.suggestion_submit(
        data=submission(solicitation_id=solicitation.pk), actor=None, client_ip="10.0.0.1"
    )
    sug = receipt.suggestion
    assert sug.org.code == "K-XF"
    assert sug.status == Suggestion.Status.RECEIVED
    assert sug.received_on == TODAY
    assert sug.tracking_number.startswith("JY20261127") and len(sug.tracking_number) == 20
    assert sel.tracked_suggestion(sug.tracking_number, receipt.access_key).pk == sug.pk
    assert SuggestionEvent.objects.get(suggestion=sug).verb == "submit"


def test_a_closed_solicitation_refuses_suggestions(solicitation, clerk_alice):
    svc.solicitation_close(actor=clerk_alice, solicitation_id=solicitation.pk)
    with pytest.raises(RuleRefusal) as exc:
        submit(solicitation)
    assert exc.value.code == "solicitation_closed"
    assert solicitation not in sel.open_solicitations()


def test_a_solicitation_not_yet_open_refuses_suggestions(clerk_alice):
    sol = svc.solicitation_publish(
        actor=clerk_alice,
        title="t",
        description="d",
        question="q",
        opens_on=dt.date(2026, 12, 1),
        closes_on=dt.date(2026, 12, 31),
    )
    with pytest.raises(RuleRefusal):
        submit(sol)
    assert list(sel.open_solicitations()) == []


def test_a_standalone_public_suggestion_goes_to_the_petition_department(org_tree):
    sug = submit(division_code="990101")
    assert sug.org.code == "K-XF"
    assert sug.solicitation is None


def test_an_analyst_cannot_publish_a_solicitation(org_tree):
    analyst = _user("hank", "C", "analyst")
    with pytest.raises(PermissionDenied):
        svc.solicitation_publish(
            actor=analyst,
            title="t",
            description="d",
            question="q",
            opens_on=TODAY,
            closes_on=TODAY,
        )


# --- the lifecycle ----------------------------------------------------------------------------


def test_the_lifecycle_from_receipt_to_conversion(solicitation, clerk_alice, xf_handler):
    sug = submit(solicitation)
    svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="有价值")
    svc.suggestion_forward(
        suggestion_id=sug.pk, actor=clerk_alice, to_org="K-HOUSING", note="请提意见"
    )
    housing = _user("hugo", "K-HOUSING", "handler")
    svc.suggestion_opinion(suggestion_id=sug.pk, actor=housing, opinion="可行")
    svc.suggestion_decide(
        suggestion_id=sug.pk, actor=xf_handler, decision="adopted", reason="切实可行"
    )
    sug = svc.suggestion_reply(
        suggestion_id=sug.pk, actor=xf_handler, reply="您的建议已被采纳。", publish=True
    )
    assert sug.status == Suggestion.Status.REPLIED and sug.published
    assert sug.replied_on == TODAY
    sug = svc.suggestion_convert(
        suggestion_id=sug.pk,
        actor=clerk_alice,
        kind="policy",
        reference="示范县停车管理办法（2026）",
        on=TODAY,
    )
    assert sug.status == Suggestion.Status.CONVERTED
    svc.suggestion_award(suggestion_id=sug.pk, actor=xf_handler, description="优秀建议奖", on=TODAY)
    verbs = list(sug.events.values_list("verb", flat=True))
    assert verbs == [
        "submit",
        "assess",
        "forward",
        "opinion",
        "decide",
        "reply",
        "convert",
        "award",
    ]
    public = sel.public_suggestions(solicitation_id=solicitation.pk)
    assert public[0]["reply"] == "您的建议已被采纳。"
    assert "proposer_name" not in public[0] and "李明" not in str(public)


def test_a_clerk_cannot_decide(solicitation, clerk_alice):
    sug = submit(solicitation)
    svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="")
    with pytest.raises(PermissionDenied):
        svc.suggestion_decide(
            suggestion_id=sug.pk, actor=clerk_alice, decision="adopted", reason="r"
        )


def test_deciding_before_assessing_is_an_invalid_transition(solicitation, xf_handler):
    sug = submit(solicitation)
    with pytest.raises(InvalidTransition):
        svc.suggestion_decide(
            suggestion_id=sug.pk, actor=xf_handler, decision="adopted", reason="r"
        )


def test_a_not_adopted_suggestion_cannot_be_converted(solicitation, clerk_alice, xf_handler):
    sug = submit(solicitation)
    svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="")
    svc.suggestion_decide(
        suggestion_id=sug.pk, actor=xf_handler, decision="not_adopted", reason="不可行"
    )
    svc.suggestion_reply(suggestion_id=sug.pk, actor=xf_handler, reply="感谢")
    with pytest.raises(RuleRefusal):
        svc.suggestion_convert(
            suggestion_id=sug.pk, actor=clerk_alice, kind="policy", reference="x", on=TODAY
        )


def test_a_reply_is_published_only_with_the_proposers_consent(
    solicitation, clerk_alice, xf_handler
):
    sug = submit(solicitation, public_consent=False)
    svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="")
    svc.suggestion_decide(suggestion_id=sug.pk, actor=xf_handler, decision="adopted", reason="好")
    with pytest.raises(RuleRefusal) as exc:
        svc.suggestion_reply(suggestion_id=sug.pk, actor=xf_handler, reply="采纳", publish=True)
    assert exc.value.code == "no_consent"
    assert sel.public_suggestions() == []


def test_the_written_reply_goes_to_the_proposer_after_it_is_stored(
    solicitation, clerk_alice, xf_handler, django_capture_on_commit_callbacks, mailoutbox
):
    sug = submit(solicitation, proposer_email="liming@example.cn")
    svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="")
    svc.suggestion_decide(suggestion_id=sug.pk, actor=xf_handler, decision="adopted", reason="好")
    with django_capture_on_commit_callbacks(execute=True):
        svc.suggestion_reply(suggestion_id=sug.pk, actor=xf_handler, reply="您的建议已被采纳。")
    [mail] = mailoutbox
    assert mail.to == ["liming@example.cn"]
    assert sug.tracking_number in mail.subject and "您的建议已被采纳。" in mail.body
    assert sug.events.get(verb="reply").payload["sent_to"] == "email"


def test_a_proposer_without_e_mail_is_told_by_sms(
    solicitation, clerk_alice, xf_handler, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.PETITIONDESK_SMS_FILE = tmp_path / "sms.jsonl"
    sug = submit(solicitation)  # a phone number, no e-mail
    svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="")
    svc.suggestion_decide(suggestion_id=sug.pk, actor=xf_handler, decision="adopted", reason="好")
    with django_capture_on_commit_callbacks(execute=True):
        svc.suggestion_reply(suggestion_id=sug.pk, actor=xf_handler, reply="采纳")
    sent = (tmp_path / "sms.jsonl").read_text(encoding="utf-8")
    assert "13900001111" in sent and sug.tracking_number in sent


# --- re-classification ------------------------------------------------------------------------


def test_a_personal_claim_is_reclassified_as_a_petition_from_the_original_date(
    clerk_alice,
):
    receipt = svc.suggestion_submit(
        data=submission(
            title="我家的拆迁补偿问题",
            proposer_name="张三",
            received_on=dt.date(2026, 11, 2),
        ),
        actor=clerk_alice,
    )
    sug = receipt.suggestion
    case = svc.suggestion_reclassify(suggestion_id=sug.pk, actor=clerk_alice, reason="属个人诉求")
    sug.refresh_from_db()
    assert sug.status == Suggestion.Status.RECLASSIFIED
    assert sug.case_id == case.pk
    assert case.received_on == dt.date(2026, 11, 2)
    assert case.category == Case.Category.CLAIM
    assert case.petitioners.get().name == "张三"
    # The clocks run from the suggestion's receipt, not from today.
    routing = Deadline.objects.get(case=case, rule="routing")
    assert routing.start_on == dt.date(2026, 11, 2)
    assert CaseEvent.objects.filter(case=case, verb="reclassified_from_suggestion").exists()
    assert sug.events.filter(verb="reclassify", payload__case=case.tracking_number).exists()
    # The proposer's one access key opens the petition too.
    from petitiondesk.cases.selectors import access_tracked_case

    assert (
        access_tracked_case(
            tracking_number=case.tracking_number, access_key=receipt.access_key, ip=""
        ).pk
        == case.pk
    )
    with pytest.raises(InvalidTransition):
        svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="")


# --- access -----------------------------------------------------------------------------------


def test_other_offices_get_404(solicitation, handler_bob):
    sug = submit(solicitation)
    with pytest.raises(NotFound):
        sel.suggestion_for(handler_bob, sug.pk)
    with pytest.raises(NotFound):
        svc.suggestion_assess(suggestion_id=sug.pk, actor=handler_bob, note="")


def test_the_admin_role_reads_no_suggestions(solicitation):
    admin = _user("root", "P", "admin")
    sug = submit(solicitation)
    with pytest.raises(NotFound):
        sel.suggestion_for(admin, sug.pk)
    assert not sel.staff_suggestions(admin).exists()


def test_proposer_details_are_shown_only_to_the_holding_office(
    solicitation, clerk_alice, supervisor_carol
):
    sug = submit(solicitation)
    assert sel.suggestion_detail(sug, clerk_alice)["proposer"]["name"] == "李明"
    # The city's supervisor reads the suggestion (their jurisdiction) but not who proposed it.
    seen = sel.suggestion_for(supervisor_carol, sug.pk)
    assert sel.suggestion_detail(seen, supervisor_carol)["proposer"] is None


def test_the_forwarded_to_department_reads_and_gives_an_opinion_but_does_not_decide(
    solicitation, clerk_alice
):
    sug = submit(solicitation)
    svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="")
    housing = _user("hugo", "K-HOUSING", "handler")
    with pytest.raises(NotFound):
        sel.suggestion_for(housing, sug.pk)
    svc.suggestion_forward(suggestion_id=sug.pk, actor=clerk_alice, to_org="K-HOUSING", note="")
    seen = sel.suggestion_for(housing, sug.pk)
    assert sel.available_verbs(seen, housing) == ["opinion"]
    with pytest.raises(PermissionDenied):
        svc.suggestion_decide(suggestion_id=sug.pk, actor=housing, decision="adopted", reason="r")


# --- statistics -------------------------------------------------------------------------------


def test_statistics_count_adoption_conversion_and_days_to_reply(
    solicitation, clerk_alice, xf_handler
):
    adopted = svc.suggestion_submit(
        data=submission(solicitation_id=solicitation.pk, received_on=dt.date(2026, 11, 17)),
        actor=clerk_alice,
    ).suggestion
    rejected = submit(solicitation, topic="housing")
    submit(None, topic="traffic", division_code="990101")
    for sug, decision in ((adopted, "adopted"), (rejected, "not_adopted")):
        svc.suggestion_assess(suggestion_id=sug.pk, actor=clerk_alice, note="")
        svc.suggestion_decide(suggestion_id=sug.pk, actor=xf_handler, decision=decision, reason="r")
        svc.suggestion_reply(suggestion_id=sug.pk, actor=xf_handler, reply="答复")
    svc.suggestion_convert(
        suggestion_id=adopted.pk, actor=clerk_alice, kind="regulation", reference="R1", on=TODAY
    )
    stats = sel.suggestion_stats(clerk_alice)
    assert stats["total"] == 3
    assert {r["solicitation_id"]: r["count"] for r in stats["by_solicitation"]} == {
        solicitation.pk: 2,
        None: 1,
    }
    assert {r["topic"]: r["count"] for r in stats["by_topic"]} == {"traffic": 2, "housing": 1}
    assert stats["adoption_rate"] == 0.5
    assert stats["conversion_rate"] == 1.0
    assert stats["median_days_to_reply"] == 5  # 10 days and 0 days
    assert stats["mean_days_to_reply"] == 5.0


def test_the_profile_gives_the_internal_targets(solicitation):
    sug = submit(solicitation)
    assert sel.suggestion_targets(sug) == {
        "assess": TODAY + dt.timedelta(days=15),
        "reply": TODAY + dt.timedelta(days=60),
    }


# --- the API ----------------------------------------------------------------------------------


def test_the_api_round_trip(api_as, clerk_alice, xf_handler):
    staff = api_as(clerk_alice)
    r = staff.post(
        "/solicitations",
        {
            "title": "停车",
            "description": "征集停车建议",
            "question": "怎么办？",
            "opens_on": "2026-11-01",
            "closes_on": "2026-12-31",
            "support_threshold": 2,
        },
    )
    assert r.status_code == 201, r.content
    sol_id = r.json()["id"]
    public = api_as()
    assert [s["id"] for s in public.get("/solicitations").json()] == [sol_id]
    r = public.post(
        "/suggestions",
        {
            "title": "错时开放停车场",
            "reasons": "车位紧张",
            "proposal": "夜间开放",
            "solicitation_id": sol_id,
            "proposer_name": "李明",
            "proposer_email": "li@example.com",
            "public_consent": True,
        },
    )
    assert r.status_code == 201, r.content
    sid, tn, key = r.json()["id"], r.json()["tracking_number"], r.json()["access_key"]
    assert public.get(f"/suggestions/track/{tn}", **{"X-Access-Key": key}).status_code == 200
    assert public.get(f"/suggestions/track/{tn}", **{"X-Access-Key": "wrong"}).status_code == 404
    assert staff.post(f"/suggestions/{sid}/actions/assess", {"note": "好"}).status_code == 200
    handler = api_as(xf_handler)
    r = handler.post(f"/suggestions/{sid}/actions/decide", {"decision": "adopted", "reason": "r"})
    assert r.status_code == 200, r.content
    r = handler.post(f"/suggestions/{sid}/actions/reply", {"reply": "已采纳", "publish": True})
    assert r.json()["status"] == "replied"
    r = staff.post(
        f"/suggestions/{sid}/actions/convert",
        {"kind": "deputy_motion", "reference": "议案第12号", "on": "2026-11-27"},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["conversions"] == [
        {"kind": "deputy_motion", "reference": "议案第12号", "on": "2026-11-27"}
    ]
    assert body["proposer"]["email"] == "li@example.com"
    assert staff.get(f"/suggestions/{sid}").status_code == 200
    assert staff.get("/suggestions").json()["count"] == 1
    assert staff.get("/suggestions/stats").json()["converted"] == 1
    shown = public.get("/suggestions/public").json()
    assert shown[0]["reply"] == "已采纳" and "proposer" not in shown[0]
    r = staff.post(f"/solicitations/{sol_id}/close", {})
    assert r.json()["is_open"] is False
    r = public.post(
        "/suggestions",
        {
            "title": "t",
            "reasons": "r",
            "proposal": "p",
            "solicitation_id": sol_id,
            "proposer_name": "n",
            "proposer_phone": "13900001111",
        },
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "solicitation_closed"


def test_the_api_hides_a_suggestion_from_another_office(api_as, solicitation, handler_bob):
    sug = submit(solicitation)
    assert api_as(handler_bob).get(f"/suggestions/{sug.pk}").status_code == 404
    assert api_as().get(f"/suggestions/{sug.pk}").status_code == 401
