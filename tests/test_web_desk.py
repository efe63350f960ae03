"""The staff workbench pages: work lists, search, export, the case page and its actions, the board.

Personas as in conftest: clerk_alice (K-XF, the county petition bureau), handler_bob and head_erin
(K-EDU, the education bureau), supervisor_carol (C, the city).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import user_add
from petitiondesk.cases import services
from petitiondesk.cases.actions import available_actions
from petitiondesk.cases.extensions import extension_request
from petitiondesk.cases.models import Case, ExtensionRequest, ReadAudit
from petitiondesk.cases.worklists import search_tokens
from petitiondesk.intake.services import hash_access_key
from petitiondesk.supervision.services import deadlines_sweep
from tests.conftest import login_verified
from tests.test_access_matrix import register

D = dt.date
HX = {"HX-Request": "true"}
ACCUSER = "赵敏"


def english(client: Client) -> Client:
    """The client with English chosen (the services' messages are checked in English)."""
    client.cookies["django_language"] = "en"
    return client


def page(user: User) -> Client:
    client = Client()
    if user.role in ("supervisor", "admin"):
        login_verified(client, user)
    else:
        client.force_login(user)
    return client


def routed(clerk: User, **overrides: Any) -> int:
    """A claim letter registered by the county petition bureau and routed to the education bureau."""
    case_id, _tn, _key = register(clerk, received_on="2026-11-20", **overrides)
    services.case_route(case_id=case_id, actor=clerk, to_org="K-EDU", effective_on=D(2026, 11, 23))
    return case_id


def accepted(clerk: User, handler: User, **overrides: Any) -> int:
    case_id = routed(clerk, **overrides)
    services.case_accept(
        case_id=case_id, actor=handler, claim_route=6, effective_on=D(2026, 11, 24)
    )
    return case_id


def ids_in(response: Any) -> set[int]:
    return {c.pk for c in response.context["page"].rows}


@pytest.fixture
def accusation(clerk_alice: User) -> int:
    """An accusation against the housing bureau, sent on to the discipline organ."""
    case_id, _tn, _key = register(
        clerk_alice,
        received_on="2026-09-01",
        category="accusation",
        accused_orgs=["K-HOUSING"],
        title="举报住建局违规审批保障房",
        content="县住建局在保障房分配中违规审批。",
        petitioners=[{"name": ACCUSER, "phone": "13911112222"}],
    )
    services.case_route(
        case_id=case_id,
        actor=clerk_alice,
        to_org="K-JW",
        mode="to_discipline",
        effective_on=D(2026, 9, 2),
    )
    return case_id


@pytest.fixture
def housing_head(org_tree: None) -> User:
    return user_add(username="hera", org_code="K-HOUSING", role="head")


# --- work lists -------------------------------------------------------------------------------


def test_a_clerk_sees_the_cases_to_route_with_counts(clerk_alice: User, handler_bob: User) -> None:
    fresh, _tn, _key = register(clerk_alice, received_on="2026-11-26")
    routed(clerk_alice, content="另一封来信")

    r = page(clerk_alice).get("/desk/")

    assert r.status_code == 200
    assert r.context["current"] == "to_route"
    assert ids_in(r) == {fresh}
    counts = {name: count for name, _label, count, _link in r.context["tabs"]}
    assert counts == {"to_route": 1, "to_accept": 1, "due_soon": 0, "overdue": 0, "all": 2}


def test_a_handler_has_lists_to_accept_and_in_handling(
    clerk_alice: User, handler_bob: User
) -> None:
    waiting = routed(clerk_alice)
    handling = accepted(clerk_alice, handler_bob, content="已受理的来信")
    client = page(handler_bob)

    assert ids_in(client.get("/desk/?list=to_accept")) == {waiting}
    assert ids_in(client.get("/desk/?list=in_handling")) == {handling}
    r = client.get("/desk/?list=to_route")  # not a list of handlers: their first list instead
    assert r.context["current"] == "to_accept"


def test_a_head_sees_extensions_to_approve(
    clerk_alice: User, handler_bob: User, head_erin: User
) -> None:
    case_id = accepted(clerk_alice, handler_bob)
    extension_request(case_id=case_id, actor=handler_bob, days=20, reason="情况复杂")

    r = page(head_erin).get("/desk/?list=extensions")

    assert ids_in(r) == {case_id}
    assert "extensions" not in dict(
        (n, c) for n, _l, c, _k in page(handler_bob).get("/desk/").context["tabs"]
    )


def test_due_soon_and_overdue_lists(clerk_alice: User, handler_bob: User) -> None:
    # Received 2026-11-12: the routing clock (15 days) runs out on 2026-11-27, today.
    soon, _tn, _key = register(clerk_alice, received_on="2026-11-12")
    late, _tn, _key = register(clerk_alice, received_on="2026-10-01", content="早已超期的来信")
    deadlines_sweep()
    client = english(page(clerk_alice))

    assert ids_in(client.get("/desk/?list=due_soon")) == {soon}
    r = client.get("/desk/?list=overdue")
    assert ids_in(r) == {late}
    assert "42 days overdue" in r.content.decode()  # the routing clock ran out on 2026-10-16


def test_filters_narrow_the_list_and_its_counts(clerk_alice: User) -> None:
    letter_id, _tn, _key = register(clerk_alice, received_on="2026-11-02", category="claim")
    visit_id, _tn, _key = register(
        clerk_alice,
        received_on="2026-11-20",
        channel="visit",
        category="suggestion",
        content="走访",
    )
    client = page(clerk_alice)

    assert ids_in(client.get("/desk/?list=all&channel=visit")) == {visit_id}
    assert ids_in(client.get("/desk/?list=all&category=claim")) == {letter_id}
    r = client.get("/desk/?list=all&received_from=2026-11-10&received_to=2026-11-30")
    assert ids_in(r) == {visit_id}
    assert dict((n, c) for n, _l, c, _k in r.context["tabs"])["all"] == 1
    assert ids_in(client.get("/desk/?list=all&status=routed")) == set()
    assert ids_in(client.get("/desk/?list=all&org=K-XF")) == {letter_id, visit_id}


def test_an_invalid_filter_value_is_left_out(clerk_alice: User) -> None:
    case_id, _tn, _key = register(clerk_alice)

    r = page(clerk_alice).get("/desk/?list=all&status=nonsense&received_from=yesterday&page=x")

    assert r.status_code == 200
    assert ids_in(r) == {case_id}


def test_sorting_by_receipt_date(clerk_alice: User) -> None:
    older, _tn, _key = register(clerk_alice, received_on="2026-10-01", content="较早")
    newer, _tn, _key = register(clerk_alice, received_on="2026-11-20", content="较晚")
    client = page(clerk_alice)

    newest_first = [c.pk for c in client.get("/desk/?list=all").context["page"].rows]
    oldest_first = [
        c.pk for c in client.get("/desk/?list=all&sort=received_on").context["page"].rows
    ]
    by_due = [c.pk for c in client.get("/desk/?list=all&sort=due").context["page"].rows]

    assert newest_first == [newer, older]
    assert oldest_first == [older, newer]
    assert by_due == [older, newer]


def test_pages_of_fifty(clerk_alice: User) -> None:
    for i in range(51):
        register(clerk_alice, received_on="2026-11-20", content=f"来信第{i}封")
    client = page(clerk_alice)

    first = client.get("/desk/?list=all")
    second = client.get("/desk/?list=all&page=2")

    assert len(first.context["page"].rows) == 50
    assert first.context["page"].pages == 2
    assert len(second.context["page"].rows) == 1
    assert "page=2" in first.context["next_link"]


# --- search -----------------------------------------------------------------------------------


def test_search_tokens_cut_chinese_into_words() -> None:
    assert search_tokens("学位分配，问题！") == ["学位", "分配", "问题"]
    assert search_tokens("  ") == []


def test_search_finds_chinese_words_in_title_or_content(clerk_alice: User) -> None:
    school, _tn, _key = register(clerk_alice)  # 孩子入学学位分配问题
    roads, _tn, _key = register(
        clerk_alice, title="道路积水", content="下雨后小区门口道路积水严重。"
    )
    client = page(clerk_alice)

    assert ids_in(client.get("/desk/?list=all&q=学位分配")) == {school}
    # Words apart in the text still match: "户籍" and "学校" are both in the content.
    assert ids_in(client.get("/desk/?list=all&q=户籍 学校")) == {school}
    assert ids_in(client.get("/desk/?list=all&q=道路积水")) == {roads}
    assert ids_in(client.get("/desk/?list=all&q=学位 积水")) == set()
    assert ids_in(client.get("/desk/?list=all&q=积水&channel=visit")) == set()


# --- export -----------------------------------------------------------------------------------


def test_the_export_is_the_list_as_csv_with_a_bom(clerk_alice: User, accusation: int) -> None:
    _case_id, tn, _key = register(clerk_alice)

    r = page(clerk_alice).get("/desk/export.csv?list=all&category=claim")
    body = b"".join(r.streaming_content)

    assert r["Content-Type"].startswith("text/csv")
    assert r["Content-Disposition"].startswith("attachment")
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "tracking_number", "title"]
    assert [row[1] for row in rows[1:]] == [tn]
    assert rows[1][2] == "孩子入学学位分配问题"


