"""Reply assistance (routing/replies.py): the Art. 32 completeness check of a draft opinion, the
similar answered cases with their replies, and their desk and API adapters."""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import user_add
from petitiondesk.cases import services
from petitiondesk.cases.models import ReadAudit
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from petitiondesk.routing import replies
from tests.conftest import letter, login_verified

D = dt.date
TESTBED = Path("/work/shared/data/tipdm2020c/messages-with-replies.xlsx")

COMPLETE_ZH = (
    "您反映的孩子入学学位分配问题，我局已收悉。"
    "经调查核实，您家户籍地址位于第三学区，学区内学位已满。"
    "根据《义务教育法》第十二条的规定，现答复如下：由区教育局统筹安排至就近学校就读。"
)
COMPLETE_EN = (
    "You asked for a school place closer to home. "
    "Our investigation found that the catchment school is full. "
    "Under the Compulsory Education Law, Article 12, we have decided to offer a place at the "
    "nearest school with room."
)
# One sentence per element, to take out one at a time.
PARTS_ZH = {
    "request": "您反映的孩子入学学位分配问题，我局已收悉。",
    "facts": "经调查核实，您家户籍地址位于第三学区，学区内学位已满。",
    "legal_basis": "根据《义务教育法》第十二条的规定，",
    "opinion": "现答复如下：由区教育局统筹安排至就近学校就读。",
}
PARTS_EN = {
    "request": "You asked for a school place closer to home. ",
    "facts": "Our investigation found that the catchment school is full. ",
    "legal_basis": "Under the Compulsory Education Law, Article 12, ",
    "opinion": "we have decided to offer a place at the nearest school with room.",
}


# --- the completeness check -------------------------------------------------------------------


@pytest.mark.parametrize("draft", [COMPLETE_ZH, COMPLETE_EN], ids=["zh", "en"])
def test_a_complete_draft_passes_with_evidence_for_each_element(draft: str) -> None:
    check = replies.check_opinion(draft)
    assert check.complete and check.missing == []
    assert [e.element for e in check.elements] == list(replies.ELEMENTS)
    assert all(e.evidence for e in check.elements)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("left_out", replies.ELEMENTS)
def test_a_draft_without_one_element_is_flagged_for_it(language: str, left_out: str) -> None:
    parts = PARTS_ZH if language == "zh" else PARTS_EN
    draft = "".join(text for element, text in parts.items() if element != left_out)
    check = replies.check_opinion(draft)
    assert not check.complete
    assert check.missing == [left_out]
    missing = next(e for e in check.elements if e.element == left_out)
    assert missing.present is False and missing.evidence == ""


def test_the_evidence_is_the_matched_text_in_its_context() -> None:
    check = replies.check_opinion(COMPLETE_ZH)
    evidence = {e.element: e.evidence for e in check.elements}
    assert "《义务教育法》" in evidence["legal_basis"]
    assert "经调查核实" in evidence["facts"]


def test_a_vague_thanks_is_not_a_request_nor_facts() -> None:
    check = replies.check_opinion("您好！留言已收悉。感谢您对我们工作的支持。")
    assert {"request", "facts", "legal_basis"} <= set(check.missing)


def test_an_opinion_notice_is_checked_field_by_field() -> None:
    check = replies.check_notice_fields(
        request="请求重新分配学位", facts_found=" ", opinion="予以解释说明", legal_basis="第十二条"
    )
    assert check.missing == ["facts"]
    assert check.as_dict()["elements"][0] == {
        "element": "request",
        "present": True,
        "evidence": "请求重新分配学位",
    }


@functools.cache
def _read_testbed() -> dict[str, str]:
    import openpyxl

    book = openpyxl.load_workbook(TESTBED, read_only=True)
    return {str(r[0]): str(r[5] or "") for r in list(book.active.iter_rows(values_only=True))[1:]}


def _testbed_replies() -> dict[str, str]:
    if not TESTBED.exists():
        pytest.skip(f"test bed not found: {TESTBED}")
    return _read_testbed()


