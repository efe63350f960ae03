"""Routing suggestions at intake (issue 6): the top three of each trained classifier in the submit
response, on the registration form and the case page; what staff chose is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import translation

from petitiondesk.routing import modelstore
from petitiondesk.routing.advice import hit_rates
from petitiondesk.routing.models import RoutingAdvice
from petitiondesk.routing.textmodel import TextClassifier
from tests.conftest import letter, login_verified

SCHOOL = [
    "孩子入学学位分配不合理，户籍在本学区却被分到远处学校",
    "学校乱收费，要求家长购买指定教辅资料",
    "幼儿园学位紧张，适龄儿童无法就近入园",
    "中学课后服务收费不透明，请求教育局核查",
    "教师体罚学生，请求教育部门调查处理",
    "学区划分调整后孩子无法入读对口小学",
]
HOUSING = [
    "小区物业擅自提高物业费，业主不同意",
    "楼顶漏水多次报修物业不处理",
    "开发商延期交房，购房合同约定的日期早已过去",
    "小区电梯经常故障，物业维修不及时",
    "保障性住房分配不公，请求住建部门核查",
    "老旧小区改造施工扰民，噪音严重",
]


@pytest.fixture
def org_model(tmp_path: Any, monkeypatch: Any) -> None:
    """An `org` classifier that sends school matters to the education bureau and housing matters
    to the housing bureau, stored as the deployment's current `org` model."""
    monkeypatch.setattr(modelstore, "models_dir", lambda: tmp_path / "models")
    modelstore.forget_loaded()
    # Each matter as a title and as a letter (a model needs 20 labelled texts at least).
    rows = [[t, t] for t in SCHOOL + HOUSING] + [
        [t[:8], f"{t}，请求处理。"] for t in SCHOOL + HOUSING
    ]
    labels = (["K-EDU"] * len(SCHOOL) + ["K-HOUSING"] * len(HOUSING)) * 2
    model = TextClassifier(fields=2).fit(rows, labels)
    modelstore.save(
        "org",
        model,
        data={"source": "test"},
        evaluation=None,
        text_columns=["title", "content"],
        label_column="org",
        trained_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
    )
    yield
    modelstore.forget_loaded()


def test_staff_submissions_get_the_top_routes_and_the_route_taken_is_recorded(
    org_model, api_as, clerk_alice
):
    alice = api_as(clerk_alice)
    body = letter(
        title="物业费上涨", content="小区物业擅自提高物业费，多次协商无果，请求住建部门处理。"
    )
    r = alice.post("/petitions", body)
    assert r.status_code == 201, r.content
    out = r.json()

    routes = out["suggested_routes"]
    assert [x["org"] for x in routes] == ["K-HOUSING", "K-EDU"]
    assert routes[0]["confidence"] > routes[1]["confidence"]
    assert out["suggestions"]["org"][0]["value"] == "K-HOUSING"
    assert "category" not in out["suggestions"]  # no category model trained
    advice = RoutingAdvice.objects.get(case_id=out["id"])
    assert advice.chosen == {}

    routed = alice.act(out["id"], "route", to_org="K-EDU")
    assert routed.status_code == 200, routed.content
    advice.refresh_from_db()
    assert advice.chosen == {"org": "K-EDU"}
    assert hit_rates()["org"] == {"decided": 1, "top1": 0.0, "top3": 1.0}


def test_the_public_is_not_told_routing_suggestions(org_model, api_as, org_tree):
    body = letter(content="小区电梯经常故障，物业维修不及时。", channel="web")
    for key in ("received_on", "petitioners"):
        body.pop(key)
    body["anonymous"] = True
    r = api_as().post("/petitions", body)
    assert r.status_code == 201, r.content
    assert r.json()["suggested_routes"] == [] and r.json()["suggestions"] == {}
    assert not RoutingAdvice.objects.exists()


def test_without_a_model_there_is_no_suggestion(api_as, clerk_alice, tmp_path, monkeypatch):
    monkeypatch.setattr(modelstore, "models_dir", lambda: tmp_path / "none")
    modelstore.forget_loaded()
    r = api_as(clerk_alice).post("/petitions", letter())
    assert r.json()["suggested_routes"] == [] and r.json()["suggestions"] == {}


def test_the_registration_form_and_the_case_page_show_the_suggestions(
    org_model, client, clerk_alice
):
    login_verified(client, clerk_alice)
    client.cookies["django_language"] = "en"
    with translation.override("en"):
        r = client.post(
            "/desk/routing/suggest/", {"title": "学校乱收费", "content": "要求家长购买教辅资料"}
        )
        assert r.status_code == 200
        page = r.content.decode()
        assert 'data-suggest-field="to_org" data-suggest-value="K-EDU"' in page
        assert page.index("K-EDU") < page.index("K-HOUSING")

        register = client.get("/desk/register/").content.decode()
        assert "/desk/routing/suggest/" in register and "web/suggest.js" in register

        r = api_post_case(clerk_alice)
        case_page = client.get(f"/desk/cases/{r}/").content.decode()
        assert "Routing assistance" in case_page and "Suggested classification" in case_page


def api_post_case(user: Any) -> int:
    from tests.conftest import Api

    r = Api(user).post("/petitions", letter(content="幼儿园学位紧张，孩子无法就近入园。"))
    assert r.status_code == 201, r.content
    return int(r.json()["id"])