def test_the_export_holds_only_cases_the_user_may_see(clerk_alice: User, handler_bob: User) -> None:
    mine = routed(clerk_alice)
    register(clerk_alice, content="仍在信访局的来信")  # K-EDU never held it

    r = page(handler_bob).get("/desk/export.csv?list=all")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))

    assert [int(row[0]) for row in rows[1:]] == [mine]


def test_a_formula_is_not_exported_as_one(clerk_alice: User) -> None:
    register(clerk_alice, title="=HYPERLINK(1)")

    r = page(clerk_alice).get("/desk/export.csv?list=all")

    assert "'=HYPERLINK(1)" in b"".join(r.streaming_content).decode("utf-8-sig")


# --- the accused organ ------------------------------------------------------------------------


def test_the_accused_organ_never_sees_the_accusation(
    accusation: int, housing_head: User, clerk_alice: User, supervisor_carol: User
) -> None:
    deadlines_sweep()  # the accusation is overdue by now: it would be on the board
    client = page(housing_head)

    assert page(supervisor_carol).get("/desk/board/").context["overdue"][0][0].pk == accusation
    for url in (
        "/desk/?list=all",
        "/desk/?list=overdue",
        "/desk/?list=all&q=保障房",
        "/desk/?list=all&org=K-JW",
    ):
        r = client.get(url)
        assert accusation not in ids_in(r), url
        assert all(count == 0 for _n, _l, count, _k in r.context["tabs"]), url
    export = b"".join(client.get("/desk/export.csv?list=all").streaming_content).decode()
    assert "保障房" not in export
    board = client.get("/desk/board/")
    assert board.context["by_org"] == [] and board.context["overdue"] == []
    assert client.get(f"/desk/cases/{accusation}/").status_code == 404