# (留言编号, the elements its reply shows, the elements it lacks), read by hand.
REAL = [
    # "针对来信所反映的…", "经调查了解…", "现将我们调查处理情况答复如下", no law cited.
    ("2549", {"request", "facts", "opinion"}, {"legal_basis"}),
    # "根据2019年1月8日出台的《中共A市委A市人民政府关于学前教育深化改革规范发展的实施意见》".
    ("2555", {"request", "opinion", "legal_basis"}, {"facts"}),
    # "关于业主要求自己交水费问题", "经调查处理", "回复如下", "《西地省物业服务收费管理办法》…第十条".
    ("84789", {"request", "facts", "opinion", "legal_basis"}, set()),
    # "网友：您好！留言已收悉": nothing else.
    ("12451", set(), {"request", "facts", "opinion", "legal_basis"}),
]


@pytest.mark.parametrize(("number", "present", "absent"), REAL, ids=[r[0] for r in REAL])
def test_real_replies_show_the_elements_read_by_hand(
    number: str, present: set[str], absent: set[str]
) -> None:
    check = replies.check_opinion(_testbed_replies()[number])
    found = {e.element for e in check.elements if e.present}
    assert present <= found
    assert not (absent & found)


# --- similar answered cases -------------------------------------------------------------------

SCHOOL = ("学校门口交通拥堵", "每天早上学校门口车辆乱停，学生过马路很危险，请求增设交警和红绿灯。")
HEATING = (
    "小区冬季供暖温度不达标",
    "我们小区冬天暖气温度只有十几度，物业不管，请求督促供暖公司整改。",
)
NOISE = ("夜间施工噪音扰民", "工地每天晚上十二点以后还在施工打桩，噪音很大，影响休息，请求查处。")


@pytest.fixture(autouse=True)
def _model_dir(settings: Any, tmp_path: Path) -> None:
    """Each test has its own model file."""
    settings.DATA_DIR = tmp_path


def _register(actor: User, title: str, content: str, **overrides: Any) -> int:
    body = letter(title=title, content=content, received_on="2026-11-02", **overrides)
    body["petitioners"] = [PetitionerData(**p) for p in body["petitioners"]]
    body["received_on"] = D.fromisoformat(body["received_on"])
    return petition_submit(submission=Submission(**body), actor=actor).case.pk


def _org_code(user: User) -> str:
    assert user.org is not None
    return user.org.code


def answered(alice: User, handler: User, title: str, content: str, opinion: str) -> int:
    """A claim routed to the handler's organ, accepted and replied to."""
    case_id = _register(alice, title, content)
    services.case_route(
        case_id=case_id, actor=alice, to_org=_org_code(handler), effective_on=D(2026, 11, 3)
    )
    services.case_accept(case_id=case_id, actor=handler, claim_route=6, effective_on=D(2026, 11, 4))
    services.case_reply(
        case_id=case_id,
        actor=handler,
        outcome="support",
        opinion=opinion,
        effective_on=D(2026, 11, 20),
    )
    return case_id


def open_case(alice: User, handler: User, title: str, content: str) -> int:
    case_id = _register(alice, title, content)
    services.case_route(
        case_id=case_id, actor=alice, to_org=_org_code(handler), effective_on=D(2026, 11, 3)
    )
    return case_id


@pytest.fixture
def hugo(org_tree: None) -> User:
    return user_add(username="hugo", org_code="K-HOUSING", role="handler")


@pytest.fixture
def answered_three(clerk_alice: User, handler_bob: User) -> dict[str, int]:
    return {
        "school": answered(clerk_alice, handler_bob, *SCHOOL, "经核实，已协调交警增设信号灯。"),
        "heating": answered(clerk_alice, handler_bob, *HEATING, "经查，已责令供暖公司整改。"),
        "noise": answered(clerk_alice, handler_bob, *NOISE, "经调查，已对工地作出处罚。"),
    }


