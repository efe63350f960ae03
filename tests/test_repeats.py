"""Repeat matching at intake (issue 6): near-duplicates by anyone, the same petitioner's matter,
the finality and same-matter-pending flags, repeat petitioners by keyed identifiers, and the index
that survives a restart and rebuilds to the same answers."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.utils import translation

from petitiondesk.cases.models import Case, CaseLink, Petitioner
from petitiondesk.cli import main
from petitiondesk.routing import similarity
from petitiondesk.routing.identity import identity_keys, normal_phone
from tests.conftest import letter, login_verified
from tests.test_api_verbs import Desk

FINAL_FACTS = "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。"
# The same complaint told again in other words, as petitioners do after a final decision.
RETOLD = (
    "再次反映：我家孩子户籍在本学区，却被分配到十公里外的学校上学，"
    "请求重新分配学位，希望有关部门重视。"
)
OTHER_MATTER = "小区楼下烧烤店每晚营业到凌晨两点，油烟和噪音严重影响居民休息，请求依法整治。"
STRANGER = {"name": "李四", "phone": "13911112222", "id_number": "990101199002020022"}


@pytest.fixture
def desk(
    api_as: Any,
    clerk_alice: Any,
    handler_bob: Any,
    handler_frank: Any,
    handler_grace: Any,
) -> Desk:
    """Alice registers at the county petition bureau; bob (education bureau), frank (county) and
    grace (city) take the steps of the ladder (as in tests/test_api_verbs.py)."""
    return Desk(
        api_as, alice=clerk_alice, bob=handler_bob, frank=handler_frank, grace=handler_grace
    )


def submit(desk: Desk, **overrides: Any) -> dict[str, Any]:
    body = letter(received_on="2026-11-26", **overrides)
    r = desk.alice.post("/petitions", body)
    assert r.status_code == 201, r.content
    return r.json()


@pytest.fixture
def final_case(desk: Desk) -> Case:
    case_id = desk.drive("decide_rereview")
    case = Case.objects.get(pk=case_id)
    assert case.status == Case.Status.FINAL
    return case


def test_a_retold_matter_of_a_finally_decided_petitioner_is_flagged_final(desk, final_case):
    body = submit(desk, content=RETOLD, to_org="K-EDU")

    assert body["flags"] == [
        {
            "kind": "final",
            "case_id": final_case.pk,
            "tracking_number": final_case.tracking_number,
            "status": "final",
            "org": final_case.org.code,
        }
    ]
    (dup,) = [d for d in body["duplicates"] if d["id"] == final_case.pk]
    assert dup["relation"] == "same_matter"
    assert "same_petitioner" in dup["basis"] and "similar_text" in dup["basis"]
    assert 0.3 <= dup["score"] < 1.0
    # The case page says the same, and the clerk declines it in one step with reason `final`.
    page = desk.bob.get(f"/petitions/{body['id']}").json()
    assert [f["kind"] for f in page["flags"]] == ["final"]
    declined = desk.bob.act(body["id"], "decline", reason_code="final", reason="已三级终结")
    assert declined.status_code == 200, declined.content
    assert declined.json()["status"] == "not_accepted"


def test_accepting_a_flagged_final_matter_is_refused_unless_new_facts_are_recorded(
    desk, final_case
):
    body = submit(desk, content=RETOLD, to_org="K-EDU")

    refused = desk.bob.act(body["id"], "accept", claim_route=6)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "final"
    accepted = desk.bob.act(body["id"], "accept", claim_route=6, new_facts="学区已于11月调整。")
    assert accepted.status_code == 200, accepted.content


def test_the_same_text_from_another_petitioner_is_a_duplicate_not_a_final_matter(desk, final_case):
    body = submit(desk, content=final_case.content, to_org="K-EDU", petitioners=[STRANGER])

    assert body["flags"] == []
    (dup,) = [d for d in body["duplicates"] if d["id"] == final_case.pk]
    assert dup == {
        "id": final_case.pk,
        "score": 1.0,
        "relation": "duplicate",
        "basis": ["same_text"],
    }
    assert not CaseLink.objects.filter(case_id=body["id"], relation="same_matter").exists()
    assert desk.bob.act(body["id"], "accept", claim_route=6).status_code == 200


def test_another_matter_of_the_same_petitioner_is_not_flagged(desk, final_case):
    body = submit(desk, title="烧烤店噪音扰民", content=OTHER_MATTER, to_org="K-EDU")

    assert body["flags"] == []
    assert body["duplicates"] == []
    assert not CaseLink.objects.filter(case_id=body["id"]).exists()


def test_the_same_matter_brought_higher_while_pending_is_flagged_and_refused(desk):
    pending_id = desk.drive("accept")  # accepted by the education bureau K-EDU
    body = submit(desk, content=RETOLD, to_org="K")

    assert [(f["kind"], f["case_id"]) for f in body["flags"]] == [
        ("same_matter_pending", pending_id)
    ]
    refused = desk.frank.act(body["id"], "accept", claim_route=6)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "same_matter_pending"


def test_a_repeat_petitioner_is_found_by_a_differently_written_phone_number(desk, final_case):
    petitioner = {"name": "王小明", "phone": "+86 138-0000-0000"}  # no ID number this time
    body = submit(desk, content=RETOLD, to_org="K-EDU", petitioners=[petitioner])

    assert [f["kind"] for f in body["flags"]] == ["final"]


def test_identifiers_are_compared_as_keyed_hashes_not_kept_twice_in_clear(desk):
    case_id = desk.register()
    p = Petitioner.objects.get(case_id=case_id)

    keys = {p.phone_key, p.id_key}
    assert all(len(k) == 64 for k in keys)
    assert not any(v in k for k in keys for v in ("13800000000", "990101198001010011"))
    assert identity_keys(phone="0086 13800000000")["phone_key"] == p.phone_key
    assert identity_keys(id_number="990101198001010011")["id_key"] == p.id_key
    assert identity_keys(email=" Wang@Example.COM ") == identity_keys(email="wang@example.com")
    assert normal_phone("123") == ""  # too short to identify anyone


def test_the_index_survives_a_restart_and_a_rebuild_gives_the_same_answers(desk):
    texts = [RETOLD, OTHER_MATTER, "道路积水严重，雨天无法通行，请求尽快修缮排水设施。"]
    for i, text in enumerate(texts * 2):
        desk.register(
            content=f"{text}（第{i}次）", petitioners=[{**STRANGER, "phone": f"1390000{i:04d}"}]
        )

    def answers() -> list[list[tuple[int, float]]]:
        index = similarity.fresh_index()
        return [
            index.query(similarity.hasher().signature(t), limit=10, min_score=0.2) for t in texts
        ]

    before = answers()
    assert all(len(a) >= 2 for a in before)
    similarity.save(force=True)
    similarity.reset()  # a new process: the saved copy is loaded
    assert answers() == before
    similarity.rebuild()
    assert answers() == before


def test_index_commands(desk, capsys):
    case_id = desk.register(content=RETOLD)
    desk.register(content=RETOLD + "补充。", petitioners=[STRANGER])
    tracking = Case.objects.get(pk=case_id).tracking_number

    with translation.override("en"):
        assert main(["index", "rebuild", "--quiet"]) == 0
        assert "index rebuilt: 2 cases" in capsys.readouterr().out
        assert main(["index", "status", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["cases"] == 2
        assert main(["index", "similar", tracking]) == 0
        out = capsys.readouterr().out
        assert tracking not in out and "(id" in out
        assert main(["index", "similar", "XF-NO-SUCH"]) == 2
        assert "no case XF-NO-SUCH" in capsys.readouterr().err


def test_the_case_page_shows_the_flag_and_declines_as_final_in_one_step(desk, final_case, client):
    body = submit(desk, content=RETOLD, to_org="K-EDU")
    login_verified(client, desk.users["bob"])
    client.cookies["django_language"] = "en"

    with translation.override("en"):
        page = client.get(f"/desk/cases/{body['id']}/").content.decode()
        assert "finally decided in" in page and "Decline as final" in page
        assert "same petitioner" in page  # the grounds of the link
        form = re.search(r'name="decline-reason" value="([^"]+)"', page)
        assert form is not None
        r = client.post(
            f"/desk/cases/{body['id']}/act/decline/",
            {"decline-reason_code": "final", "decline-reason": html.unescape(form.group(1))},
        )
    assert r.status_code == 303, r.content
    case = Case.objects.get(pk=body["id"])
    assert case.status == Case.Status.NOT_ACCEPTED
    assert case.events.get(verb="decline").payload["reason_code"] == "final"


def test_a_case_committed_late_below_the_high_water_mark_is_found_by_the_scheduler(desk):
    first = desk.register(content=RETOLD, petitioners=[STRANGER])
    similarity.fresh_index()
    # Another process indexed a higher id whose transaction committed before this case's did.
    similarity._loaded().high_water = first + 10
    late = desk.register(content=OTHER_MATTER, petitioners=[STRANGER])
    assert late < first + 10

    signature = similarity.hasher().signature(similarity.case_text("", OTHER_MATTER))
    assert late not in dict(similarity.fresh_index().query(signature, min_score=0.3))
    similarity.maintain()
    assert late in dict(similarity.fresh_index().query(signature, min_score=0.3))
