"""The demo: a fictional province, its organs and staff, and a few hundred petitions at every stage.

Everything is written by the project's own services (`orgs_load`, `user_add`, `petition_submit`
and the case verbs), so the demo data obeys the same rules as real data: each step is dated in the
past (`effective_on`, `received_on`, `delivered_on`) and the overdue sweep runs at the end.

The place names (江南省, 青禾市, 云溪县, 石桥县), division codes (99xxxx), people, phone numbers
(1380000xxxx) and ID numbers are invented. Texts are composed from templates in this module.
Given the seed the plan is deterministic; tracking numbers and access keys are drawn by the intake
service from `secrets` and differ between runs.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.services import orgs_load, otp_required, token_create, user_add
from petitiondesk.calendar.sources import current_calendar
from petitiondesk.cases import services as cs
from petitiondesk.cases.models import Case, Deadline
from petitiondesk.core import clock
from petitiondesk.core.errors import DomainError, InvalidInput
from petitiondesk.intake.services import (
    PetitionerData,
    Submission,
    content_fingerprint,
    petition_submit,
)
from petitiondesk.reference.services import divisions_load
from petitiondesk.supervision.services import deadlines_sweep

DEMO_PASSWORD = "petition-demo-2026"
# The demo's one authenticator key for every account whose role needs a second factor. Printed in
# the summary: demo data only, never a real deployment's.
DEMO_TOTP_KEY = "7065746974696f6e6465736b2d64656d6f2d6b6579"[:40]
DEMO_URL = "http://127.0.0.1:8000/"
SPREAD_DAYS = 150  # received dates spread over about five months before today


class DemoError(RuntimeError):
    """A step of the demo plan was refused: a bug in the plan, not something to skip."""


# --- the org tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    code: str  # org code prefix of its government, e.g. YX
    name: str
    level: str
    division: str
    parent: str | None
    towns: tuple[str, ...]
    communities: tuple[str, ...]
    villages: tuple[str, ...]
    roads: tuple[str, ...]
    schools: tuple[str, ...]
    hospitals: tuple[str, ...]
    rivers: tuple[str, ...]
    court: str


PROVINCE = Place(
    "JN", "江南省", "province", "990000", None,
    ("省城",), ("省城花园",), ("省郊村",), ("江南大道",), ("江南省实验中学",),
    ("江南省人民医院", "江南医科大学附属医院"), ("江南运河",), "江南省高级人民法院",
)  # fmt: skip
CITY = Place(
    "QH", "青禾市", "city", "990100", "JN",
    ("青禾街道", "城东街道", "新港街道", "滨江街道"),
    ("滨江华庭", "翡翠城", "世纪花园", "青禾名都", "港湾新村"),
    ("城东村", "北郊村", "江湾村"),
    ("青禾大道", "中山路", "新港路", "环城北路"),
    ("青禾市实验学校", "青禾市第三中学", "青禾外国语学校", "新港路小学"),
    ("青禾市第一人民医院", "青禾市中心医院", "青禾市中医院"),
    ("青禾江", "新港河"),
    "青禾市中级人民法院",
)  # fmt: skip
COUNTIES = (
    Place(
        "YX", "云溪县", "county", "990101", "QH",
        ("城关镇", "白沙镇", "柳塘乡", "桃源镇", "东坪乡"),
        ("幸福里小区", "锦绣花园", "阳光新城", "翠湖苑", "溪畔人家"),
        ("李家村", "杨柳村", "石门村", "河西村", "上塘村"),
        ("云溪大道", "解放路", "滨河路", "县道X203"),
        ("云溪县实验小学", "云溪县第二中学", "城关镇中心小学", "白沙镇初级中学"),
        ("云溪县人民医院", "云溪县中医院"),
        ("云溪河", "白沙河"),
        "云溪县人民法院",
    ),
    Place(
        "SQ", "石桥县", "county", "990102", "QH",
        ("石桥镇", "枫林镇", "龙口乡", "南湖镇", "新田乡"),
        ("金桂园", "和平社区", "东湖家园", "枫林雅苑", "南湖春晓"),
        ("王庄村", "龙潭村", "黄土岭村", "新塘村", "坝头村"),
        ("石桥路", "人民路", "南湖大道", "县道X117"),
        ("石桥县第一小学", "石桥县实验中学", "南湖镇中学", "枫林镇中心小学"),
        ("石桥县人民医院", "石桥县妇幼保健院"),
        ("龙口河", "南湖"),
        "石桥县人民法院",
    ),
)  # fmt: skip
PLACES = {p.code: p for p in (PROVINCE, CITY, *COUNTIES)}

# Functional bureaus: code suffix -> (name at city/county level, name at province level).
BUREAUS = {
    "EDU": ("教育局", "教育厅"),
    "HOUSING": ("住房和城乡建设局", "住房和城乡建设厅"),
    "HRSS": ("人力资源和社会保障局", "人力资源和社会保障厅"),
    "HEALTH": ("卫生健康委员会", "卫生健康委员会"),
    "MEDINS": ("医疗保障局", "医疗保障局"),
    "ECO": ("生态环境局", "生态环境厅"),
    "TRANSPORT": ("交通运输局", "交通运输厅"),
    "MARKET": ("市场监督管理局", "市场监督管理局"),
}
PROVINCE_BUREAUS = ("EDU", "HOUSING", "HRSS")  # the province keeps a few, without demo staff


def route_target(plan: Plan, verb: str, responsible: str, rng: random.Random) -> tuple[str, str]:
    """Where a plan's routing step sends the case, and in which mode (the demo and the bench
    generator replay the same plans)."""
    to = responsible
    if verb == "route_wrong":
        wrong = [b for b in BUREAUS if not responsible.endswith(b)]
        to = f"{responsible.split('-')[0]}-{rng.choice(wrong)}"
    mode = "forward"
    if plan.kind in ("accusation", "party"):
        mode = "to_discipline"
    elif plan.kind == "litigation":
        mode = "to_political_legal"
    elif plan.urgent:
        mode = "report_urgent"
    elif plan.assign:
        mode = "assign"
    return to, mode


def division_records() -> list[dict[str, str | None]]:
    """The demo's places as administrative divisions, for the forms' division picker."""
    by_code = {p.code: p for p in (PROVINCE, CITY, *COUNTIES)}
    return [
        {
            "code": p.division,
            "name": p.name,
            "level": p.level,
            "parent": by_code[p.parent].division if p.parent else None,
        }
        for p in (PROVINCE, CITY, *COUNTIES)
    ]


def org_records() -> list[dict[str, str]]:
    """The demo org tree for `orgs_load`: each level's government is the parent of its bureaus."""
    recs: list[dict[str, str]] = []
    for place in (PROVINCE, CITY, *COUNTIES):
        gov, div, lvl = place.code, place.division, place.level

        def add(
            code: str, name: str, kind: str, parent: str | None, *, d: str = div, lv: str = lvl
        ) -> None:
            rec = {"code": code, "name": name, "kind": kind, "level": lv, "division_code": d}
            if parent:
                rec["parent"] = parent
            recs.append(rec)

        add(gov, f"{place.name}人民政府", "organ", place.parent)
        add(f"{gov}-XF", f"{place.name}信访局", "petition_department", gov)
        bureaus = PROVINCE_BUREAUS if place is PROVINCE else tuple(BUREAUS)
        for suffix in bureaus:
            label = BUREAUS[suffix][1 if place is PROVINCE else 0]
            add(f"{gov}-{suffix}", f"{place.name}{label}", "organ", gov)
        # Discipline and political-legal bodies answer to their own superiors, not to the
        # government: an accusation against a government must still be able to reach them.
        upper = place.parent
        add(f"{gov}-JW", f"{place.name}纪委监委", "discipline", f"{upper}-JW" if upper else None)
        party = "中共" + (place.name[:-1] + "省委" if place is PROVINCE else place.name + "委")
        add(
            f"{gov}-ZFW", f"{party}政法委员会", "political_legal", f"{upper}-ZFW" if upper else None
        )
    return recs


# --- people and texts -------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万"
)
GIVEN_TWO = [
    "建国",
    "秀英",
    "桂兰",
    "志强",
    "海燕",
    "国强",
    "丽华",
    "文明",
    "玉梅",
    "德福",
    "春生",
    "红霞",
    "建华",
    "淑珍",
    "永红",
    "立新",
    "玉兰",
    "志刚",
    "美玲",
    "晓东",
    "金凤",
    "俊杰",
    "雪梅",
    "振华",
    "桂芳",
    "海涛",
    "明亮",
    "佳怡",
    "子涵",
    "浩然",
    "欣怡",
    "宇航",
    "思远",
    "梓萱",
    "晨曦",
    "家豪",
    "秋菊",
    "长青",
    "福生",
    "翠萍",
    "保国",
    "月娥",
    "新民",
    "小军",
    "凤英",
    "志华",
]
GIVEN_ONE = "伟芳敏静磊洋勇军杰娟涛明超霞平刚燕辉鹏华玲斌丹琳强"


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN_TWO) if rng.random() < 0.7 else rng.choice(GIVEN_ONE)
    return rng.choice(SURNAMES) + given


COMPANY_WORDS = (
    "宏达", "鑫源", "恒泰", "瑞丰", "华兴", "永盛", "金阳", "鼎盛", "嘉和", "顺通", "广厦",
)  # fmt: skip
TRADES = ("钢筋工", "木工", "泥瓦工", "水电工", "架子工", "油漆工")
DISEASES = ("糖尿病", "高血压", "慢性肾病", "冠心病", "类风湿关节炎", "慢性阻塞性肺病")
PRODUCTS = ("牛奶", "速冻水饺", "面包", "火腿肠", "婴儿米粉", "食用油")
MATTERS = ("违规发放补贴", "工作失职", "违规使用公车", "违规收受礼金")
INDUSTRIES = ("机械", "纺织", "电子")
SHOPS = ("烧烤店", "酒吧", "KTV", "棋牌室", "健身房")
SCENIC = ("云溪峡谷", "石桥古镇", "南湖湿地公园", "青禾山")
PERMITS = ("施工许可证", "商品房预售许可", "竣工验收备案")

# Opening and closing phrases: letters are written to "领导" and end with a plea.
OPENERS = ("", "", "尊敬的领导：", "领导您好！", "尊敬的信访局领导：", "各位领导：")
CLOSERS = (
    "",
    "盼复。",
    "恳请领导重视，尽快给予答复。",
    "希望政府能为我们老百姓做主。",
    "以上情况属实，请予以调查处理。",
    "谢谢！",
)


# Suggestions and questions are not complaints: they end politely, not with a plea.
KIND_CLOSERS = {
    "suggestion": ("", "谢谢！", "以上建议供领导参考。"),
    "consult": ("", "谢谢！", "盼复。"),
}


