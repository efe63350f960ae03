"""Hotspots: clusters of similar petitions ranked by the documented heat score
(petitiondesk/analytics/hotspots.py, docs/governance.md)."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from petitiondesk.analytics.hotspots import (
    Message,
    case_messages,
    district_of,
    find_hotspots,
    heat_components,
    places_in,
)
from petitiondesk.cli import main

TIPDM = Path("/work/shared/data/tipdm2020c/messages-hotspots.xlsx")
DAY = dt.datetime(2026, 11, 2, 9, 0)

PLANTED = [
    "A2区丽发新城附近修建搅拌站，噪音灰尘扰民",
    "投诉丽发新城小区旁搅拌站夜间施工噪音",
    "A2区丽发新城搅拌站灰尘污染严重",
    "丽发新城小区附近违建搅拌站噪音扰民",
    "A2区丽发新城搅拌站彻夜施工，居民无法入睡",
    "再次投诉丽发新城附近搅拌站噪音",
]
SMALLER = [
    "A7县凉塘路旧城改造何时动工",
    "A7县凉塘路的旧城改造要拖到何时",
    "凉塘路旧城改造什么时候启动",
]
NOISE = [
    "咨询新生儿落户需要哪些材料",
    "公交409线路发车间隔太长",
    "A5区某超市销售过期食品",
    "医保异地结算如何办理",
    "A3区学士街道路灯不亮",
    "养老保险补缴政策咨询",
    "小学入学学区划分问题",
    "出租车拒载乘客投诉",
]


def msg(i: int, title: str, *, who: str | None = None, days: int = 0, likes: int = 0) -> Message:
    return Message(
        id=str(i),
        title=title,
        body=title,
        at=DAY + dt.timedelta(days=days),
        petitioner=who if who is not None else f"u{i}",
        support=likes,
    )


def sample() -> list[Message]:
    out = [msg(i, t, days=i) for i, t in enumerate(PLANTED)]
    out += [msg(100 + i, t, days=i) for i, t in enumerate(SMALLER)]
    out += [msg(200 + i, t, days=i) for i, t in enumerate(NOISE)]
    # One person writing the same complaint five times: a repeat petition, not a hotspot.
    out += [msg(300 + i, "我家房屋漏水物业不修", who="same-person") for i in range(5)]
    return out


def test_the_planted_cluster_comes_first_with_all_its_messages() -> None:
    hotspots = find_hotspots(sample(), top=5)
    assert {m.id for m in hotspots[0].messages} == {str(i) for i in range(len(PLANTED))}
    assert hotspots[0].place.startswith("丽发新城")
    assert hotspots[0].district == "A2区"
    assert {m.id for m in hotspots[1].messages} == {"100", "101", "102"}


def test_one_persons_repeated_messages_are_no_hotspot() -> None:
    ids = {m.id for h in find_hotspots(sample(), top=20) for m in h.messages}
    assert not ids & {str(300 + i) for i in range(5)}
    assert not ids & {str(200 + i) for i in range(len(NOISE))}


def test_heat_is_the_documented_sum_of_its_terms() -> None:
    members = [msg(1, "X小区噪音", likes=3), msg(2, "X小区噪音", likes=4), msg(3, "X小区噪音")]
    window = (DAY - dt.timedelta(days=120), DAY + dt.timedelta(days=3))
    terms = heat_components(members, window=window)
    recent, expected = 3, 3 * 30 / 123  # all three in the last 30 days of a 123-day window
    growth = min(2.0, math.log((recent + 1) / (expected + 1)))
    assert terms == pytest.approx(
        {
            "petitioners": math.log(4),
            "repeats": 0.0,
            "support": 0.5 * math.log(8),
            "growth": 0.5 * growth,
            "spread": 0.0,
        }
    )


def test_public_support_raises_a_cluster_above_an_equal_one() -> None:
    a = [msg(i, f"幸福小区电梯故障{i}", likes=0) for i in range(3)]
    b = [msg(10 + i, f"阳光花园垃圾清运{i}", likes=50) for i in range(3)]
    hotspots = find_hotspots(a + b, top=2)
    assert [h.place for h in hotspots] == ["阳光花园", "幸福小区"]
    assert hotspots[0].heat > hotspots[1].heat


def test_places_are_found_in_petition_titles() -> None:
    assert places_in("A3区西湖街道茶场村五组什么时候能启动征地拆迁") == ["西湖街道", "茶场村"]
    assert places_in("投诉A2区丽发新城附近建搅拌站噪音扰民") == ["丽发新城"]
    assert places_in("A市58车贷老板跑路美国") == []
    assert district_of("反映A7县春华镇金鼎村水泥路的问题") == "A7县"
    assert district_of("A市远鑫尚细时隐瞒垃圾站距离居民区很近") == ""


def test_cases_of_the_deployment_serve_as_messages(clerk_alice: Any, capsys: Any) -> None:
    from petitiondesk.intake.services import PetitionerData, Submission, petition_submit

    for i, title in enumerate(PLANTED + NOISE):
        petition_submit(
            submission=Submission(
                title=title,
                content=title + "，请求处理。",
                category="claim",
                division_code="990101",
                channel="letter",
                received_on=dt.date(2026, 11, 2 + i),
                location="丽发新城" if i < len(PLANTED) else "",
                topic="environment" if i < len(PLANTED) else "",
                petitioners=[PetitionerData(name="居民", phone=f"138000000{i:02d}")],
            ),
            actor=clerk_alice,
        )
    messages = case_messages(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert len(messages) == len(PLANTED + NOISE)
    assert {m.petitioner for m in messages} == {f"138000000{i:02d}" for i in range(14)}
    [hotspot] = find_hotspots(messages, top=3)
    assert (hotspot.place, hotspot.district, hotspot.topic) == ("丽发新城", "990101", "environment")
    assert len(hotspot.messages) == len(PLANTED)
    assert main(["hotspots", "--period", "2026-11", "--org", "K-XF", "--json", "--quiet"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["count"] == len(PLANTED) and listed["place"] == "丽发新城"
    assert main(["hotspots", "--period", "2026-10", "--quiet"]) == 0
    assert capsys.readouterr().out == "no hotspots among 0 messages\n"


def test_the_command_on_a_missing_file_says_so(capsys: Any) -> None:
    assert main(["hotspots", "--data", "/nonexistent.xlsx", "--quiet"]) == 2
    assert "hotspots: error: " in capsys.readouterr().err


@pytest.mark.skipif(not TIPDM.is_file(), reason=f"shared data set absent: {TIPDM}")
def test_the_command_finds_hotspots_in_the_real_messages_within_a_minute(capsys: Any) -> None:
    # CPU time, not wall time: the shared test machine's load must not fail the test.
    started = time.process_time()
    assert main(["hotspots", "--data", str(TIPDM), "--top", "5", "--json", "--quiet"]) == 0
    elapsed = time.process_time() - started
    hotspots = json.loads(capsys.readouterr().out)
    assert len(hotspots) == 5
    assert all(h["count"] >= 2 and len(h["messages"]) == h["count"] for h in hotspots)
    assert [h["heat"] for h in hotspots] == sorted((h["heat"] for h in hotspots), reverse=True)
    # The two matters the competition's own hotspot answers lead with.
    titles = " ".join(t for h in hotspots[:2] for t in h["titles"])
    assert "丽发新城" in titles and "伊景园" in titles
    assert elapsed < 60
