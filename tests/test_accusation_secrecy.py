"""An accuser is never exposed to the accused organ (Art. 30 ¶3), and a petitioner who asked for
confidentiality is shown only to whoever handles the case (domain.md §6).

The accusation is against the county housing bureau (K-HOUSING). Its staff, in several roles, walk
every GET URL of the project (found at run time, so new endpoints are covered as they appear) and
call every case action and upload endpoint; no answer may contain the accuser's name, phone or ID
number, in any case or escaped form.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import invalidate_org_tree
from petitiondesk.accounts.services import token_create, user_add
from petitiondesk.cases import services
from petitiondesk.cases.models import Case
from tests.test_access_matrix import (
    PNG,
    V1,
    admin_sample_urls,
    project_routes,
    register,
    rolled_back,
    verified_session,
)

ACCUSER = {"name": "赵敏", "phone": "13911112222", "id_number": "99010119900202334X"}
SECRETS = tuple(ACCUSER.values())
TITLE = "举报住建局违规审批保障房"
TITLE_WORD = "保障房"
CONTENT = "县住建局在保障房分配中违规审批、收受好处，请求查处。"

# K-HOUSING staff: the accused organ, in every role that could be tempted to look.
ACCUSED_ROLES = ("handler", "head", "supervisor", "clerk")
ACCUSED = tuple(f"housing_{role}" for role in ACCUSED_ROLES)


def forms_of(value: str) -> set[bytes]:
    """How a value could show up in a response: as is, lower/upper case, JSON \\u-escaped, URL
    encoded."""
    out: set[bytes] = set()
    for v in {value, value.lower(), value.upper()}:
        out.add(v.encode())
        out.add(json.dumps(v).strip('"').encode())  # \\uXXXX escapes
        out.add(json.dumps(v).strip('"').lower().encode())
        out.add(quote(v).encode())
    return out


LEAK_FORMS = {form: value for value in SECRETS for form in forms_of(value)}


def leaks(content: bytes) -> list[str]:
    return sorted({value for form, value in LEAK_FORMS.items() if form in content})


@dataclass
class Scene:
    users: dict[str, User]
    tokens: dict[str, str]
    accusation: int
    accusation_tn: str
    accusation_key: str
    housing_claim: int  # a claim K-HOUSING holds: its staff have a case to act on
    edu_claim: int
    attachment_id: int | None
    sessions: dict[str, Client]
    # One client for the token requests: a new one per request loads the middleware again,
    # WhiteNoise's scan of the static files included (most of the action test's time).
    token_client: Client = field(default_factory=Client)

    def client(self) -> Client:
        """The token client as good as new: no cookie of an earlier request is sent."""
        self.token_client.cookies.clear()
        return self.token_client

    def api(self, who: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
        if who in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        client = self.client()
        if method == "GET":
            return client.get(path, headers=headers)
        return client.generic(
            method,
            path,
            data=json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=headers,
        )


def _user(name: str, org: str, role: str) -> User:
    return user_add(username=name, org_code=org, role=role)


@pytest.fixture
def scene(org_tree: None, settings: Any, tmp_path: Any) -> Scene:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    Organisation.objects.create(
        code="K-HOUSING-S1",
        name="示范县房屋征收中心",
        kind="organ",
        level="township",
        parent=Organisation.objects.get(code="K-HOUSING"),
        division_code="990101",
    )
    invalidate_org_tree()
    users = {
        "alice": _user("alice", "K-XF", "clerk"),
        "bob": _user("bob", "K-EDU", "handler"),
        "erin": _user("erin", "K-EDU", "head"),
        "carol": _user("carol", "C", "supervisor"),
        "jack": _user("jack", "K-JW", "handler"),
        **{
            f"housing_{role}": _user(f"housing_{role}", "K-HOUSING", role) for role in ACCUSED_ROLES
        },
    }
    tokens = {name: token_create(user=u) for name, u in users.items()}
    alice = users["alice"]
    accusation, tn, key = register(
        alice,
        received_on="2026-11-20",
        category="accusation",
        accused_orgs=["K-HOUSING"],
        title=TITLE,
        content=CONTENT,
        petitioners=[{**ACCUSER, "address": "示范县幸福路1号"}],
    )
    services.case_route(
        case_id=accusation,
        actor=alice,
        to_org="K-JW",
        mode="to_discipline",
        effective_on=dt.date(2026, 11, 23),
    )
    housing_claim, _tn, _key = register(
        alice, received_on="2026-11-20", title="保障房轮候排序问题", content="轮候排序有误。"
    )
    services.case_route(
        case_id=housing_claim, actor=alice, to_org="K-HOUSING", effective_on=dt.date(2026, 11, 23)
    )
    edu_claim, _tn, _key = register(alice, received_on="2026-11-20")
    # Page sessions are made here, outside the rolled-back requests (one made inside would be gone
    # for the next request, and every later page would be the login redirect).
    sessions = {who: verified_session(users[who]) for who in ACCUSED}
    scene = Scene(users, tokens, accusation, tn, key, housing_claim, edu_claim, None, sessions)
    # The accusation's life so far: read by those entitled (audit records), a document filed
    # under the accuser's name, material from the accuser, linked to the housing claim.
    for who in ("alice", "jack"):
        assert scene.api(who, "GET", f"{V1}/petitions/{accusation}").status_code == 200
    r = scene.client().post(
        f"{V1}/petitions/{accusation}/attachments",
        data={"file": _upload(f"{ACCUSER['name']}身份证.png")},
        headers={"Authorization": f"Bearer {tokens['alice']}"},
    )
    if r.status_code == 201:
        scene.attachment_id = r.json()["id"]
    material = {"text": f"本人{ACCUSER['name']}，电话{ACCUSER['phone']}，补充证据。"}
    r = scene.api("public", "POST", f"{V1}/track/{tn}/material", material, **{"X-Access-Key": key})
    assert r.status_code == 200, r.content
    services.case_link(case_id=accusation, actor=alice, other_id=housing_claim, relation="related")
    return scene


def test_the_leak_detector_finds_every_form() -> None:
    name, phone, id_number = SECRETS
    assert leaks(json.dumps({"n": name}).encode()) == [name]  # \u escapes
    assert leaks(json.dumps({"n": name}, ensure_ascii=False).encode()) == [name]
    assert leaks(id_number.lower().encode()) == [id_number]
    assert leaks(quote(name).encode()) == [name]
    assert leaks(f"tel:{phone}".encode()) == [phone]
    assert leaks(b"nothing here") == []


def _upload(name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PNG, content_type="image/png")


def _fill(scene: Scene, pattern: str) -> Iterator[str]:
    """Concrete URLs for a pattern: every case the accused might aim at, the accusation's tracking
    number and attachment."""
    params = re.findall(r"\{(\w+)\}", pattern)
    if not params:
        yield pattern
        return
    cases = (scene.accusation, scene.housing_claim, scene.edu_claim)
    values = {
        "case_id": cases,
        "tracking_number": (scene.accusation_tn,),
        "attachment_id": (scene.attachment_id or 1, 1),
    }
    combos: list[dict[str, Any]] = [{}]
    for p in params:
        combos = [{**c, p: v} for c in combos for v in values.get(p, cases)]
    for combo in combos:
        yield re.sub(r"\{(\w+)\}", lambda m, c=combo: str(c[m.group(1)]), pattern)


def _queries(scene: Scene, path: str) -> list[str]:
    """Query strings worth trying: searches for the accusation and for the accuser."""
    if path.startswith(f"{V1}/audit/"):
        return ["", f"?case_id={scene.accusation}", f"?username={ACCUSER['name']}"]
    if path == f"{V1}/petitions":
        return [
            "",
            f"?q={quote(TITLE_WORD)}",
            f"?q={quote(ACCUSER['name'])}",
            f"?q={ACCUSER['phone']}",
            f"?q={ACCUSER['id_number']}",
            "?org=K-JW",
            "?status=routed",
            f"?case_id={scene.accusation}",
        ]
    return [""]


def _as(scene: Scene, who: str, method: str, url: str, body: Any = None, upload: bool = False):
    """A request by `who`: a token for the API, a verified browser session for pages."""
    if not url.startswith(f"{V1}/"):
        if who not in scene.sessions:
            scene.sessions[who] = verified_session(scene.users[who])
        client = scene.sessions[who]
        return client.generic(method, url) if method != "GET" else client.get(url)
    if upload:
        return scene.client().post(
            url,
            data={"file": _upload("scan.png")},
            headers={"Authorization": f"Bearer {scene.tokens[who]}"},
        )
    return scene.api(who, method, url, body)


def test_no_page_or_read_shows_the_accuser_to_the_accused_organ(scene: Scene) -> None:
    routes = sorted(p for m, p in project_routes() if m in ("GET", "*")) + admin_sample_urls()
    failures, seen = [], 0
    for who, pattern in itertools.product(ACCUSED, routes):
        if pattern.startswith("/accounts/logout"):
            continue
        for url in _fill(scene, pattern):
            for query in _queries(scene, url):
                with rolled_back():
                    r = _as(scene, who, "GET", url + query)
                seen += 1
                body = r.content if not r.streaming else b"".join(r.streaming_content)
                if leaks(body):
                    failures.append(
                        f"{who}: GET {url}{query} ({r.status_code}) shows {leaks(body)}"
                    )
    assert seen > 20
    assert not failures, "\n".join(failures)


SAMPLE_BODIES: dict[str, Any] = {
    "route": {"to_org": "K-JW", "mode": "to_discipline"},
    "object": {"reason": "不属本单位职责"},
    "accept": {"claim_route": 6},
    "decline": {"reason_code": "other", "reason": "非信访事项"},
    "extend": {"days": 10, "reason": "复杂", "approved_by": "housing_head"},
    "reply": {"outcome": "explain", "opinion": "已核查。"},
    "request_review": {"to_org": "K"},
    "decide_review": {"outcome": "explain", "opinion": "已复查。"},
    "request_rereview": {"to_org": "C"},
    "hearing": {"from": "2026-11-27", "to": "2026-11-27"},
    "decide_rereview": {"outcome": "explain", "opinion": "已复核。"},
    "close": {"reason": "办结"},
    "link": {"other_id": 0, "relation": "related"},  # other_id: filled in with the accusation
    "assign": {"username": "housing_handler"},
}


def test_no_action_answer_shows_the_accuser_to_the_accused_organ(scene: Scene) -> None:
    posts = sorted(
        p for m, p in project_routes() if m == "POST" and p.startswith(f"{V1}/petitions/{{")
    )
    assert any("/actions/" in p for p in posts)
    failures = []
    for who, pattern in itertools.product(ACCUSED, posts):
        verb = pattern.rsplit("/", 1)[-1]
        body = dict(SAMPLE_BODIES.get(verb, {}))
        if "other_id" in body:
            body["other_id"] = scene.accusation
        for url in _fill(scene, pattern):
            with rolled_back():
                r = _as(scene, who, "POST", url, body, upload=verb == "attachments")
            if leaks(r.content):
                failures.append(f"{who}: POST {url} ({r.status_code}) shows {leaks(r.content)}")
    for who in ACCUSED:
        # Registering the accusation's own text again (the duplicate check compares texts).
        with rolled_back():
            r = scene.api(who, "POST", f"{V1}/petitions", _letter(title=TITLE, content=CONTENT))
        if leaks(r.content):
            failures.append(
                f"{who}: POST {V1}/petitions ({r.status_code}) shows {leaks(r.content)}"
            )
    assert not failures, "\n".join(failures)


def _letter(**overrides: Any) -> dict[str, Any]:
    from tests.conftest import letter

    return letter(received_on="2026-11-26", **overrides)


@pytest.mark.parametrize("role", ACCUSED_ROLES)
def test_the_accused_organs_lists_do_not_count_the_accusation(scene: Scene, role: str) -> None:
    who = f"housing_{role}"
    everything = scene.api(who, "GET", f"{V1}/petitions").json()
    search = scene.api(who, "GET", f"{V1}/petitions?q={quote(TITLE_WORD)}").json()
    by_org = scene.api(who, "GET", f"{V1}/petitions?org=K-JW").json()

    assert [c["id"] for c in everything["results"]] == [scene.housing_claim]
    assert everything["count"] == 1
    # The housing claim's title has the word too; the accusation's does not count.
    assert [c["id"] for c in search["results"]] == [scene.housing_claim]
    assert search["count"] == 1
    assert by_org["count"] == 0
    assert by_org["results"] == []


@pytest.mark.parametrize("role", ["handler", "head", "supervisor", "analyst"])
def test_an_accused_government_never_sees_the_accusation_its_own_bureau_registered(
    scene: Scene, role: str
) -> None:
    """An accusation against the county government K, registered by K's own petition bureau (in
    K's scope): K's staff of every role never see it, not in the list, the search, a read or the
    audit. Its superiors do (docs/security.md "Accusations"): they are who it goes to."""
    alice = scene.users["alice"]
    case_id, tn, _key = register(
        alice,
        received_on="2026-11-20",
        category="accusation",
        accused_orgs=["K"],
        title=TITLE,
        content="县政府" + CONTENT,
        petitioners=[ACCUSER],
    )
    assert scene.api("alice", "GET", f"{V1}/petitions/{case_id}").status_code == 200  # audited
    user = _user(f"k_{role}", "K", role)
    scene.tokens["accused"] = token_create(user=user)

    listed = scene.api("accused", "GET", f"{V1}/petitions?q={quote(TITLE_WORD)}")
    everything = scene.api("accused", "GET", f"{V1}/petitions")
    read = scene.api("accused", "GET", f"{V1}/petitions/{case_id}")

    assert case_id not in [c["id"] for c in listed.json()["results"]]
    assert case_id not in [c["id"] for c in everything.json()["results"]]
    assert read.status_code == 404
    for r in (listed, everything, read):
        assert not leaks(r.content)
    if role == "supervisor":
        audit = scene.api("accused", "GET", f"{V1}/audit/reads.csv")
        exported = b"".join(audit.streaming_content)
        assert tn.encode() not in exported and not leaks(exported)
    # The control: the city above K sees it.
    assert scene.api("carol", "GET", f"{V1}/petitions/{case_id}").status_code == 200


def test_those_entitled_do_list_the_accusation(scene: Scene) -> None:
    """The control for the test above: the search does find it for the discipline organ."""
    r = scene.api("jack", "GET", f"{V1}/petitions?q={quote(TITLE_WORD)}").json()
    assert scene.accusation in [c["id"] for c in r["results"]]


def test_registering_the_same_text_does_not_reveal_the_accusation_to_the_accused(
    scene: Scene,
) -> None:
    """The duplicate check must not tell the accused organ that an accusation with this text
    exists (its id in `duplicates`, a link it can follow)."""
    r = scene.api(
        "housing_handler", "POST", f"{V1}/petitions", _letter(title=TITLE, content=CONTENT)
    )

    assert r.status_code == 201, r.content
    assert scene.accusation not in [d["id"] for d in r.json()["duplicates"]]
    mine = scene.api("housing_handler", "GET", f"{V1}/petitions/{r.json()['id']}").json()
    assert scene.accusation not in [link["other_id"] for link in mine["links"]]


def test_the_accused_organs_own_case_does_not_point_to_the_accusation(scene: Scene) -> None:
    """Staff entitled to both linked the accusation to the housing claim: the housing bureau reading
    its own claim must not be shown a link to a case it may not know of."""
    r = scene.api("housing_handler", "GET", f"{V1}/petitions/{scene.housing_claim}")

    assert r.status_code == 200, r.content
    assert scene.accusation not in [link["other_id"] for link in r.json()["links"]]


def test_linking_to_the_accusation_is_answered_as_for_a_case_that_does_not_exist(
    scene: Scene,
) -> None:
    """An accused handler cannot learn that case N is an accusation (or exists) by linking to it."""
    path = f"{V1}/petitions/{scene.housing_claim}/actions/link"
    with rolled_back():
        to_accusation = scene.api(
            "housing_handler", "POST", path, {"other_id": scene.accusation, "relation": "related"}
        )
    with rolled_back():
        to_nothing = scene.api(
            "housing_handler", "POST", path, {"other_id": 10_000_000, "relation": "related"}
        )

    assert to_accusation.status_code == to_nothing.status_code, to_accusation.content
    refused = {**to_accusation.json()["error"], "message": None}
    assert refused == {**to_nothing.json()["error"], "message": None}
    # The message names the id asked for, and nothing else differs.
    assert to_accusation.json()["error"]["message"].replace(str(scene.accusation), "N") == (
        to_nothing.json()["error"]["message"].replace("10000000", "N")
    )


# --- routing and lodging with the accused ----------------------------------------------------


def _state(case_id: int) -> tuple[Any, ...]:
    case = Case.objects.get(pk=case_id)
    return case.status, case.org_id, case.version, case.events.count()


@pytest.mark.parametrize(
    ("accused", "to_org"),
    [
        ("K-HOUSING", "K-HOUSING"),  # the accused organ itself
        ("K-HOUSING", "K-HOUSING-S1"),  # a unit under it
        ("K", "K-EDU"),  # a bureau under the accused county government
        ("K", "K-EDU-S1"),  # two levels under it
    ],
)
def test_routing_an_accusation_to_the_accused_or_below_is_refused_and_logged(
    scene: Scene, caplog: Any, accused: str, to_org: str
) -> None:
    case_id, _tn, _key = register(
        scene.users["alice"],
        received_on="2026-11-20",
        category="accusation",
        accused_orgs=[accused],
        title="举报违规审批",
        content=f"{accused}违规审批。",
    )
    before = _state(case_id)
    caplog.clear()

    r = scene.api("alice", "POST", f"{V1}/petitions/{case_id}/actions/route", {"to_org": to_org})

    assert r.status_code == 422, r.content
    assert r.json()["error"]["code"] == "confidential_to_accused"
    assert _state(case_id) == before
    records = [rec.getMessage() for rec in caplog.records if rec.name == "petitiondesk.security"]
    assert any(f"case={case_id}" in m and to_org in m for m in records), records


@pytest.mark.parametrize("to_org", ["K-HOUSING", "K-HOUSING-S1"])
def test_lodging_an_accusation_with_the_accused_or_below_is_refused(
    scene: Scene, to_org: str
) -> None:
    body = _letter(
        category="accusation",
        accused_orgs=["K-HOUSING"],
        to_org=to_org,
        title="举报违规审批",
        content="住建局违规审批。",
    )
    count = Case.objects.count()

    r = scene.api("alice", "POST", f"{V1}/petitions", body)

    assert r.status_code == 422, r.content
    assert r.json()["error"]["code"] == "confidential_to_accused"
    assert Case.objects.count() == count


# --- confidential petitioners -----------------------------------------------------------------

CONFIDENTIAL = {"name": "钱多多", "phone": "13700001111", "id_number": "990101197001019999"}
SHOWN_AS = {"name": "confidential", "phone": "confidential", "id_number": "confidential"}


@pytest.fixture
def confidential_claim(scene: Scene) -> int:
    """A confidential claim routed to K-EDU, with K-EDU staff of every role."""
    for name, role in (("edu_clerk", "clerk"), ("edu_boss", "supervisor"), ("ben", "handler")):
        scene.users[name] = _user(name, "K-EDU", role)
        scene.tokens[name] = token_create(user=scene.users[name])
    case_id, _tn, _key = register(
        scene.users["alice"],
        received_on="2026-11-20",
        confidential=True,
        petitioners=[{**CONFIDENTIAL, "address": "示范县和平路2号"}],
        content="保密来信：学位分配问题。",
    )
    services.case_route(
        case_id=case_id,
        actor=scene.users["alice"],
        to_org="K-EDU",
        effective_on=dt.date(2026, 11, 23),
    )
    return case_id


def _shown(scene: Scene, who: str, case_id: int) -> tuple[dict[str, str], bytes]:
    r = scene.api(who, "GET", f"{V1}/petitions/{case_id}")
    assert r.status_code == 200, (who, r.content)
    [p] = r.json()["petitioners"]
    return {k: p[k] for k in ("name", "phone", "id_number")}, r.content


def _check_shown(scene: Scene, case_id: int, sees: set[str], others: set[str]) -> None:
    failures = []
    for who in sorted(sees | others):
        shown, raw = _shown(scene, who, case_id)
        if who in sees and shown != CONFIDENTIAL:
            failures.append(f"{who} should see the petitioner, got {shown}")
        if who in others:
            exposed = [v for v in CONFIDENTIAL.values() if v.encode() in raw]
            if shown != SHOWN_AS or exposed:
                failures.append(f"{who} should see 'confidential', got {shown}, raw {exposed}")
    assert not failures, "\n".join(failures)


def test_while_nobody_is_assigned_the_holding_organs_handlers_and_heads_see_the_petitioner(
    scene: Scene, confidential_claim: int
) -> None:
    _check_shown(
        scene,
        confidential_claim,
        sees={"bob", "ben", "erin"},
        others={"edu_clerk", "edu_boss", "alice", "carol"},
    )


def test_once_assigned_only_the_assigned_handler_sees_the_petitioner(
    scene: Scene, confidential_claim: int
) -> None:
    r = scene.api(
        "erin", "POST", f"{V1}/petitions/{confidential_claim}/actions/assign", {"username": "bob"}
    )
    assert r.status_code == 200, r.content

    _check_shown(
        scene,
        confidential_claim,
        sees={"bob"},
        others={"ben", "erin", "edu_clerk", "edu_boss", "alice", "carol"},
    )


def test_a_confidential_accuser_is_shown_to_the_discipline_handler_only(scene: Scene) -> None:
    case_id, _tn, _key = register(
        scene.users["alice"],
        received_on="2026-11-20",
        category="accusation",
        accused_orgs=["K-HOUSING"],
        confidential=True,
        petitioners=[CONFIDENTIAL],
        title="举报违规发放补贴",
        content="住建局违规发放补贴。",
    )
    services.case_route(
        case_id=case_id,
        actor=scene.users["alice"],
        to_org="K-JW",
        mode="to_discipline",
        effective_on=dt.date(2026, 11, 23),
    )

    _check_shown(scene, case_id, sees={"jack"}, others={"alice"})
    for role in ACCUSED_ROLES:
        r = scene.api(f"housing_{role}", "GET", f"{V1}/petitions/{case_id}")
        assert r.status_code == 404