# --- the case page ----------------------------------------------------------------------------


def test_the_case_page_shows_summary_deadlines_and_timeline(
    clerk_alice: User, handler_bob: User
) -> None:
    case_id = routed(clerk_alice)

    r = page(handler_bob).get(f"/desk/cases/{case_id}/")
    html = r.content.decode()

    assert r.status_code == 200
    assert "孩子入学学位分配问题" in html
    assert "王小明" in html  # not confidential
    assert "2026年11月23日" in html  # Chinese dates by default
    assert 'id="h-timeline"' in html and 'id="h-deadlines"' in html


def test_english_is_selectable_and_remembered(clerk_alice: User) -> None:
    case_id, _tn, _key = register(clerk_alice)
    client = page(clerk_alice)

    client.post("/i18n/setlang/", {"language": "en", "next": "/desk/"})
    html = client.get(f"/desk/cases/{case_id}/").content.decode()

    assert '<html lang="en">' in html
    assert "Sept. 28, 2026" in html


def test_a_confidential_petitioner_is_hidden_from_the_clerk_but_not_the_handler(
    clerk_alice: User, handler_bob: User
) -> None:
    case_id = routed(clerk_alice, confidential=True)

    clerk_view = page(clerk_alice).get(f"/desk/cases/{case_id}/").content.decode()
    handler_view = page(handler_bob).get(f"/desk/cases/{case_id}/").content.decode()

    assert "王小明" not in clerk_view and "13800000000" not in clerk_view
    assert "<td>保密</td>" in clerk_view  # "confidential", in the page's language
    assert "王小明" in handler_view
    assert ReadAudit.objects.filter(case_id=case_id, view="web.case").count() == 2