@dataclass(frozen=True)
class Variant:
    """One story of a theme: its titles, its opening fact and the details that fit it."""

    titles: tuple[str, ...]
    fact: str
    details: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()


def _v(
    titles: str | tuple[str, ...],
    fact: str,
    details: tuple[str, ...] = (),
    asks: tuple[str, ...] = (),
) -> Variant:
    return Variant((titles,) if isinstance(titles, str) else titles, fact, details, asks)


@dataclass(frozen=True)
class Theme:
    """A kind of matter: who handles it, and stories to compose its title and content from."""

    key: str
    kind: str  # claim | accusation | suggestion | litigation | party | consult
    topic: str
    bureau: str  # suffix of the responsible body: a bureau, or JW / ZFW
    variants: tuple[Variant, ...]
    details: tuple[str, ...] = ()  # fit every variant
    asks: tuple[str, ...] = ()  # fit every variant
    group: bool = False  # often brought by a group
    divert: int | None = None  # a fitting Art. 31 route (1-5) when it is diverted
    accused: str | None = None  # the accused bureau (accusations)
    decline: str | None = None  # reason code when it is not accepted at intake


THEMES: tuple[Theme, ...] = (
    Theme(
        "wage_arrears", "claim", "labour_social_security", "HRSS",
        variants=(
            _v(
                ("{builder}拖欠农民工工资", "{workers}名农民工讨要{project}工资"),
                "我们是在{project}工地务工的{workers}名农民工，{start}进场施工，"
                "至今被{builder}拖欠工资共计{amount}元。",
                ("我们多次找项目负责人{boss}讨要，对方以开发商未拨付工程款为由一再推脱。",
                 "我们手里有考勤记录和工友签字的工资单，可以提供给调查人员。"),
            ),
            _v(
                ("讨要{project}务工工资", "包工头拖欠{trade}工资"),
                "本人{name}在{builder}承建的{project}做{trade}，从{start}干到{end}，"
                "工资{wage}元至今分文未结。",
                ("包工头{boss}的电话已经打不通，公司说工资早已拨给了包工头。",),
            ),
        ),
        details=("家里老人看病、孩子上学都等着这笔钱。", "眼看就要过年，大家连回家的路费都没有。"),
        asks=("恳请人社部门督促企业尽快支付拖欠的工资。", "请求有关部门依法查处，帮我们追回血汗钱。"),
        group=True, divert=2,
    ),
    Theme(
        "work_injury", "claim", "labour_social_security", "HRSS",
        variants=(
            _v(
                ("对工伤认定结论有异议", "请求重新认定工伤"),
                "本人{name}是{company}职工，{start}在车间操作设备时右手受伤，"
                "申请工伤认定后被决定不予认定。",
                ("单位称受伤时不在工作岗位，但同班组工友都可以作证。",),
                ("请求依法重新认定工伤并落实工伤保险待遇。",),
            ),
            _v(
                ("{company}不为职工申报工伤", "上班途中受伤单位拒报工伤"),
                "我丈夫{other}在{company}上班，{start}在上班途中发生交通事故，"
                "住院{days}天，单位至今不为他申报工伤。",
                ("交警部门已经认定对方负全部责任。",),
                ("请求人社部门督促单位依法申报工伤。",),
            ),
        ),
        details=("医疗费已经花了{amount}元，全部是家里借钱垫付。",),
        divert=4,
    ),
    Theme(
        "pension", "claim", "labour_social_security", "HRSS",
        variants=(
            _v(
                ("养老金核定有误", "视同缴费年限未计入养老金"),
                "本人{name}，原{company}职工，{start}办理退休，核定的月养老金为{pension}元，"
                "但我有{years}年的视同缴费年限没有被计算在内。",
                ("当年的招工表、工资花名册我都保存着，可以提供复印件。",),
                ("请求重新核定养老金待遇并补发差额。",),
            ),
            _v(
                ("城乡居民养老金迟迟未发放", "年满六十周岁养老金未发放"),
                "我母亲{start}年满六十周岁，已缴满十五年城乡居民养老保险，"
                "至今{months}个月了养老金还没有发放。",
                ("到{town}社保所问了多次，都说系统还在审核。",),
                ("请求尽快核发养老金并补发欠发部分。",),
            ),
        ),
        details=("老人没有其他收入，生活很困难。",),
        divert=4,
    ),
    Theme(
        "noise", "claim", "environment", "ECO",
        variants=(
            _v(
                ("{community}楼下{shop}噪音扰民", "商铺深夜经营噪音扰民"),
                "我住在{county}{town}{community}{building}栋，楼下{shop}自{start}开业以来，"
                "每天营业到凌晨，音响和排风机噪音很大。",
                ("我们多次与店主沟通无果，拨打热线后也只是短暂好转。",),
            ),
            _v(
                ("{community}附近工地夜间施工扰民", "{project}工地夜间违规施工"),
                "{community}旁边的{project}工地经常晚上十点以后还在施工，"
                "打桩机和渣土车通宵作业。",
                ("白天扬尘也很大，窗户都不敢开。",),
                ("请求依法查处夜间违规施工行为。",),
            ),
            _v(
                ("广场舞音响噪音扰民", "{community}广场舞噪音影响休息"),
                "每天晚上七点到十点，{community}中心广场的广场舞音响开得非常大。",
                ("希望能规定音量和时间，大家互相体谅。",),
            ),
        ),
        details=("家中老人和孩子长期无法正常休息，孩子马上要中考了。", "小区{n}多户居民已经联名签字。"),
        asks=("请求依法检测噪音并督促整改。", "请求有关部门依法处理，保障居民休息权利。"),
        group=True, divert=5,
    ),
    Theme(
        "pollution", "claim", "environment", "ECO",
        variants=(
            _v(
                ("{factory}夜间排放废气", "{village}附近工厂废气扰民"),
                "{town}{factory}每天夜里排放刺鼻废气，附近{village}村民普遍出现咽喉不适。",
                ("企业白天停产、晚上照排，环保检查时总是查不到。", "晾在外面的衣服都有一股化学味。"),
                ("请求生态环境部门夜间突击检查，依法查处。",),
            ),
            _v(
                ("{river}被企业排污染黑", "{factory}向{river}偷排污水"),
                "{village}附近的{river}原本清澈，{start}以来上游的{factory}把污水直接排进河里，"
                "河水发黑发臭。",
                ("河里的鱼大量死亡，村民的灌溉用水也受到影响。",),
                ("请求尽快查处排污企业并治理河道。",),
            ),
            _v(
                ("养殖场粪污直排污染水源", "{village}养殖场污染问题"),
                "{village}一家生猪养殖场把粪污直接排到村里的水塘，离村民的饮用水井只有几百米。",
                ("天热时臭味很大，村民都不敢开窗。",),
                ("请求责令养殖场建设粪污处理设施。",),
            ),
        ),
        details=("我们向{town}政府反映过多次，一直没有解决。",),
        group=True, divert=5,
    ),
    Theme(
        "property_fee", "claim", "urban_construction", "HOUSING",
        variants=(
            _v(
                ("{property_co}擅自上调物业费", "{community}物业费上涨争议"),
                "{community}的{property_co}从{start}起将物业费由每平方米{fee_old}元"
                "上调至{fee_new}元，既没有召开业主大会，也没有公示成本。",
                ("物业公司还对未交费的业主停水停电。", "业主多次要求公开账目，物业公司一直不予答复。"),
                ("请求主管部门核查收费依据，制止违规涨价。",),
            ),
            _v(
                ("物业服务不到位却起诉催缴物业费", "{community}物业服务质量差"),
                "我是{community}{building}栋业主{name}，小区电梯经常故障、垃圾清运不及时，"
                "{property_co}却起诉催缴{years}年物业费共{fee_total}元。",
                ("小区监控坏了一年多，电动车接连被盗。",),
                ("请求督促物业公司履行服务合同义务。",),
            ),
        ),
        divert=1,
    ),
    Theme(
        "demolition", "claim", "urban_construction", "HOUSING",
        variants=(
            _v(
                ("{village}征地拆迁补偿标准过低", "房屋征收补偿标准争议"),
                "我家位于{town}{village}，{start}因{project}被征收房屋{area}平方米，"
                "补偿按每平方米{price}元计算，远低于周边同类房屋市场价格。",
                ("评估时评估公司没有入户，评估报告也没有给我们看。",),
                ("请求依法重新评估并足额补偿。",),
            ),
            _v(
                ("{town}棚户区改造安置房逾期未交付", "安置房逾期交付过渡费停发"),
                "{town}棚户区改造项目原定两年内交付安置房，现已逾期{late_months}个月仍未交房，"
                "{n}多户被拆迁居民在外租房。",
                ("签约时工作人员承诺的过渡费从{start}起也停发了。",),
                ("请求政府督促尽快交房并补发过渡费。",),
            ),
            _v(
                ("拆迁补偿款未足额发放", "{village}拆迁补偿款只发了一半"),
                "{village}村民{name}反映：{start}签订的拆迁补偿协议约定补偿款{amount}元，"
                "至今只收到一半。",
                ("剩余款项村委会和拆迁办互相推诿。",),
                ("请求核实并督促兑现剩余补偿款。",),
            ),
        ),
        details=("家里老人已经搬了三次家，身体越来越差。",),
        group=True, divert=4,
    ),
    Theme(
        "illegal_building", "claim", "urban_construction", "HOUSING",
        variants=(
            _v(
                ("{community}顶楼违章搭建", "顶楼住户违规搭建彩钢房"),
                "{community}{building}栋顶楼住户{start}起在楼顶搭建彩钢房约{small_area}平方米，"
                "占用公共屋面。",
                ("楼下住户的屋顶已经开始渗水。", "多次向物业和社区反映，都说管不了。"),
                ("请求执法部门依法拆除违章建筑。",),
            ),
            _v(
                ("{village}有人占用耕地违法建房", "占用耕地建设厂房"),
                "{village}有人占用耕地建设厂房，面积约{area}平方米，镇里下过停工通知但一直在施工。",
                ("晚上还在偷偷浇筑混凝土。",),
                ("请求有关部门依法查处。",),
            ),
            _v(
                ("{road}沿街商铺违规扩建", "商铺扩建占用人行道"),
                "{road}一排沿街商铺把门面向人行道扩建了三米多，行人只能走机动车道。",
                ("附近就是{school}，学生上下学很危险。",),
                ("请求依法拆除违规扩建部分，恢复人行道。",),
            ),
        ),
        divert=5,
    ),
    Theme(
        "heating", "claim", "urban_construction", "HOUSING",
        variants=(
            _v(
                ("{community}冬季供暖温度不达标", "供暖温度长期不达标"),
                "入冬以来{community}室内温度只有{temp}度左右，远低于合同约定的18度。",
                ("供热公司派人测过温，但一直没有整改。",),
            ),
            _v(
                ("{heat_co}收费后供暖不足", "高楼层暖气基本不热"),
                "{heat_co}今年按全额收取了取暖费，但{community}{building}栋十层以上暖气基本不热。",
                ("打了十几次客服电话，每次都说会派人来看。",),
            ),
        ),
        details=("家里有老人和婴儿，只能开电暖器取暖。",),
        asks=("请求督促供热企业整改，并按规定退还部分取暖费。",),
        group=True,
    ),
    Theme(
        "medical_insurance", "claim", "health", "MEDINS",
        variants=(
            _v(
                ("异地就医医保报销被拒", "住院费用医保报销比例争议"),
                "我父亲{start}在省城{province_hospital}住院，花费医疗费{amount}元，已办理异地就医备案，"
                "回到{county}报销时部分项目被拒付。",
                ("报销比例比政策规定的低了将近二十个百分点。",),
                ("请求医保部门核查并按政策予以报销。",),
            ),
            _v(
                ("门诊慢特病待遇迟迟未办理", "申请{disease}门诊待遇无结果"),
                "本人患有{disease}，{start}申请门诊慢特病待遇，至今{months}个月没有结果。",
                ("每月药费{monthly}多元全部自费，家庭负担很重。",),
                ("请求尽快审核办理。",),
            ),
        ),
        divert=4,
    ),
    Theme(
        "hospital_service", "claim", "health", "HEALTH",
        variants=(
            _v(
                ("{hospital}过度检查乱收费", "住院费用清单重复收费"),
                "{start}我母亲因{disease}在{hospital}住院{days}天，花费{amount}元，"
                "清单中有多项检查重复收费。",
                ("医生事先没有告知检查项目和费用。",),
                ("请求卫健部门核查收费是否合规。",),
            ),
            _v(
                ("对{hospital}诊疗过程有异议", "医院拒绝提供完整病历"),
                "我父亲{start}在{hospital}做手术后出现严重并发症，院方拒绝提供完整病历。",
                ("我们对诊疗过程有很大疑问。",),
                ("请求卫健部门组织调查，依法处理。",),
            ),
            _v(
                ("{hospital}急诊服务态度问题", "急诊长时间无人接诊"),
                "{start}我带孩子到{hospital}看急诊，排队{hours}个小时无人接诊，护士态度恶劣。",
                ("孩子当时高烧四十度。",),
                ("请求卫健部门调查处理并改进急诊服务。",),
            ),
        ),
        divert=1,
    ),
    Theme(
        "school_district", "claim", "education", "EDU",
        variants=(
            _v(
                ("孩子入学被分到远离户籍地的学校", "{school}学区划分不合理"),
                "我家户籍和房产都在{community}，按去年的划片应对口{school}，"
                "今年孩子却被分到离家{km}公里的{school2}。",
                ("孩子每天上学要换乘两趟公交。",),
            ),
            _v(
                ("{community}适龄儿童被划出学区", "学区调整后无法就近入学"),
                "{community}今年{n}多名适龄儿童被划出{school}学区，而相邻的新建楼盘却被划入。",
                ("家长们怀疑划片受开发商影响，划片方案从未公开征求意见。",),
            ),
        ),
        asks=("请求公开学区划分依据并合理调整。", "请求教育局公开说明理由，听取家长意见。"),
        group=True,
    ),
    Theme(
        "kindergarten_fee", "claim", "education", "EDU",
        variants=(
            _v(
                ("{kindergarten}擅自提高保教费", "民办幼儿园收费不规范"),
                "{town}{kindergarten}从本学期起把保教费从每月{tuition_old}元提高到"
                "{tuition_new}元，还额外收取兴趣班费用。",
                ("幼儿园没有向家长公示收费依据。", "不交兴趣班费用的孩子被安排在走廊等候。"),
            ),
        ),
        asks=("请求教育部门核查收费是否经过备案。",),
    ),
    Theme(
        "road_damage", "claim", "transport", "TRANSPORT",
        variants=(
            _v(
                ("{road}路面破损严重", "{road}路面塌陷积水"),
                "{county}{road}从{town}到{village}段路面塌陷、坑洼严重，雨天积水很深。",
                ("{start}以来已经发生多起电动车摔倒事故。",),
                ("请求交通部门尽快维修。",),
            ),
            _v(
                ("{village}通村公路坑洼不平", "通村公路质量问题"),
                "我们{village}的通村公路修好才{years}年，就出现大面积开裂破损。",
                ("大货车超载经过时颠簸得厉害，怀疑施工质量有问题。",),
                ("请求有关部门查明原因并修复。",),
            ),
        ),
    ),
    Theme(
        "taxi", "claim", "transport", "TRANSPORT",
        variants=(
            _v(
                ("出租车司机拒载", "{county}汽车站出租车拒载"),
                "{start}晚上我在{county}汽车站打车去{community}，车牌号{plate}的出租车司机嫌路近拒载。",
                ("车站附近拒载、不打表的情况长期存在。",),
                ("请求交通运输部门依法处理并加强管理。",),
            ),
            _v(
                ("出租车不打表乱收费", "{plate}出租车不打表议价"),
                "{start}我乘坐{plate}出租车从{hospital}到{town}，司机不打表，下车时要价{fare}元。",
                ("正常打表也就三十元左右。",),
                ("请求调查处理并退还多收的费用。",),
            ),
        ),
        details=("司机态度恶劣，还出言威胁。",),
    ),
    Theme(
        "food_safety", "claim", "commerce_tourism", "MARKET",
        variants=(
            _v(
                ("{restaurant}食品卫生问题", "在{restaurant}就餐后腹泻呕吐"),
                "{start}我和家人在{town}{restaurant}就餐后，全家{family}人出现腹泻呕吐，"
                "到{hospital}就诊花费{fare}元。",
                ("店家拒绝承担责任，态度恶劣。",),
                ("请求市场监管部门调查该店卫生状况并依法处理。",),
            ),
            _v(
                ("{market}销售过期食品", "超市销售过期{product}"),
                "我在{market}购买的{product}，回家后发现已超过保质期{days}天。",
                ("与商家交涉时对方只愿意退货，怀疑长期销售过期食品。",),
                ("请求监管部门检查并依法处罚。",),
            ),
            _v(
                ("学校周边小卖部售卖三无食品", "{school}门口售卖三无食品"),
                "{school}门口的几家小卖部长期售卖没有生产日期和厂址的辣条、饮料。",
                ("不少孩子吃了以后肚子疼。",),
                ("请求市场监管部门开展专项检查。",),
            ),
        ),
        divert=5,
    ),
    Theme(
        "tourism", "claim", "commerce_tourism", "MARKET",
        variants=(
            _v(
                ("{scenic}一日游强制购物", "旅行社低价游诱导消费"),
                "{start}我们一家参加{travel_co}组织的{scenic}一日游，导游把我们带到玉器店强制购物，"
                "不买就不让上车。",
                ("同团有{workers}名游客被迫消费。", "投诉到旅行社后对方一直推诿。"),
            ),
        ),
        asks=("请求有关部门查处并督促退还费用{fare}元。",),
    ),
    # Litigation-related letters go to the political-legal department (诉访分离, Art. 22 ¶2).
    Theme(
        "litigation", "litigation", "political_legal", "ZFW",
        variants=(
            _v(
                ("法院判决生效后对方拒不履行", "申请强制执行长期没有结果"),
                "本人{name}与{other}民间借贷纠纷一案，{court}判令对方偿还借款{amount}元，"
                "判决生效后对方转移财产拒不履行。",
                ("申请强制执行已经{months}个月没有进展。", "承办法官一直说在找财产线索。"),
                ("请求政法委督促法院依法执行。",),
            ),
            _v(
                ("对{court}民事判决不服",),
                "我对{court}关于我与{company}劳动争议一案的判决不服，认为认定事实错误。",
                ("单位提交的考勤记录是事后补做的。",),
                ("请求领导重视，重新审理此案。",),
            ),
        ),
        divert=1,
    ),
    # A Party member's appeal against a sanction is its own procedure (Art. 31 route 3).
    Theme(
        "party_appeal", "party", "discipline_inspection", "JW",
        variants=(
            _v(
                ("对党纪处分决定不服的申诉", "请求撤销党内警告处分"),
                "本人{name}，中共党员，原{town}{unit}工作人员，{start}因{matter}受到党内警告处分。",
                ("处分所依据的事实有出入，我当时的情况说明没有被采纳。",),
            ),
        ),
        asks=("请求重新审查并撤销处分。",),
        divert=3,
    ),
    Theme(
        "bribe_housing", "accusation", "urban_construction", "JW",
        variants=(
            _v(
                ("举报住建部门工作人员索要好处费", "举报审批人员吃拿卡要"),
                "{county}住房和城乡建设局一名姓{surname}的工作人员，在为{builder}办理{permit}时"
                "多次暗示索要好处费，{start}收取现金{bribe}元后才予以办理。",
                ("我可以提供转账记录和聊天截图。", "同样的事情在其他企业身上也发生过。"),
            ),
        ),
        asks=("请求纪检监察机关调查核实。",),
        accused="HOUSING",
    ),
    Theme(
        "bribe_market", "accusation", "commerce_tourism", "JW",
        variants=(
            _v(
                ("举报市场监管执法人员吃拿卡要", "举报执法人员违规收受商户礼品"),
                "{town}市场监管所执法人员{surname}某经常到辖区商户检查，吃饭不给钱，"
                "逢年过节要求商户送礼。",
                ("不送礼就以各种理由罚款，{start}在{restaurant}一顿饭就挂账{fare}元。",),
            ),
        ),
        asks=("请求依纪依法查处。",),
        accused="MARKET",
    ),
    Theme(
        "school_fee", "accusation", "education", "JW",
        variants=(
            _v(
                ("举报{school}违规收取择校费", "举报学校以捐资助学名义乱收费"),
                "{school}在今年招生时以捐资助学名义向学区外学生每人收取{bribe}元，"
                "收款没有开具正式票据。",
                ("校长{surname}某说这是教育局默许的。", "据家长统计今年已有{workers}名学生交费。"),
            ),
        ),
        asks=("请求纪检监察机关调查处理。",),
        accused="EDU",
    ),
    Theme(
        "pension_fraud", "accusation", "labour_social_security", "JW",
        variants=(
            _v(
                ("举报社保工作人员违规为亲属办理提前退休", "举报违规办理提前退休"),
                "{county}人力资源和社会保障局工作人员{surname}某利用职务便利，"
                "{start}为其亲属伪造特殊工种档案办理提前退休。",
                ("当事人每月领取养老金{pension}元。",),
            ),
        ),
        asks=("请求查清事实，追回违规发放的资金。",),
        accused="HRSS",
    ),
    Theme(
        "insurance_fraud", "accusation", "health", "JW",
        variants=(
            _v(
                ("举报{hospital}挂床住院骗取医保基金", "举报医保经办人员与医院串通骗保"),
                "{hospital}长期组织老人挂床住院，虚开检查项目套取医保基金，"
                "{county}医疗保障局经办人员{surname}某对此知情不报。",
                ("仅{start}一个月，我所知道的挂床病人就有{workers}人。",),
            ),
        ),
        asks=("请求纪检监察机关彻查。",),
        accused="MEDINS",
    ),
    Theme(
        "bus_line", "suggestion", "transport", "TRANSPORT",
        variants=(
            _v(
                "建议开通{town}至城区的公交线路",
                "{town}到{county}城区目前只有早晚两班客车，群众出行、看病、上学很不方便。",
                ("沿线{village}等村有{n}多名群众需要乘车。",),
                ("建议增开班次或将现有线路延伸至{village}。",),
            ),
            _v(
                "建议延长{bus_no}路公交运营时间",
                "{bus_no}路公交末班车是晚上六点半，下夜班的职工只能步行或打车回家。",
                ("沿线有{hospital}和两个工业园区，夜间出行需求很大。",),
                ("建议末班车延长至晚上九点。",),
            ),
        ),
    ),
    Theme(
        "school_safety", "suggestion", "education", "EDU",
        variants=(
            _v(
                ("建议在{school}门口设置护学岗和减速带",),
                "{school}门口就是{road}，上下学时段车流量大，学生过马路很危险。",
                ("{start}附近发生过一起学生被电动车撞伤的事故。",),
            ),
        ),
        asks=("建议设置减速带、护栏，并在上下学时段安排护学岗。",),
    ),
    Theme(
        "clinic_hours", "suggestion", "health", "HEALTH",
        variants=(
            _v(
                ("建议社区卫生服务中心周末开诊", "建议基层医疗机构实行周末门诊"),
                "{town}社区卫生服务中心周末不开门诊，上班族只能请假看病或者去大医院排队。",
                ("小病也挤到{hospital}，大医院人满为患。",),
            ),
        ),
        asks=("建议实行周末轮值门诊，方便群众就近就医。",),
    ),
    Theme(
        "elevator", "suggestion", "urban_construction", "HOUSING",
        variants=(
            _v(
                "建议推进{community}等老旧小区加装电梯",
                "{community}建成于上世纪九十年代，六层楼没有电梯，住着很多行动不便的老人。",
                ("居民加装意愿很高，但费用分摊和审批流程不清楚。",),
                ("建议出台补贴政策并简化审批流程。",),
            ),
            _v(
                "建议老旧小区增设电动车充电设施",
                "{community}没有电动车充电设施，居民私拉电线充电，存在很大火灾隐患。",
                ("今年全市已经发生过几起电动车充电起火事故。",),
                ("建议统一规划建设集中充电棚。",),
            ),
        ),
    ),
    Theme(
        "market_testing", "suggestion", "commerce_tourism", "MARKET",
        variants=(
            _v(
                "建议农贸市场公示食品抽检结果",
                "{farm_market}每天都有快检，但检测结果只挂在办公室，买菜的群众看不到。",
                ("公开检测结果可以让群众放心，也能督促商户守法经营。",),
            ),
        ),
        asks=("建议在市场入口设置电子屏实时公示抽检结果。",),
    ),
    Theme(
        "river_litter", "suggestion", "environment", "ECO",
        variants=(
            _v(
                "建议在{river}沿岸增设垃圾拦截设施",
                "每逢雨后，{river}{town}段都会漂浮大量生活垃圾和塑料袋。",
                ("沿岸村庄垃圾收集点不足，部分村民直接把垃圾倒进河里。",),
                ("建议在支流入河口设置拦截网，并增设垃圾收集点。",),
            ),
            _v(
                "建议公开{river}水质监测信息",
                "{river}沿岸设有水质自动监测站，但监测数据从未向社会公开。",
                ("公开数据有利于群众监督沿河企业排污。",),
                ("建议在政府网站按月公开水质监测结果。",),
            ),
        ),
    ),
    Theme(
        "consult_pension", "consult", "labour_social_security", "HRSS",
        variants=(
            _v(
                ("咨询灵活就业人员养老保险补缴政策", "咨询养老保险补缴问题"),
                "本人{name}，今年{age}岁，以前在外地打工交过几年社保，想问一下现在能不能补缴。",
                ("不知道需要准备哪些材料，到哪里办理。",),
            ),
        ),
        asks=("请告知办理流程。",),
        decline="not_a_petition",
    ),
    Theme(
        "neighbour_dispute", "consult", "urban_construction", "HOUSING",
        variants=(
            _v(
                "邻居占用楼道堆放杂物",
                "{community}{building}栋的邻居长期在楼道堆放纸箱和旧家具，我们多次劝说无效。",
                ("楼道本来就窄，万一着火根本跑不出去。",),
            ),
            _v(
                "与邻居因排水沟发生纠纷",
                "{village}邻居{other}建房时把排水沟改到我家门口，下雨就积水。",
                ("双方已经吵过好几次，村里调解也没有结果。",),
            ),
        ),
        asks=("请求政府出面解决。",),
        decline="out_of_scope",
    ),
)  # fmt: skip
THEMES_BY_KIND: dict[str, list[Theme]] = {}
for _theme in THEMES:
    THEMES_BY_KIND.setdefault(_theme.kind, []).append(_theme)


