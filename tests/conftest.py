"""Shared fixtures: an org tree (province → city → county) and named personas.

clerk_alice    clerk at the county petition bureau (routes)
handler_bob    handler at the county education bureau (accepts, replies)
head_erin      head of the county education bureau (approves extensions)
handler_frank  handler at the county government (decides reviews)
handler_grace  handler at the city government (decides re-reviews)
supervisor_carol  supervisor at the city government
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.test import Client

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.services import token_create, user_add
from petitiondesk.core.memo import clear_all_memos

ORGS = [
    {
        "code": "P",
        "name": "示范省人民政府",
        "kind": "organ",
        "level": "province",
        "division_code": "990000",
    },
    {
        "code": "P-XF",
        "name": "示范省信访局",
        "kind": "petition_department",
        "level": "province",
        "parent": "P",
        "division_code": "990000",
    },
    {
        "code": "C",
        "name": "示范市人民政府",
        "kind": "organ",
        "level": "city",
        "parent": "P",
        "division_code": "990100",
    },
    {
        "code": "C-XF",
        "name": "示范市信访局",
        "kind": "petition_department",
        "level": "city",
        "parent": "C",
        "division_code": "990100",
    },
    {
        "code": "K",
        "name": "示范县人民政府",
        "kind": "organ",
        "level": "county",
        "parent": "C",
        "division_code": "990101",
    },
    {
        "code": "K-XF",
        "name": "示范县信访局",
        "kind": "petition_department",
        "level": "county",
        "parent": "K",
        "division_code": "990101",
    },
    {
        "code": "K-EDU",
        "name": "示范县教育局",
        "kind": "organ",
        "level": "county",
        "parent": "K",
        "division_code": "990101",
    },
    {
        "code": "K-EDU-S1",
        "name": "示范县第一中学",
        "kind": "organ",
        "level": "township",
        "parent": "K-EDU",
        "division_code": "990101",
    },
    {
        "code": "K-HOUSING",
        "name": "示范县住建局",
        "kind": "organ",
        "level": "county",
        "parent": "K",
        "division_code": "990101",
    },
    {
        "code": "K-JW",
        "name": "示范县纪委监委",
        "kind": "discipline",
        "level": "county",
        "division_code": "990101",
    },
    {
        "code": "K-ZF",
        "name": "示范县委政法委",
        "kind": "political_legal",
        "level": "county",
        "division_code": "990101",
    },
]

# The action verbs of api.md, written out: the tests hold the contract, not the code's own table.
ACTION_VERBS = (
    "route",
    "object",
    "accept",
    "decline",
    "extend",
    "reply",
    "request_review",
    "decide_review",
    "request_rereview",
    "hearing",
    "decide_rereview",
    "close",
    "link",
    "assign",
)

# Friday 2026-11-27, a working day with a published calendar around it: "today" in every test.
FROZEN_NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def _frozen_clock() -> Any:
    with time_machine.travel(FROZEN_NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _fresh_memos() -> Any:
    """Each test starts with empty per-process memos (tokens, calendar, org lookups)."""
    clear_all_memos()
    yield
    clear_all_memos()


@pytest.fixture(autouse=True)
def _fresh_index(settings: Any, tmp_path_factory: Any, monkeypatch: Any) -> Any:
    """Each test starts with an empty near-duplicate index saved nowhere shared, which catches up
    with the database on every lookup (rolled-back test rows never reach on_commit)."""
    from petitiondesk.routing import similarity

    settings.PETITIONDESK_INDEX_DIR = tmp_path_factory.mktemp("index")
    monkeypatch.setattr(similarity, "CATCH_UP_SECONDS", 0.0)
    similarity.reset()
    yield
    similarity.reset()


@pytest.fixture(autouse=True)
def _public_submit_limit(settings: Any) -> None:
    """Tests submit many petitions from one test client address; the limit has its own tests."""
    settings.PETITIONDESK_PUBLIC_SUBMIT_MAX = 0


@pytest.fixture
def org_tree(db: Any) -> None:
    """The tree of conftest.ORGS, inserted directly: `orgs_load` validates and upserts, which costs
    more than the rest of a typical test here, and is tested on its own elsewhere."""
    made: dict[str, Organisation] = {}
    for rec in ORGS:  # parents come before their children
        fields = {k: v for k, v in rec.items() if k != "parent"}
        made[rec["code"]] = Organisation.objects.create(
            **fields, parent=made.get(rec.get("parent"))
        )


def _user(name: str, org: str, role: str) -> User:
    return user_add(username=name, org_code=org, role=role)


@pytest.fixture
def clerk_alice(org_tree: None) -> User:
    return _user("alice", "K-XF", "clerk")


@pytest.fixture
def handler_bob(org_tree: None) -> User:
    return _user("bob", "K-EDU", "handler")


@pytest.fixture
def head_erin(org_tree: None) -> User:
    return _user("erin", "K-EDU", "head")


@pytest.fixture
def handler_frank(org_tree: None) -> User:
    return _user("frank", "K", "handler")


@pytest.fixture
def handler_grace(org_tree: None) -> User:
    return _user("grace", "C", "handler")


@pytest.fixture
def supervisor_carol(org_tree: None) -> User:
    return _user("carol", "C", "supervisor")


class Api:
    """A JSON client for /api/v1 acting as one user (or the public)."""

    def __init__(self, user: User | None = None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            self.headers["Authorization"] = f"Bearer {token_create(user=user)}"

    def post(self, path: str, body: Any = None, *, raw: str | None = None, **headers: str) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            f"/api/v1{path}",
            data=data,
            content_type="application/json",
            headers={**self.headers, **headers},
        )

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers={**self.headers, **headers})

    def act(self, case_id: int, verb: str, **body: Any) -> Any:
        return self.post(f"/petitions/{case_id}/actions/{verb}", body)


def login_verified(client: Client, user: User) -> None:
    """A browser session that has passed the TOTP second factor (security.md)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
        user=user, name="test", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def api_as() -> Any:
    return Api


def letter(**overrides: Any) -> dict[str, Any]:
    """A staff-registered claim letter from one petitioner."""
    body: dict[str, Any] = {
        "title": "孩子入学学位分配问题",
        "content": "我家孩子今年应升入初中，户籍在本学区却被分配到十公里外的学校，请求重新分配学位。",
        "category": "claim",
        "division_code": "990101",
        "channel": "letter",
        "received_on": "2026-09-28",
        "petitioners": [
            {"name": "王小明", "phone": "13800000000", "id_number": "990101198001010011"}
        ],
    }
    body.update(overrides)
    return body