def test_each_role_is_offered_only_the_actions_it_may_take(
    clerk_alice: User, handler_bob: User, supervisor_carol: User
) -> None:
    fresh, _tn, _key = register(clerk_alice)
    case_id = routed(clerk_alice, content="已转送的来信")

    def offered(user: User, cid: int) -> set[str]:
        return {f.prefix for f in page(user).get(f"/desk/cases/{cid}/").context["forms"]}

    assert {"route", "decline", "link", "attach"} <= offered(clerk_alice, fresh)
    assert "accept" not in offered(clerk_alice, fresh)  # clerks do not accept
    assert offered(clerk_alice, case_id) == {"link", "attach"}  # no longer the holder
    assert {"accept", "object", "decline", "assign"} <= offered(handler_bob, case_id)
    assert "route" not in offered(handler_bob, case_id)
    assert offered(supervisor_carol, case_id) == {"link"}
    html = page(supervisor_carol).get(f"/desk/cases/{case_id}/").content.decode()
    assert "/act/accept/" not in html


def test_an_action_not_offered_is_refused(clerk_alice: User, handler_bob: User) -> None:
    case_id = routed(clerk_alice)

    r = page(clerk_alice).post(f"/desk/cases/{case_id}/act/accept/", {"accept-claim_route": "6"})

    assert r.status_code == 403
    assert Case.objects.get(pk=case_id).status == "routed"


def test_an_htmx_action_refreshes_the_panels(clerk_alice: User, handler_bob: User) -> None:
    case_id = routed(clerk_alice)

    r = page(handler_bob).post(
        f"/desk/cases/{case_id}/act/accept/", {"accept-claim_route": "6"}, headers=HX
    )

    assert r.status_code == 200
    html = r.content.decode()
    assert html.startswith('<div id="case-panels"')
    assert 'role="status"' in html
    assert Case.objects.get(pk=case_id).status == "accepted"


def test_an_htmx_action_shows_the_services_refusal_inline(
    clerk_alice: User, handler_bob: User
) -> None:
    case_id = routed(clerk_alice)

    r = english(page(handler_bob)).post(f"/desk/cases/{case_id}/act/accept/", {}, headers=HX)

    assert r.status_code == 200
    assert r["HX-Retarget"] == "#action-accept"
    html = r.content.decode()
    assert html.startswith('<section id="action-accept"')
    assert "claim_route 1-6" in html  # the service's message, next to the field
    assert Case.objects.get(pk=case_id).status == "routed"


def test_without_htmx_an_action_redirects_and_an_error_renders_the_page(
    clerk_alice: User, handler_bob: User
) -> None:
    case_id = routed(clerk_alice)
    client = page(handler_bob)

    bad = client.post(f"/desk/cases/{case_id}/act/reply/", {})
    good = client.post(f"/desk/cases/{case_id}/act/accept/", {"accept-claim_route": "6"})

    assert bad.status_code == 403  # replying is not open before acceptance
    assert good.status_code == 303 and good["Location"] == f"/desk/cases/{case_id}/"


def test_an_action_that_takes_the_case_out_of_scope_goes_back_to_the_list(
    clerk_alice: User, handler_bob: User
) -> None:
    case_id = routed(clerk_alice)

    r = page(handler_bob).post(
        f"/desk/cases/{case_id}/act/object/", {"object-reason": "不属本单位职责"}, headers=HX
    )

    assert r["HX-Redirect"] == "/desk/"