def test_similar_replies_returns_the_closest_answered_case_with_its_reply(
    clerk_alice, handler_bob, answered_three
):
    query = open_case(
        clerk_alice, handler_bob, "学校门口上学时段拥堵", "学校门口早上车辆乱停，请求增设红绿灯。"
    )
    assert replies.refresh().action == "fit"
    found = replies.similar_replies(user=handler_bob, case=_case(query), k=3)
    assert found.indexed == 3
    best = found.results[0]
    assert best.case_id == answered_three["school"]
    assert best.opinion == "经核实，已协调交警增设信号灯。"
    assert best.outcome == "support" and best.replied_on == D(2026, 11, 20)
    assert best.tracking_number and best.org == "示范县教育局" and best.verb == "reply"
    assert best.score > found.results[1].score


def test_the_case_itself_and_open_cases_are_never_suggested(
    clerk_alice, handler_bob, answered_three
):
    replies.refresh()
    school = _case(answered_three["school"])
    found = replies.similar_replies(user=handler_bob, case=school, k=5)
    assert school.pk not in [r.case_id for r in found.results]
    assert {r.case_id for r in found.results} <= set(answered_three.values())


def test_a_case_the_user_may_not_see_is_never_suggested(clerk_alice, handler_bob, hugo):
    housing = answered(clerk_alice, hugo, *HEATING, "经查，已责令供暖公司整改。")
    query = open_case(clerk_alice, handler_bob, *HEATING)
    replies.refresh()
    assert replies.similar_replies(user=handler_bob, case=_case(query), k=5).results == []
    seen_by_alice = replies.similar_replies(user=clerk_alice, case=_case(query), k=5).results
    assert [r.case_id for r in seen_by_alice] == [housing]


def test_an_accusation_is_never_suggested_to_the_accused_and_its_read_is_recorded(
    clerk_alice, hugo
):
    jack = user_add(username="jack", org_code="K-JW", role="handler")
    accusation = _register(
        clerk_alice,
        "举报住建局违规审批保障房",
        "县住建局在保障房分配中违规审批，请求查处。",
        category="accusation",
        accused_orgs=["K-HOUSING"],
    )
    services.case_route(
        case_id=accusation,
        actor=clerk_alice,
        to_org="K-JW",
        mode="to_discipline",
        effective_on=D(2026, 11, 3),
    )
    services.case_accept(case_id=accusation, actor=jack, effective_on=D(2026, 11, 4))
    services.case_reply(
        case_id=accusation,
        actor=jack,
        outcome="support",
        opinion="经查，反映属实，已立案调查。",
        effective_on=D(2026, 11, 20),
    )
    query = open_case(
        clerk_alice, hugo, "保障房分配违规审批", "住建局保障房分配违规审批，请求查处。"
    )
    replies.refresh()
    assert replies.similar_replies(user=hugo, case=_case(query), k=5).results == []
    assert not ReadAudit.objects.filter(user=hugo).exists()
    found = replies.similar_replies(user=clerk_alice, case=_case(query), k=5).results
    assert [r.case_id for r in found] == [accusation]
    assert ReadAudit.objects.filter(
        case_id=accusation, user=clerk_alice, view="routing.similar_replies"
    ).exists()


def test_refresh_adds_new_answers_and_does_nothing_when_none_came(
    clerk_alice, handler_bob, answered_three, monkeypatch
):
    monkeypatch.setattr(replies, "REFIT_FRACTION", 0.5)  # one more of three: add, not refit
    assert replies.refresh().action == "fit"
    assert replies.refresh().action == "none"
    late = answered(
        clerk_alice,
        handler_bob,
        "公园路灯不亮",
        "公园里的路灯坏了一个月，晚上很黑，请求维修。",
        "已维修。",
    )
    result = replies.refresh()
    assert (result.action, result.cases, result.added) == ("add", 4, 1)
    query = open_case(clerk_alice, handler_bob, "公园路灯坏了", "公园路灯坏了很久，请求维修。")
    assert (
        replies.similar_replies(user=handler_bob, case=_case(query), k=1).results[0].case_id == late
    )


def test_a_model_newer_than_the_database_is_fitted_afresh(clerk_alice, handler_bob, answered_three):
    """A file built before a database restore names events the database does not have."""
    stale = replies.ReplyIndex.fit(["旧的案件"], [999_999], [999_999])
    stale.save(replies.index_path())
    result = replies.refresh()
    assert (result.action, result.cases) == ("fit", 3)
    index = replies.load_index()
    assert index is not None and 999_999 not in index.case_ids.tolist()