def _month(day: dt.date) -> str:
    return f"{day.year}年{day.month}月"


def text_context(rng: random.Random, place: Place, received: dt.date) -> dict[str, Any]:
    """Values for every template slot, drawn for one petition."""
    start = received - dt.timedelta(days=rng.randint(40, 320))
    end = start + dt.timedelta(days=rng.randint(20, max(21, (received - start).days - 5)))
    short = place.name[:2]
    town = rng.choice(place.towns)
    community = rng.choice(place.communities)
    fee_old = rng.choice((1.2, 1.5, 1.6, 1.8, 2.0, 2.2))
    tuition_old = rng.choice((600, 800, 980, 1200, 1500))
    return {
        "county": place.name,
        "town": town,
        "community": community,
        "building": rng.randint(1, 28),
        "village": rng.choice(place.villages),
        "road": rng.choice(place.roads),
        "school": (schools := rng.sample(place.schools, 2))[0],
        "school2": schools[1],
        "hospital": rng.choice(place.hospitals),
        "province_hospital": rng.choice(PROVINCE.hospitals),
        "river": rng.choice(place.rivers),
        "court": place.court,
        "company": f"{short}{rng.choice(COMPANY_WORDS)}{rng.choice(INDUSTRIES)}有限公司",
        "builder": f"{short}{rng.choice(COMPANY_WORDS)}建筑工程有限公司",
        "property_co": f"{rng.choice(COMPANY_WORDS)}物业服务有限公司",
        "factory": f"{rng.choice(COMPANY_WORDS)}{rng.choice(('化工', '印染', '建材'))}厂",
        "travel_co": f"{short}{rng.choice(COMPANY_WORDS)}旅行社",
        "heat_co": f"{short}{rng.choice(COMPANY_WORDS)}热力有限公司",
        "restaurant": f"{rng.choice(('老街', '好运来', '福满楼', '小城故事'))}饭店",
        "market": f"{town}{rng.choice(('农贸市场', '万家福超市', '惠民超市'))}",
        "farm_market": f"{town}农贸市场",
        "kindergarten": f"{rng.choice(('小太阳', '金苹果', '七彩虹'))}幼儿园",
        "scenic": rng.choice(SCENIC),
        "shop": rng.choice(SHOPS),
        "project": rng.choice(
            (f"{community}二期工程", f"{town}安置小区项目", f"{rng.choice(place.roads)}改造工程")
        ),
        "name": person_name(rng),
        "other": person_name(rng),
        "surname": rng.choice(SURNAMES),
        "boss": f"{rng.choice(SURNAMES)}某",
        "unit": rng.choice(("人民政府", "财政所", "农业综合服务中心")),
        "matter": rng.choice(MATTERS),
        "trade": rng.choice(TRADES),
        "disease": rng.choice(DISEASES),
        "product": rng.choice(PRODUCTS),
        "permit": rng.choice(PERMITS),
        "amount": rng.randrange(8_000, 380_000, 100),
        "pension": rng.randrange(900, 4_800, 10),
        "fare": rng.randrange(60, 1_800, 10),
        "workers": rng.randint(3, 46),
        "n": rng.choice((20, 30, 50, 80, 100, 200)),
        # Months from the start of the story to the letter, so "至今N个月" matches the dates.
        "months": max(1, (received.year - start.year) * 12 + received.month - start.month),
        "late_months": rng.randint(3, 18),
        "wage": rng.randrange(6_000, 90_000, 100),
        "fee_total": rng.randrange(1_500, 12_000, 10),
        "bribe": rng.randrange(2_000, 50_000, 500),
        "small_area": rng.randint(12, 80),
        "years": rng.randint(2, 12),
        "days": rng.randint(2, 30),
        "area": rng.randrange(40, 900, 5),
        "price": rng.randrange(1_800, 6_500, 50),
        "fee_old": fee_old,
        "fee_new": round(fee_old * rng.choice((1.3, 1.5, 1.8)), 1),
        "tuition_old": tuition_old,
        "tuition_new": tuition_old + rng.choice((200, 300, 500, 800)),
        "monthly": rng.randrange(600, 3_000, 50),
        "family": rng.randint(2, 6),
        "age": rng.randint(45, 59),
        "hours": rng.randint(2, 5),
        "km": rng.randint(3, 15),
        "temp": rng.randint(11, 16),
        "plate": f"禾A·T{rng.randint(1000, 9999)}",
        "bus_no": rng.randint(2, 36),
        "start": _month(start),
        "end": _month(end),
    }