def test_a_head_approves_a_requested_extension(
    clerk_alice: User, handler_bob: User, head_erin: User
) -> None:
    case_id = accepted(clerk_alice, handler_bob)
    r = page(handler_bob).post(
        f"/desk/cases/{case_id}/act/request_extension/",
        {"request_extension-days": "30", "request_extension-reason": "情况复杂"},
        headers=HX,
    )
    assert r.status_code == 200, r.content
    assert "approve_extension" not in available_actions(Case.objects.get(pk=case_id), handler_bob)

    r = page(head_erin).post(
        f"/desk/cases/{case_id}/act/approve_extension/",
        {"approve_extension-petitioner_notified_on": "2026-11-27"},
        headers=HX,
    )

    assert r.status_code == 200 and "HX-Retarget" not in r, r.content
    assert Case.objects.get(pk=case_id).extension_days == 30
    assert ExtensionRequest.objects.get(case_id=case_id).state == "approved"


def test_a_head_refuses_an_extension(clerk_alice: User, handler_bob: User, head_erin: User) -> None:
    case_id = accepted(clerk_alice, handler_bob)
    extension_request(case_id=case_id, actor=handler_bob, days=10, reason="情况复杂")

    page(head_erin).post(
        f"/desk/cases/{case_id}/act/refuse_extension/", {"refuse_extension-reason": "理由不足"}
    )

    assert ExtensionRequest.objects.get(case_id=case_id).state == "refused"
    assert Case.objects.get(pk=case_id).extension_days == 0


def test_an_extension_request_follows_the_extension_rules(
    clerk_alice: User, handler_bob: User
) -> None:
    case_id = accepted(clerk_alice, handler_bob)

    r = english(page(handler_bob)).post(
        f"/desk/cases/{case_id}/act/request_extension/",
        {"request_extension-days": "31", "request_extension-reason": "情况复杂"},
        headers=HX,
    )

    assert "at most 30 days" in r.content.decode()
    assert not ExtensionRequest.objects.exists()


# --- registration -----------------------------------------------------------------------------


def test_a_clerk_registers_a_visit_with_its_receipt_date(clerk_alice: User) -> None:
    r = page(clerk_alice).post(
        "/desk/register/",
        {
            "channel": "visit",
            "received_on": "2026-11-20",
            "title": "供暖不足",
            "content": "小区冬季供暖温度不达标。",
            "category": "claim",
            "name": "李四",
            "people_count": "1",
        },
    )

    case = Case.objects.get(title="供暖不足")
    assert r.status_code == 303 and r["Location"] == f"/desk/cases/{case.pk}/"
    assert (case.channel, case.received_on, case.org.code) == ("visit", D(2026, 11, 20), "K-XF")


def test_registration_shows_the_petitioners_access_key_once(clerk_alice: User) -> None:
    client = english(page(clerk_alice))
    r = client.post(
        "/desk/register/",
        {
            "channel": "letter",
            "received_on": "2026-11-20",
            "title": "供暖不足",
            "content": "小区冬季供暖温度不达标。",
            "name": "李四",
            "people_count": "1",
        },
        follow=True,
    )

    html = r.content.decode()
    key = re.search(r"Access key for the petitioner: ([0-9A-Z]{12})", html)
    assert key, html[:2000]
    case = Case.objects.get(title="供暖不足")
    # The key shown is the one that opens the case on the portal (and only its hash is stored).
    assert case.access_key_hash == hash_access_key(key.group(1))
    assert key.group(1) not in client.get(f"/desk/cases/{case.pk}/").content.decode()


def test_registration_refusals_show_on_the_form(clerk_alice: User) -> None:
    r = english(page(clerk_alice)).post(
        "/desk/register/",
        {
            "channel": "letter",
            "received_on": "2026-12-01",
            "title": "t",
            "content": "c",
            "name": "李四",
            "people_count": "1",
        },
    )

    assert r.status_code == 400
    assert "future" in r.content.decode()
    assert not Case.objects.exists()


def test_supervisors_do_not_register(supervisor_carol: User) -> None:
    assert page(supervisor_carol).get("/desk/register/").status_code == 403


# --- the board --------------------------------------------------------------------------------