def test_a_large_refit_is_left_to_a_worker_task(
    clerk_alice, handler_bob, answered_three, monkeypatch, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # Three answered cases, over the limit of two: too many to fit inline.
    monkeypatch.setattr(replies, "INLINE_FIT_MAX", 2)
    assert replies.refresh().action == "queued"
    index = replies.load_index()  # the (immediate) task fitted it
    assert index is not None and len(index) == 3
    assert not replies._refit_marker().exists()


def test_without_a_model_nothing_is_suggested_and_the_answer_says_so(clerk_alice, handler_bob):
    query = open_case(clerk_alice, handler_bob, *SCHOOL)
    found = replies.similar_replies(user=handler_bob, case=_case(query))
    assert found.results == [] and found.indexed is None


def test_the_model_file_round_trips() -> None:
    index = replies.ReplyIndex.fit(
        ["学校门口拥堵", "暖气不热", "工地噪音"], [1, 2, 3], [10, 11, 12]
    )
    path = replies.index_path()
    index.save(path)
    loaded = replies.ReplyIndex.load(path)
    assert loaded is not None and loaded.last_event_id == 12
    assert loaded.top("暖气温度不够", 1) == index.top("暖气温度不够", 1)
    assert loaded.top("暖气温度不够", 1)[0][0] == 2


def _case(case_id: int) -> Any:
    from petitiondesk.cases.models import Case

    return Case.objects.get(pk=case_id)


# --- the desk ---------------------------------------------------------------------------------


def desk(user: User) -> Client:
    client = Client()
    login_verified(client, user)
    client.cookies["django_language"] = "en"  # the assertions read the English pages
    return client


def test_the_case_page_offers_reply_assistance_to_a_handler(clerk_alice, handler_bob):
    case_id = open_case(clerk_alice, handler_bob, *SCHOOL)
    services.case_accept(
        case_id=case_id, actor=handler_bob, claim_route=6, effective_on=D(2026, 11, 4)
    )
    with translation.override("en"):
        html = desk(handler_bob).get(f"/desk/cases/{case_id}/").content.decode()
    assert 'id="reply-assistance"' in html
    assert f'hx-get="/desk/routing/cases/{case_id}/similar-replies/"' in html
    assert f'data-url="/desk/routing/cases/{case_id}/opinion-check/"' in html
    assert "/static/web/opinion-check.js" in html
    assert 'name="reply-opinion"' in html  # the form the script equips


def test_the_similar_replies_fragment_lists_the_closest_case(
    clerk_alice, handler_bob, answered_three
):
    query = open_case(clerk_alice, handler_bob, *SCHOOL)
    replies.refresh()
    html = desk(handler_bob).get(f"/desk/routing/cases/{query}/similar-replies/").content.decode()
    first = re.search(r'href="/desk/cases/(\d+)/"', html)
    assert first and int(first.group(1)) == answered_three["school"]
    assert "经核实，已协调交警增设信号灯。" in html


def test_the_opinion_check_fragment_flags_what_the_draft_lacks(clerk_alice, handler_bob):
    case_id = open_case(clerk_alice, handler_bob, *SCHOOL)
    draft = PARTS_ZH["request"] + PARTS_ZH["opinion"]
    with translation.override("en"):
        r = desk(handler_bob).post(
            f"/desk/routing/cases/{case_id}/opinion-check/", {"reply-opinion": draft}
        )
    html = r.content.decode()
    assert r.status_code == 200
    assert "Not found in the draft (Art. 32):" in html
    assert "The facts found (查明的事实); The legal basis (法律依据)" in html


@pytest.mark.parametrize("field", ["decide_review-opinion", "decide_rereview-opinion"])
def test_review_and_rereview_decisions_are_checked_too(clerk_alice, handler_bob, field):
    case_id = open_case(clerk_alice, handler_bob, *SCHOOL)
    with translation.override("en"):
        html = (
            desk(handler_bob)
            .post(f"/desk/routing/cases/{case_id}/opinion-check/", {field: COMPLETE_EN})
            .content.decode()
        )
    assert "The draft states all four elements of Art. 32." in html


def test_the_notice_form_is_checked_with_the_cases_opinion(clerk_alice, handler_bob):
    case_id = answered(clerk_alice, handler_bob, *SCHOOL, "经核实，已协调交警增设信号灯。")
    with translation.override("en"):
        html = (
            desk(handler_bob)
            .post(
                f"/desk/routing/cases/{case_id}/opinion-check/",
                {
                    "notice-kind": "handling_opinion",
                    "notice-facts_found": "",
                    "notice-legal_basis": "第十二条",
                },
            )
            .content.decode()
        )
    assert "Not found in the draft (Art. 32): The facts found (查明的事实)</strong>" in html
    assert "经核实，已协调交警增设信号灯。" in html  # the opinion's evidence: the reply on file


def test_a_form_without_an_opinion_gets_an_empty_check(clerk_alice, handler_bob):
    case_id = open_case(clerk_alice, handler_bob, *SCHOOL)
    r = desk(handler_bob).post(
        f"/desk/routing/cases/{case_id}/opinion-check/", {"notice-kind": "acceptance"}
    )
    assert r.status_code == 200 and r.content.strip() == b""


def test_the_desk_fragments_are_not_found_for_a_case_one_may_not_see(
    clerk_alice, handler_bob, hugo
):
    case_id = open_case(clerk_alice, handler_bob, *SCHOOL)
    client = desk(hugo)
    assert client.get(f"/desk/routing/cases/{case_id}/similar-replies/").status_code == 404
    assert client.post(f"/desk/routing/cases/{case_id}/opinion-check/").status_code == 404


# --- the API ----------------------------------------------------------------------------------


def test_the_api_answers_similar_replies_with_its_schema(
    clerk_alice, handler_bob, answered_three, api_as
):
    query = open_case(clerk_alice, handler_bob, *SCHOOL)
    replies.refresh()
    r = api_as(handler_bob).get(f"/petitions/{query}/similar-replies?k=2")
    assert r.status_code == 200
    body = r.json()
    assert body["indexed"] == 3 and len(body["results"]) == 2
    first = body["results"][0]
    assert set(first) == {
        "case_id",
        "tracking_number",
        "title",
        "score",
        "verb",
        "outcome",
        "replied_on",
        "org",
        "opinion",
    }
    assert first["case_id"] == answered_three["school"] and first["replied_on"] == "2026-11-20"


def test_the_api_refuses_a_bad_k_and_hides_cases_one_may_not_see(
    clerk_alice, handler_bob, hugo, api_as
):
    query = open_case(clerk_alice, handler_bob, *SCHOOL)
    r = api_as(handler_bob).get(f"/petitions/{query}/similar-replies?k=0")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input"
    r = api_as(hugo).get(f"/petitions/{query}/similar-replies")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_the_api_checks_a_draft(handler_bob, api_as):
    r = api_as(handler_bob).post(
        "/opinions/check", {"text": PARTS_EN["request"] + PARTS_EN["facts"]}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["complete"] is False and body["missing"] == ["opinion", "legal_basis"]
    assert body["elements"][0]["element"] == "request" and body["elements"][0]["present"] is True
    assert set(body["elements"][0]) == {"element", "present", "evidence"}
    assert api_as(handler_bob).post("/opinions/check", {"text": COMPLETE_ZH}).json()["complete"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "   "}, "empty_draft"),
        ({}, "invalid_input"),
        ({"text": "x" * 20_001}, "invalid_input"),
    ],
    ids=["blank", "missing", "too-long"],
)
def test_the_api_refuses_an_empty_or_oversized_draft(handler_bob, api_as, body, code):
    r = api_as(handler_bob).post("/opinions/check", body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == code


def test_the_api_check_needs_a_staff_login(api_as):
    assert api_as().post("/opinions/check", {"text": COMPLETE_ZH}).status_code == 401