def compose(rng: random.Random, theme: Theme, ctx: dict[str, Any]) -> tuple[str, str]:
    """A title and a letter-like content from the theme's sentence pools."""
    story = rng.choice(theme.variants)
    title = rng.choice(story.titles).format_map(ctx)
    details = story.details + theme.details
    parts = [story.fact, *rng.sample(details, k=rng.randint(min(1, len(details)), len(details)))]
    parts.append(rng.choice(story.asks + theme.asks))
    closers = KIND_CLOSERS.get(theme.kind, CLOSERS)
    opener, closer = rng.choice(OPENERS), rng.choice(closers)
    body = "".join(p.format_map(ctx) for p in parts) + closer
    return title, (opener + "\n" + body if opener else body)


# --- staff ------------------------------------------------------------------------------------


def _slug(code: str) -> str:
    return (code if "-" in code else f"{code}-gov").lower()


def username(code: str, role: str) -> str:
    return f"{_slug(code)}-{role}"


def staff_plan() -> list[tuple[str, str]]:
    """(org code, role) of every demo account."""
    plan: list[tuple[str, str]] = []
    for place in (PROVINCE, CITY, *COUNTIES):
        plan.append((f"{place.code}-XF", "clerk"))
        plan += [(place.code, "handler"), (place.code, "head")]
        if place is PROVINCE:
            continue
        for suffix in BUREAUS:
            plan += [(f"{place.code}-{suffix}", "handler"), (f"{place.code}-{suffix}", "head")]
        plan += [(f"{place.code}-JW", "handler"), (f"{place.code}-ZFW", "handler")]
    plan += [("QH", "supervisor"), ("QH", "analyst"), ("JN", "analyst"), ("JN", "admin")]
    return plan