def test_the_board_shows_overdue_cases_by_organ(clerk_alice: User, supervisor_carol: User) -> None:
    late, _tn, _key = register(clerk_alice, received_on="2026-10-01")
    deadlines_sweep()

    r = page(supervisor_carol).get("/desk/board/")

    assert r.status_code == 200
    assert [row["org__code"] for row in r.context["by_org"]] == ["K-XF"]
    assert r.context["by_org"][0]["overdue"] == 1
    assert [case.pk for case, _due in r.context["overdue"]] == [late]


def test_clerks_do_not_open_the_board(clerk_alice: User) -> None:
    assert page(clerk_alice).get("/desk/board/").status_code == 403


# --- query counts -----------------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
        if getattr(r, "streaming", False):
            b"".join(r.streaming_content)
    assert r.status_code == 200
    return len(ctx.captured_queries)


# A handler's page: session (1), user (1), the open clocks due soon (1), one capped count per list
# of the role (6), the page (1), the next due dates of its rows (1); topics and organisations come
# from per-process memos, and the session is rewritten only every 5 minutes (core/sessions.py);
# the unread supervision notifications in the navigation (1).
LIST_QUERIES = 11
# The case page: 13, plus 1 for its notices (their deliveries cost one more only when there are
# notices; tests/test_notices_desk.py pins that their number does not matter), 1 for the unread
# notifications in the navigation, and 2 for the routing assistance: the kept suggestions, and
# the near-duplicate index catching up (at most once a second in a server; on every lookup in the
# tests, tests/conftest.py).
CASE_QUERIES = 17


def test_the_work_list_costs_the_same_queries_for_one_case_and_for_many(
    clerk_alice: User, handler_bob: User
) -> None:
    client = page(handler_bob)
    routed(clerk_alice)
    client.get("/desk/")  # warm the per-process memos (org tree, topics)
    url = "/desk/?list=all&q=学位&sort=due"

    one = _queries(client, url)
    for i in range(12):
        routed(clerk_alice, content=f"学位来信{i}")
    many = _queries(client, url)

    assert one == many == LIST_QUERIES


def test_the_case_page_costs_the_same_queries_however_long_its_history(
    clerk_alice: User, handler_bob: User
) -> None:
    client = page(handler_bob)
    few = routed(clerk_alice, petitioners=[{"name": "甲"}])
    long = routed(
        clerk_alice, content="另一件", petitioners=[{"name": n} for n in ("甲", "乙", "丙", "丁")]
    )
    # Both have a link (to each other); the long one has more petitioners and events.
    services.case_link(case_id=long, actor=clerk_alice, other_id=few, relation="related")
    for case_id in (few, long):
        services.case_assign(case_id=case_id, actor=handler_bob, username="bob")
    client.get(f"/desk/cases/{few}/")

    assert _queries(client, f"/desk/cases/{few}/") == CASE_QUERIES
    assert _queries(client, f"/desk/cases/{long}/") == CASE_QUERIES


def test_long_lists_are_counted_up_to_the_cap_and_paged_within_it(
    clerk_alice: User, handler_bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petitiondesk.cases import worklists
    from petitiondesk.web.desk import views

    monkeypatch.setattr(worklists, "COUNT_CAP", 3)
    monkeypatch.setattr(worklists, "PAGE_SIZE", 2)
    monkeypatch.setattr(views, "COUNT_CAP", 3)
    for i in range(5):
        routed(clerk_alice, content=f"学位来信{i}")

    r = page(handler_bob).get("/desk/?list=all")

    assert r.context["tabs"][-1][2] == 4  # counting stopped at cap + 1
    assert r.context["page"].capped and r.context["page"].pages == 2
    html = r.content.decode()
    assert ">3+<" in html
    last = page(handler_bob).get("/desk/?list=all&page=9")
    assert last.context["page"].number == 2 and len(last.context["rows"]) == 1


def test_the_timeline_speaks_the_pages_language(clerk_alice: User, handler_bob: User) -> None:
    case_id = routed(clerk_alice)

    html = page(handler_bob).get(f"/desk/cases/{case_id}/").content.decode()

    # The route event: "sent to" and the organisation's name, not "to org K-EDU".
    assert "送往" in html and "示范县教育局" in html
    assert "to org" not in html and "信访渠道" in html