# The accounts shown in the summary: a walk through one matter from intake to re-review.
HIGHLIGHTS = (
    ("YX-XF", "clerk", "registers and routes petitions"),
    ("YX-HOUSING", "handler", "accepts, extends and replies"),
    ("YX-HOUSING", "head", "approves extensions"),
    ("YX", "handler", "decides reviews of county bureaus"),
    ("QH", "handler", "decides re-reviews"),
    ("QH", "supervisor", "supervises overdue matters"),
    ("QH", "analyst", "reports and statistics"),
    ("JN", "admin", "reference data and accounts"),
)


def create_staff(rng: random.Random) -> dict[tuple[str, str], User]:
    users: dict[tuple[str, str], User] = {}
    shared_hash = ""
    for code, role in staff_plan():
        name = person_name(rng)
        extra = {"last_name": name[0], "first_name": name[1:]}
        if not shared_hash:
            user = user_add(
                username=username(code, role), org_code=code, role=role,
                password=DEMO_PASSWORD, **extra,
            )  # fmt: skip
            shared_hash = user.password
        else:
            user = user_add(username=username(code, role), org_code=code, role=role, **extra)
            validate_password(DEMO_PASSWORD, user)
            # Argon2 is deliberately slow (~0.2 s a hash): all demo accounts share one hash.
            user.password = shared_hash
            user.save(update_fields=["password"])
        if otp_required(user):
            TOTPDevice.objects.create(user=user, name="demo", key=DEMO_TOTP_KEY, confirmed=True)
        users[(code, role)] = user
    return users


# --- the plan of one petition -----------------------------------------------------------------

# How far along the standard ladder each stage goes (see STEPS_ALONG).
REACH = {
    "registered": 0,
    "declined_intake": 0,
    "routed": 1,
    "declined_organ": 1,
    "accepted": 2,
    "diverted": 2,
    "replied": 3,
    "closed": 3,
    "under_review": 4,
    "reviewed": 5,
    "reviewed_closed": 5,
    "under_rereview": 6,
    "final": 7,
}
STEPS_ALONG = (
    "route",
    "accept",
    "reply",
    "request_review",
    "decide_review",
    "request_rereview",
    "decide_rereview",
)
RATED_STAGES = frozenset({"replied", "reviewed", "final"})


@dataclass
class Plan:
    kind: str
    stage: str
    level: str  # code of the place whose petition department (or bureau) registers it
    late: bool = False  # left past its clock, to be found overdue by the sweep
    direct: bool = False  # written straight to the responsible bureau
    urgent: bool = False
    objection: bool = False
    assign: bool = False
    extend: int = 0
    hearing: bool = False
    rate: bool = False
    group: bool = False
    public: bool = False  # submitted online by the petitioner today
    divert: int | None = None
    theme: Theme | None = None
    place: Place | None = None
    channel: str = ""
    anonymous: bool = False
    confidential: bool = False


@dataclass
class Act:
    verb: str
    offset: int  # days after receipt
    delivered: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


CHANNELS = (("letter", 30), ("visit", 18), ("web", 18), ("phone", 16), ("email", 10), ("fax", 8))
REMOTE_CHANNELS = (("letter", 35), ("web", 30), ("phone", 15), ("email", 15), ("fax", 5))


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def guaranteed_plans() -> list[Plan]:
    """One of each scenario the demo must show, whatever its size (roughly 40 petitions)."""
    c, y, s, q = "claim", "YX", "SQ", "QH"
    return [
        Plan(c, "registered", y),
        Plan(c, "registered", s, late=True),
        Plan(c, "registered", y, public=True),
        Plan(c, "routed", s),
        Plan(c, "routed", y, late=True),
        Plan(c, "accepted", y, objection=True),
        Plan(c, "accepted", s, assign=True),
        Plan(c, "accepted", q),
        Plan(c, "accepted", y, late=True),
        Plan(c, "accepted", y, extend=30),
        Plan(c, "closed", s, extend=20),
        Plan(c, "diverted", y, divert=2),
        Plan(c, "diverted", s, divert=4),
        Plan(c, "diverted", q, divert=5),
        Plan("litigation", "diverted", y, divert=1),
        Plan("party", "diverted", s, divert=3),
        Plan("litigation", "routed", q),
        Plan("consult", "declined_intake", y),
        Plan(c, "declined_organ", s),
        Plan(c, "replied", y, rate=True),
        Plan(c, "replied", q),
        Plan(c, "closed", y),
        Plan(c, "closed", q),
        Plan(c, "under_review", y),
        Plan(c, "under_review", s, late=True),
        Plan(c, "reviewed", y, rate=True),
        Plan(c, "reviewed_closed", s),
        Plan(c, "under_rereview", y, hearing=True),
        Plan(c, "under_rereview", s),
        Plan(c, "final", y),
        Plan(c, "final", q, rate=True),
        Plan("accusation", "routed", y),
        Plan("accusation", "replied", s, rate=True),
        Plan("accusation", "accepted", q, anonymous=True),
        Plan("suggestion", "replied", y, rate=True),
        Plan("suggestion", "accepted", s),
        Plan(c, "accepted", y, urgent=True, group=True),
        Plan(c, "replied", s, group=True),
        Plan(c, "accepted", y, direct=True),
    ]


KIND_WEIGHTS = (
    ("claim", 74), ("accusation", 8), ("suggestion", 9), ("litigation", 3), ("party", 1),
    ("consult", 3), ("public", 2),
)  # fmt: skip
CLAIM_STAGES = (
    ("registered", 5), ("registered_late", 2.5), ("routed", 5), ("routed_late", 2),
    ("accepted", 10), ("accepted_late", 4), ("accepted_extended", 3), ("diverted", 6),
    ("declined_organ", 2), ("replied", 10), ("closed", 17), ("under_review", 4),
    ("under_review_late", 1), ("reviewed", 4), ("reviewed_closed", 3), ("under_rereview", 2),
    ("final", 3),
)  # fmt: skip
KIND_STAGES: dict[str, tuple[tuple[str, float], ...]] = {
    "accusation": (
        ("registered", 1), ("routed", 2), ("accepted", 3), ("accepted_late", 1),
        ("replied", 2), ("closed", 3),
    ),
    "suggestion": (
        ("registered", 1), ("routed", 1), ("accepted", 3), ("replied", 3), ("closed", 3),
    ),
    "litigation": (("routed", 1), ("diverted", 2), ("declined_intake", 1)),
    "party": (("diverted", 1),),
    "consult": (("declined_intake", 1),),
}  # fmt: skip


def random_plan(rng: random.Random) -> Plan:
    kind = _weighted(rng, KIND_WEIGHTS)
    level = _weighted(rng, (("YX", 40), ("SQ", 33), ("QH", 22), ("JN", 5)))
    if kind == "public":
        return Plan("claim", "registered", level if level != "JN" else "QH", public=True)
    if kind != "claim" and level == "JN":
        level = "QH"  # the demo's discipline and political-legal bodies sit at city and county
    stage = _weighted(rng, CLAIM_STAGES if kind == "claim" else KIND_STAGES[kind])
    plan = Plan(kind, stage, level)
    for suffix in ("_late", "_extended"):
        if stage.endswith(suffix):
            plan.stage = stage.removesuffix(suffix)
            plan.late = suffix == "_late"
            plan.extend = rng.choice((15, 20, 30)) if suffix == "_extended" else 0
    if plan.stage in ("replied", "closed", "under_review") and rng.random() < 0.07:
        plan.extend = rng.choice((10, 15, 20, 30))
    if kind == "claim" and level != "JN":
        reach = REACH[plan.stage]
        plan.objection = reach >= 2 and rng.random() < 0.05
        plan.direct = reach >= 2 and not plan.objection and rng.random() < 0.08
        # Urgent reports go to the county government, whose appeals stay within the demo tree.
        plan.urgent = (
            level in ("YX", "SQ")
            and not (plan.direct or plan.objection)
            and reach >= 2
            and rng.random() < 0.03
        )
        plan.group = plan.urgent
    plan.assign = not plan.urgent and rng.random() < 0.1
    plan.hearing = plan.stage in ("under_rereview", "final") and rng.random() < 0.3
    plan.rate = plan.stage in RATED_STAGES and rng.random() < 0.6
    return plan


def schedule(plan: Plan, rng: random.Random) -> tuple[list[Act], int, tuple[int, int]]:
    """The steps after receipt as day offsets, the offset the tail is measured from, and the
    range of days between that anchor and today."""
    acts: list[Act] = []
    t = 0

    def add(verb: str, lo: int, hi: int, **extra: Any) -> Act:
        nonlocal t
        t += rng.randint(lo, hi)
        act = Act(verb, t, extra=extra)
        acts.append(act)
        return act

    def deliver(act: Act) -> None:
        nonlocal t
        act.delivered = t = act.offset + rng.choice((0, 0, 1, 2, 3))

    stage, reach = plan.stage, REACH[plan.stage]
    anchor: int | None = None
    tail = (0, 0)
    accept_at = 0
    if stage == "declined_intake":
        add("decline", 1, 10)
    for verb in STEPS_ALONG[:reach]:
        if verb == "route":
            if plan.direct:
                continue
            if plan.objection:
                add("route_wrong", 1, 6)
                add("object", 1, 4)
                add("route", 1, 4)
            elif plan.urgent:
                add("route", 0, 0)
            elif reach >= 2 and rng.random() < 0.06:
                add("route", 16, 24)  # a late routing: the clock is settled as missed
            else:
                add("route", 1, 8)
        elif verb == "accept":
            accept_at = add("accept", 1, 12).offset
            if plan.extend:
                add("extend", 45, 56)
        elif verb == "reply":
            if plan.extend:
                room = 60 + plan.extend - (t - accept_at)
                act = add("reply", 3, max(3, room - 4))
            elif plan.kind == "claim" and rng.random() < 0.06:
                act = add("reply", 61, 70)  # a late reply
            else:
                act = add("reply", 15, 55)
            deliver(act)
        elif verb in ("request_review", "request_rereview"):
            add(verb, 3, 25)
        elif verb == "decide_review":
            deliver(add(verb, 7, 28))
        elif verb == "decide_rereview":
            deliver(add(verb, 2, 8) if plan.hearing else add(verb, 7, 28))
        if verb == "request_rereview" and plan.hearing:
            first = t + rng.randint(3, 6)
            last = first + rng.randint(0, 2)
            t = last
            acts.append(Act("hearing", last, extra={"from": first, "to": last}))
    if stage == "declined_organ":
        add("decline", 1, 10)
    elif stage in ("closed", "reviewed_closed"):
        # After the 30-day appeal window, with room for a holiday roll-forward of its due date.
        if plan.kind == "claim":
            add("close", 40, 48)
        else:
            add("close", 3, 20)

    offsets = {a.verb: a.offset for a in acts}
    if stage == "registered":
        anchor, tail = 0, ((20, 50) if plan.late else (0, 11))
        if plan.public:
            tail = (0, 0)
    elif stage == "routed":
        anchor, tail = offsets["route"], ((20, 40) if plan.late else (0, 11))
    elif stage == "accepted":
        anchor = offsets["accept"]
        tail = (72, 105) if plan.late else (0, 50)
        if plan.extend:
            tail = (62, 55 + plan.extend)
    elif (stage in RATED_STAGES and plan.rate) or stage in ("replied", "reviewed"):
        anchor, tail = t, (0, 26)
    elif stage == "under_review":
        anchor, tail = offsets["request_review"], ((36, 55) if plan.late else (0, 25))
    elif stage == "under_rereview":
        anchor = offsets["request_rereview"]
        tail = (12, 25) if plan.hearing else (0, 25)
    if anchor is None:
        anchor, tail = t, (0, max(0, SPREAD_DAYS - t))
    return acts, anchor, tail


# --- texts of the steps -----------------------------------------------------------------------

REPLY_TEXTS = {
    "support": (
        "经调查核实，您反映的“{subject}”问题基本属实。我单位已责成相关单位限期整改，"
        "整改结果将书面告知您。",
        "经调查，您的诉求符合政策规定，予以支持。相关款项和待遇将于三十日内落实到位。",
    ),
    "explain": (
        "经调查核实，您反映的“{subject}”问题，相关单位已按现行政策作出处理，"
        "具体政策依据已向您当面解释说明。",
        "经研究，您反映的情况部分属实。我单位已督促相关单位改进工作，对您的其余诉求已当面解释说明。",
    ),
    "not_support": (
        "经调查核实，您提出的“{subject}”诉求缺乏事实和政策依据，本单位不予支持。",
        "经核查，原处理符合有关法律法规和政策规定，您的诉求不予支持。",
    ),
}
REVIEW_TEXTS = {
    "support": "原处理意见部分事实认定不清，现撤销原意见，责成原办理单位重新处理。",
    "explain": "原处理意见认定事实清楚，信访人关心的问题已由原办理单位当面解释说明。",
    "not_support": "原处理意见认定事实清楚、适用依据正确、程序合法，予以维持。",
}
APPEAL_NOTE = "如对本意见不服，可自收到本意见之日起三十日内向{org}提出{what}申请。"
FINAL_NOTE = "本复核意见为终结意见。信访人以同一事实和理由提出的信访事项，不再受理。"
ACCUSATION_TEXTS = {
    "support": "经核查，您反映的问题基本属实，已对相关责任人依纪依法作出处理。感谢您的监督。",
    "explain": "经核查，您反映的问题部分属实，已责成相关单位整改并对责任人批评教育。",
    "not_support": "经核查，您反映的问题查无实据。感谢您对纪检监察工作的支持。",
}
SUGGESTION_TEXTS = {
    "support": "您提出的“{subject}”建议很有价值，我单位已予以采纳，将在下一年度工作中落实。",
    "explain": "感谢您的建议。经研究，该建议涉及规划调整，我单位已将其纳入专题研究。",
    "not_support": "感谢您的建议。经研究，受现有条件限制，该建议暂不具备实施条件。",
}
EXTEND_REASONS = (
    "案情复杂，需会同相关部门进一步调查核实。",
    "涉及历史遗留问题，需调取档案并组织现场勘查。",
    "需委托第三方机构进行评估鉴定。",
)
OBJECT_REASON = "该事项不属于本单位职责范围，应由{org}办理，请重新转送。"
DECLINE_ORGAN_REASONS = (
    (
        "out_of_scope",
        "该事项属于企业与业主之间的合同纠纷，不属于本单位职责范围，已告知信访人依法维权。",
    ),
    ("other", "该事项已依法作出处理并书面告知，信访人未提出新的事实和理由，不再重复受理。"),
)
DECLINE_INTAKE_REASONS = {
    "not_a_petition": "来信系政策咨询，已电话告知办理流程，不作为信访事项受理。",
    "out_of_scope": "该事项属于邻里民事纠纷，已告知信访人可申请人民调解或依法提起诉讼。",
    "litigation": "该事项已进入诉讼程序，依法应通过诉讼途径解决，已告知信访人。",
}
CLOSE_REASONS = {
    "replied": "处理意见已送达，信访人在规定期限内未申请复查，依规办结。",
    "reviewed": "复查意见已送达，信访人在规定期限内未申请复核，依规办结。",
    "other": "已办结并答复信访人。",
}
RATING_COMMENTS = {
    "satisfied": ("处理及时，非常满意。", "感谢工作人员的耐心解释。", ""),
    "basically_satisfied": ("问题基本解决，希望后续跟进。", "处理时间有点长。", ""),
    "dissatisfied": ("问题没有实际解决。", "答复只是解释政策，没有解决问题。", ""),
}
# Ratings by outcome: (satisfied, basically satisfied, dissatisfied) weights.
RATING_WEIGHTS = {
    outcome: tuple(zip(Case.Rating.values, weights, strict=True))
    for outcome, weights in (
        ("support", (70, 25, 5)),
        ("explain", (35, 40, 25)),
        ("not_support", (10, 30, 60)),
    )
}
NEW_FACTS = "信访人提交了原处理时未掌握的书面证据（{start}的付款凭证），属于新的事实，重新受理。"


# --- the loader -------------------------------------------------------------------------------


@dataclass
class Loaded:
    """What the loader remembers about a petition it created, for duplicates and links."""

    case_id: int
    plan: Plan
    title: str
    content: str
    registrar: str  # org code that registered it
    responsible: str  # org code that handled it first
    petitioners: list[PetitionerData]
    hotspot: str | None = None


class Loader:
    def __init__(self, rng: random.Random, progress: Callable[[str], None]) -> None:
        self.rng = rng
        self.progress = progress
        self.today = clock.today()
        self.calendar = current_calendar()
        self.parents = {r["code"]: r.get("parent") for r in org_records()}
        self.names = {r["code"]: r["name"] for r in org_records()}
        self.users: dict[tuple[str, str], User] = {}
        self.loaded: list[Loaded] = []
        self.fingerprints: set[str] = set()
        self.people: dict[str, list[PetitionerData]] = {}
        self.sample_key: tuple[str, str] | None = None
        self.hotspots = {
            ("SQ", "pollution"): {"factory": "华兴化工厂", "village": "龙潭村", "town": "龙口乡"},
            ("YX", "wage_arrears"): {
                "builder": "云溪宏达建筑工程有限公司",
                "project": "溪畔人家二期工程",
            },
        }

    # dates

    def snap(self, day: dt.date, floor: dt.date) -> dt.date:
        """Staff work on working days: step back over a weekend, never before `floor`."""
        for back in (0, 1, 2):
            d = day - dt.timedelta(days=back)
            if d < floor:
                break
            if self.calendar.is_working_day(d):
                return d
        return day

    # people

    def user(self, code: str, role: str) -> User:
        return self.users[(code, role)]

    def petitioner(self, place: Place, name: str | None = None) -> PetitionerData:
        rng = self.rng
        pool = self.people.setdefault(place.code, [])
        if name is None and pool and rng.random() < 0.08:
            return rng.choice(pool)  # a repeat petitioner, for the source-governance views
        birth = dt.date(rng.randint(1950, 2002), rng.randint(1, 12), rng.randint(1, 28))
        town = rng.choice(place.towns)
        if rng.random() < 0.5:
            address = f"{place.name}{town}{rng.choice(place.communities)}"
            room = rng.randint(1, 18) * 100 + rng.randint(1, 4)
            address += f"{rng.randint(1, 28)}栋{rng.randint(1, 4)}单元{room}室"
        else:
            address = f"{place.name}{town}{rng.choice(place.villages)}{rng.randint(1, 9)}组"
        person = PetitionerData(
            name=name or person_name(rng),
            phone=f"1380000{rng.randint(0, 9999):04d}",
            id_number=f"{place.division}{birth:%Y%m%d}{rng.randint(0, 999):03d}{rng.randint(0, 9)}",
            address=address,
        )
        pool.append(person)
        return person

    # planning

    def complete(self, plan: Plan) -> None:
        """Pick theme, place, channel and flags the scenario left open."""
        rng = self.rng
        if plan.theme is None:
            themes = THEMES_BY_KIND[plan.kind]
            if plan.divert is not None:
                themes = [t for t in themes if t.divert == plan.divert]
            elif plan.stage == "diverted":
                themes = [t for t in themes if t.divert] or themes
                if plan.kind == "litigation":
                    plan.divert = 1
            if plan.group:
                themes = [t for t in themes if t.group] or themes
            plan.theme = rng.choice(themes)
            if plan.stage == "diverted" and plan.divert is None:
                plan.divert = plan.theme.divert
        if plan.level == "QH" and plan.kind == "claim" and not plan.public and rng.random() < 0.3:
            plan.place = rng.choice(COUNTIES)  # a county matter brought to the city
        else:
            plan.place = PLACES[plan.level] if plan.level != "JN" else CITY
        theme = plan.theme
        if plan.kind == "accusation":
            plan.anonymous = plan.anonymous or rng.random() < 0.45
            plan.confidential = True if plan.anonymous else rng.random() < 0.7
        elif plan.kind == "suggestion":
            plan.anonymous = plan.anonymous or rng.random() < 0.15
        elif plan.kind == "claim" and not plan.group and not plan.public:
            plan.confidential = rng.random() < 0.06
            plan.group = theme.group and rng.random() < 0.25
        if plan.public:
            plan.channel = "web"
        elif plan.group:
            plan.channel = "visit"
        elif plan.anonymous:
            plan.channel = _weighted(rng, REMOTE_CHANNELS)
        else:
            plan.channel = _weighted(rng, CHANNELS)
        if plan.anonymous:
            plan.rate = False  # no query code, so nobody can rate

    def responsible(self, plan: Plan) -> str:
        """The org code that should handle the matter."""
        assert plan.theme is not None and plan.place is not None
        level = plan.level
        if plan.urgent:
            return level  # reported at once to the registering department's own government
        if level == "JN":
            level = "QH"  # the province forwards to the city's bureaus
        elif level == "QH" and plan.place.level == "county" and self.rng.random() < 0.5:
            level = plan.place.code  # the city forwards a county matter down
        return f"{level}-{plan.theme.bureau}"

    # running

    def load(self, plan: Plan) -> Loaded:
        rng = self.rng
        self.complete(plan)
        assert plan.theme is not None and plan.place is not None
        acts, anchor, (lo, hi) = schedule(plan, rng)
        received = self.today - dt.timedelta(days=rng.randint(lo, hi) + anchor)
        if plan.channel == "visit":
            received = self.snap(received, received - dt.timedelta(days=2))
        responsible = self.responsible(plan)
        hotspot_key = (plan.place.code, plan.theme.key)
        hotspot = None
        for _attempt in range(20):
            hotspot = None
            ctx = text_context(rng, plan.place, received)
            if hotspot_key in self.hotspots and rng.random() < 0.4:
                ctx.update(self.hotspots[hotspot_key])
                hotspot = "/".join(hotspot_key)
            title, content = compose(rng, plan.theme, ctx)
            fingerprint = content_fingerprint(title, content)
            if fingerprint not in self.fingerprints:
                break  # a chance repeat would be linked as an exact duplicate
        self.fingerprints.add(fingerprint)
        petitioners = self.petitioners_of(plan, ctx)
        registrar = f"{plan.level}-XF" if not plan.direct else responsible
        with transaction.atomic():
            case = self.submit(plan, title, content, received, registrar, responsible, petitioners)
            self.run(case, plan, acts, received, registrar, responsible)
        loaded = Loaded(case.pk, plan, title, content, registrar, responsible, petitioners, hotspot)
        self.loaded.append(loaded)
        return loaded

    def petitioners_of(self, plan: Plan, ctx: dict[str, Any]) -> list[PetitionerData]:
        assert plan.place is not None
        if plan.anonymous:
            return []
        if plan.group:
            return [self.petitioner(plan.place) for _ in range(self.rng.randint(1, 5))]
        return [self.petitioner(plan.place, name=ctx["name"] if self.rng.random() < 0.5 else None)]

    def submit(
        self,
        plan: Plan,
        title: str,
        content: str,
        received: dt.date,
        registrar: str,
        responsible: str,
        petitioners: list[PetitionerData],
    ) -> Case:
        rng = self.rng
        assert plan.theme is not None and plan.place is not None
        theme = plan.theme
        # Staff classify most matters at intake; the rest are classified on acceptance.
        classify = plan.kind != "consult" and (plan.kind != "claim" or rng.random() < 0.85)
        people = len(petitioners) or 1
        reps = 0
        if plan.group:
            people = rng.randint(max(8, people), 60)
            reps = len(petitioners)
        for p in petitioners:
            if plan.channel == "email" and not p.email:
                p.email = f"petitioner{rng.randint(100, 9999)}@example.com"
        sub = Submission(
            title=title,
            content=content,
            category=("claim" if plan.kind in ("litigation", "party") else plan.kind)
            if classify
            else None,
            topic=theme.topic if classify else None,
            division_code=plan.place.division,
            channel=plan.channel,
            received_on=None if plan.public else received,
            petitioners=petitioners,
            representatives=reps,
            people_count=people,
            anonymous=plan.anonymous,
            confidential=plan.confidential,
            accused_orgs=[f"{plan.level}-{theme.accused}"] if theme.accused else [],
            urgent=plan.urgent,
        )
        actor = None if plan.public else self.registrar_user(registrar)
        receipt = self.step("submit", title, petition_submit, submission=sub, actor=actor)
        if plan.public and self.sample_key is None and receipt.access_key:
            self.sample_key = (receipt.case.tracking_number, receipt.access_key)
        return receipt.case

    def registrar_user(self, code: str) -> User:
        return self.user(code, "clerk" if code.endswith("-XF") else "handler")

    def step(self, verb: str, label: Any, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except DomainError as exc:
            raise DemoError(
                f"demo plan bug: {verb} refused for {label!r}: {exc.code}: {exc.message}"
            ) from exc

    def run(
        self,
        case: Case,
        plan: Plan,
        acts: list[Act],
        received: dt.date,
        registrar: str,
        responsible: str,
    ) -> None:
        rng = self.rng
        theme = plan.theme
        assert theme is not None
        cid, label = case.pk, case.title
        holder, decider = registrar, ""
        prev = received
        outcome = ""
        last_delivered: dt.date | None = None
        appeals = REACH[plan.stage] >= 4
        for act in acts:
            on = received + dt.timedelta(days=act.offset)
            if act.verb != "close":
                on = self.snap(on, prev)
            delivered = (
                received + dt.timedelta(days=act.delivered) if act.delivered is not None else None
            )
            if delivered is not None:
                delivered = max(delivered, on)
            staff = self.user(holder, "handler") if not holder.endswith("-XF") else None
            if act.verb in ("route", "route_wrong"):
                to, mode = route_target(plan, act.verb, responsible, rng)
                self.step(
                    "route", label, cs.case_route, case_id=cid, actor=self.user(holder, "clerk"),
                    to_org=to, mode=mode, effective_on=on,
                    assign_due_on=on + dt.timedelta(days=30) if mode == "assign" else None,
                )  # fmt: skip
                holder = to
            elif act.verb == "object":
                reason = OBJECT_REASON.format(org=self.names[responsible])
                self.step(
                    "object", label, cs.case_object, case_id=cid, actor=staff, reason=reason,
                    effective_on=on,
                )  # fmt: skip
                holder = registrar
            elif act.verb == "accept":
                kind_category = "claim" if plan.kind in ("litigation", "party") else plan.kind
                claim_route = None
                if kind_category == "claim":
                    claim_route = plan.divert if plan.stage == "diverted" else 6
                self.step(
                    "accept", label, cs.case_accept, case_id=cid, actor=staff,
                    claim_route=claim_route, category=kind_category, topic=theme.topic,
                    effective_on=on,
                )  # fmt: skip
            elif act.verb == "decline":
                code, reason = self.decline_reason(plan, holder)
                actor = self.user(holder, "clerk") if holder.endswith("-XF") else staff
                self.step(
                    "decline", label, cs.case_decline, case_id=cid, actor=actor,
                    reason_code=code, reason=reason, effective_on=on,
                )  # fmt: skip
            elif act.verb == "extend":
                notified = None if plan.anonymous else min(self.today, on + dt.timedelta(days=1))
                self.step(
                    "extend", label, cs.case_extend, case_id=cid, actor=staff, days=plan.extend,
                    reason=rng.choice(EXTEND_REASONS), effective_on=on,
                    approved_by=username(holder, "head"), petitioner_notified_on=notified,
                )  # fmt: skip
            elif act.verb == "reply":
                outcome = self.outcome(appeals)
                opinion = self.opinion(plan, outcome, label, holder, "复查")
                self.step(
                    "reply", label, cs.case_reply, case_id=cid, actor=staff, outcome=outcome,
                    opinion=opinion, delivered_on=delivered, effective_on=on,
                )  # fmt: skip
                decider, last_delivered = holder, delivered
            elif act.verb in ("request_review", "request_rereview"):
                target = self.parents[decider]
                if target is None:
                    raise DemoError(f"demo plan bug: {decider} has no superior for {label!r}")
                request_fn = cs.case_request_review
                if act.verb == "request_rereview":
                    request_fn = cs.case_request_rereview
                self.step(
                    act.verb, label, request_fn, case_id=cid, actor=self.user(target, "handler"),
                    to_org=target, effective_on=on,
                )  # fmt: skip
                holder = target
            elif act.verb in ("decide_review", "decide_rereview"):
                further = act.verb == "decide_review" and REACH[plan.stage] >= 6
                outcome = self.outcome(further, review=True)
                if act.verb == "decide_review":
                    decide_fn, what = cs.case_decide_review, "复核"
                else:
                    decide_fn, what = cs.case_decide_rereview, ""
                opinion = self.opinion(plan, outcome, label, holder, what, review=True)
                self.step(
                    act.verb, label, decide_fn, case_id=cid, actor=staff, outcome=outcome,
                    opinion=opinion, delivered_on=delivered, effective_on=on,
                )  # fmt: skip
                decider, last_delivered = holder, delivered
            elif act.verb == "hearing":
                first = received + dt.timedelta(days=act.extra["from"])
                last = received + dt.timedelta(days=act.extra["to"])
                self.step(
                    "hearing", label, cs.case_hearing, case_id=cid, actor=staff,
                    date_from=first, date_to=last, effective_on=last,
                )  # fmt: skip
                on = last
            elif act.verb == "close":
                on = self.close_date(cid, on, plan)
                status = Case.objects.values_list("status", flat=True).get(pk=cid)
                reason = CLOSE_REASONS.get(status if plan.kind == "claim" else "other", "")
                self.step(
                    "close", label, cs.case_close, case_id=cid, actor=staff, reason=reason,
                    effective_on=on,
                )  # fmt: skip
            else:  # pragma: no cover - schedule() only emits the verbs above
                raise DemoError(f"unknown demo step {act.verb}")
            prev = on
        # Rated today, so only while the 30-day window is open: depending on the day the demo is
        # loaded (holidays move the planned dates), a petitioner may simply not have rated in time.
        if plan.rate and last_delivered is not None and (self.today - last_delivered).days <= 27:
            rating = _weighted(rng, RATING_WEIGHTS[outcome or "explain"])
            self.step(
                "rate", label, cs.case_rate, case_id=cid, rating=rating,
                comment=rng.choice(RATING_COMMENTS[rating]),
            )  # fmt: skip

    def close_date(self, case_id: int, planned: dt.date, plan: Plan) -> dt.date:
        """The planned date, or the first working day after the appeal window if that is later."""
        window = (
            Deadline.objects.filter(
                case_id=case_id,
                rule__in=("review_request", "rereview_request"),
                state=Deadline.State.OPEN,
            )
            .order_by("-id")
            .first()
        )
        day = planned
        if window is not None and day <= window.due_on:
            day = window.due_on + dt.timedelta(days=1)
        day = self.calendar.next_working_day_on_or_after(day)
        if day > self.today:
            day = max(planned, window.due_on + dt.timedelta(days=1) if window else planned)
        if day > self.today:
            raise DemoError(f"demo plan bug: case {case_id} cannot be closed before today")
        return day

    def outcome(self, appealed: bool, *, review: bool = False) -> str:
        if appealed:
            return _weighted(self.rng, (("not_support", 60), ("explain", 40)))
        if review:
            return _weighted(self.rng, (("not_support", 50), ("explain", 30), ("support", 20)))
        return _weighted(self.rng, (("support", 40), ("explain", 40), ("not_support", 20)))

    def opinion(
        self, plan: Plan, outcome: str, subject: str, org: str, what: str, *, review: bool = False
    ) -> str:
        if plan.kind == "accusation":
            return ACCUSATION_TEXTS[outcome]
        if plan.kind == "suggestion":
            return SUGGESTION_TEXTS[outcome].format(subject=subject)
        if review:
            word = "复查" if what == "复核" else "复核"
            head = f"经{word}，" + REVIEW_TEXTS[outcome]
        else:
            head = self.rng.choice(REPLY_TEXTS[outcome]).format(subject=subject)
        parent = self.parents.get(org)
        if not what:
            return head + FINAL_NOTE
        if parent is None:
            return head
        return head + APPEAL_NOTE.format(org=self.names[parent], what=what)

    def decline_reason(self, plan: Plan, holder: str) -> tuple[str, str]:
        assert plan.theme is not None
        if holder.endswith("-XF"):
            code = plan.theme.decline or ("litigation" if plan.kind == "litigation" else "other")
            return code, DECLINE_INTAKE_REASONS.get(code, "不属于信访事项受理范围，已告知信访人。")
        return self.rng.choice(DECLINE_ORGAN_REASONS)

    # duplicates and links

    def duplicate(self, original: Loaded, *, new_facts: bool = False) -> None:
        """The same letter again, word for word: intake links it as an exact duplicate."""
        rng = self.rng
        row = Case.objects.values(
            "status", "last_effective_on", "tracking_number", "org__name"
        ).get(pk=original.case_id)
        received = min(self.today, row["last_effective_on"] + dt.timedelta(days=rng.randint(1, 12)))
        plan = original.plan
        channel = _weighted(rng, REMOTE_CHANNELS)
        sub = Submission(
            title=original.title,
            content=original.content,
            category="claim",
            topic=plan.theme.topic if plan.theme else None,
            division_code=plan.place.division if plan.place else "",
            channel=channel,
            received_on=received,
            petitioners=original.petitioners,
            people_count=max(1, len(original.petitioners)),
        )
        registrar = original.registrar if original.registrar.endswith("-XF") else "QH-XF"
        clerk = self.user(registrar, "clerk")
        label = f"duplicate of {row['tracking_number']}"
        with transaction.atomic():
            receipt = self.step("submit", label, petition_submit, submission=sub, actor=clerk)
            cid = receipt.case.pk
            on = min(self.today, received + dt.timedelta(days=rng.randint(0, 3)))
            on = self.snap(on, received)
            if new_facts:
                # Staff record new facts: the finality bar is lifted and a new matter opens.
                self.step(
                    "route", label, cs.case_route, case_id=cid, actor=clerk,
                    to_org=original.responsible, effective_on=on,
                )  # fmt: skip
                on2 = min(self.today, on + dt.timedelta(days=rng.randint(1, 5)))
                self.step(
                    "accept", label, cs.case_accept, case_id=cid,
                    actor=self.user(original.responsible, "handler"), claim_route=6,
                    new_facts=NEW_FACTS.format(start=_month(received)), effective_on=on2,
                )  # fmt: skip
                return
            if row["status"] == Case.Status.FINAL:
                code = "final"
                reason = (
                    f"该事项已经复核终结（{row['tracking_number']}），信访人以同一事实和理由再次"
                    "提出，依规不再受理。"
                )
            else:
                code = "same_matter_pending"
                reason = (
                    f"同一事项正由{row['org__name']}办理（{row['tracking_number']}），"
                    "已告知信访人办理进度。"
                )
            self.step(
                "decline", label, cs.case_decline, case_id=cid, actor=clerk, reason_code=code,
                reason=reason, effective_on=on,
            )  # fmt: skip

    def link_hotspots(self) -> int:
        """A supervisor links the matters of one hotspot (same place, same cause)."""
        supervisor = self.user("QH", "supervisor")
        groups: dict[str, list[int]] = {}
        for item in self.loaded:
            if item.hotspot:
                groups.setdefault(item.hotspot, []).append(item.case_id)
        links = 0
        for ids in groups.values():
            first = ids[0]
            for other in ids[1:]:
                last = Case.objects.values_list("last_effective_on", flat=True).get(pk=other)
                self.step(
                    "link", other, cs.case_link, case_id=other, actor=supervisor, other_id=first,
                    relation="related", effective_on=last,
                )  # fmt: skip
                links += 1
        return links


# --- entry points -----------------------------------------------------------------------------


def demo_needed() -> bool:
    """True when the database has no organisations and no cases (a fresh install)."""
    return not Organisation.objects.exists() and not Case.objects.exists()


def demo_load(
    *,
    progress: Callable[[str], None] = print,
    petitions: int = 300,
    seed: int = 20261128,
) -> str:
    """Load the demo into an empty database and return a summary with the demo logins."""
    if not demo_needed():
        raise InvalidInput("not_empty", "the demo loads only into an empty database")
    started = time.perf_counter()
    rng = random.Random(seed)
    loader = Loader(rng, progress)

    with transaction.atomic():
        orgs_load(records=org_records())
        divisions_load(records=division_records())
        loader.users = create_staff(rng)
    progress(f"demo: {len(org_records())} organisations and {len(loader.users)} staff accounts")

    duplicates = min(max(2, petitions // 50), petitions // 10) if petitions >= 20 else 0
    main = petitions - duplicates
    plans = guaranteed_plans()[:main]
    plans += [random_plan(rng) for _ in range(main - len(plans))]
    rng.shuffle(plans)
    done = 0
    for plan in plans:
        loader.load(plan)
        done += 1
        if done % 50 == 0 or done == petitions:
            progress(f"demo: {done}/{petitions} petitions")

    # Exact repeats, after their originals: one of a final matter, the rest of pending ones.
    pending_status = {Case.Status.ROUTED, Case.Status.ACCEPTED, Case.Status.UNDER_REVIEW}
    status_of = dict(Case.objects.values_list("id", "status"))
    finals = [x for x in loader.loaded if status_of[x.case_id] == Case.Status.FINAL]
    pending = [
        x
        for x in loader.loaded
        if status_of[x.case_id] in pending_status
        and x.petitioners
        and x.plan.kind == "claim"
        and not x.registrar.startswith("JN")
    ]
    rng.shuffle(pending)
    for i in range(duplicates):
        if i == 0 and finals:
            loader.duplicate(finals[0])
        elif i == 1 and len(finals) > 1 and duplicates >= 4:
            loader.duplicate(finals[1], new_facts=True)
        elif pending:
            loader.duplicate(pending.pop())
        else:
            loader.load(random_plan(rng))
        done += 1
        if done % 50 == 0 or done == petitions:
            progress(f"demo: {done}/{petitions} petitions")
    links = loader.link_hotspots()
    overdue_clocks = deadlines_sweep()
    elapsed = time.perf_counter() - started
    progress(f"demo: loaded in {elapsed:.1f} s")
    return summary(loader, elapsed=elapsed, links=links, overdue_clocks=overdue_clocks)


def summary(loader: Loader, *, elapsed: float, links: int, overdue_clocks: int) -> str:
    cases = Case.objects.all()
    statuses = Counter(cases.values_list("status", flat=True))
    order = [s for s in Case.Status.values if statuses.get(s)]
    overdue = cases.filter(is_overdue=True).count()
    extended = cases.filter(extension_days__gt=0).count()
    lines = [
        f"Demo loaded in {elapsed:.1f} s: {cases.count()} petitions, "
        f"{Organisation.objects.count()} organisations, {len(loader.users)} staff accounts.",
        "  by status: " + ", ".join(f"{s} {statuses[s]}" for s in order),
        f"  overdue: {overdue} petitions ({overdue_clocks} clocks missed at the sweep); "
        f"extended: {extended}; hotspot links: {links}",
        "",
    ]
    lines += login_lines(loader.names)
    if loader.sample_key:
        number, key = loader.sample_key
        lines.append(f"Petitioner view: tracking number {number}, access key {key}")
    lines.append("API tokens (shown once; `petitiondesk tokens create USERNAME` makes more):")
    for code, role in (("YX-XF", "clerk"), ("YX-HOUSING", "handler")):
        user = User.objects.get(username=username(code, role))
        lines.append(f"  {user.username}: {token_create(user=user, name='demo')}")
    return "\n".join(lines)


def login_lines(names: dict[str, str]) -> list[str]:
    """Where to go and who to log in as, for the summary and for `make run` on later starts."""
    lines = [
        f"Open {DEMO_URL}  (staff workbench {DEMO_URL}desk/, API docs {DEMO_URL}api/docs, "
        f"admin {DEMO_URL}admin/)",
        f"Demo logins — every demo account uses the password {DEMO_PASSWORD}:",
        "  Supervisors and admins also need a one-time code (second factor): add the demo key "
        f"{demo_totp_base32()} to any authenticator app (TOTP, 6 digits, 30 s), "
        f"or run: oathtool --totp -b {demo_totp_base32()}",
    ]
    rows = [("role", "username", "organisation", "")]
    for code, role, does in HIGHLIGHTS:
        rows.append((role, username(code, role), f"{names.get(code, code)} ({code})", does))
    widths = [max(_width(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        cells = [row[i] + " " * (widths[i] - _width(row[i])) for i in range(3)]
        lines.append(("  " + "  ".join(cells) + "  " + row[3]).rstrip())
    lines.append(
        "  Every other account is <org>-<role>, e.g. sq-edu-handler, qh-market-head, "
        "qh-xf-clerk, yx-jw-handler."
    )
    return lines


def demo_totp_base32() -> str:
    return base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY)).decode()


def demo_logins() -> str | None:
    """The login table when the demo accounts exist (the demo was loaded earlier), else None."""
    codes = [code for code, _role, _does in HIGHLIGHTS]
    if not User.objects.filter(username=username(codes[0], HIGHLIGHTS[0][1])).exists():
        return None
    names = dict(Organisation.objects.filter(code__in=codes).values_list("code", "name"))
    return "\n".join(login_lines(names))


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
