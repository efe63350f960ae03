"""Property-based run of the whole API against its own OpenAPI schema (schemathesis).

Every operation of /api/openapi.json gets requests sent in-process to the project's WSGI
application: the ones schemathesis derives from the schema (coverage phase: boundaries, wrong
types, missing, null and unknown values) and a bounded number of generated ones, valid and invalid
(fuzzing phase). Every answer must not be a 5xx, must have a documented status code and content
type, and must match the schema declared for that status, the error envelope included.

The data is real: the org tree and personas of conftest, with tokens, and cases at each point of
the lifecycle from registered to reviewed. Parts of a generated request are pointed at that data
most of the time (an existing case and a token of a staff member of its organisation, a tracking
number with its access key, an org code or username), so the happy paths run as well as the
refusals.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import token_create
from petitiondesk.cases.models import Case
from tests.conftest import ORGS, Api, letter, login_verified

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation. The suite's run is derandomised: the same requests every time, so that
# `make test` does not fail at random on a bug in code nobody touched. A deeper, random run by
# hand explores further: PETITIONDESK_API_FUZZ_EXAMPLES=300 pytest tests/test_api_schemathesis.py
DEEP_RUN = os.environ.get("PETITIONDESK_API_FUZZ_EXAMPLES", "").strip()
MAX_EXAMPLES = int(DEEP_RUN or 25)


class _Answer:
    """A response of the application, closed without the end-of-request cleanup (see `app`)."""

    def __init__(self, response: Iterable[bytes]) -> None:
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        request_finished.disconnect(close_old_connections)
        try:
            getattr(self.response, "close", lambda: None)()
        finally:
            request_finished.connect(close_old_connections)


def app(environ: dict[str, Any], start_response: Any) -> _Answer:
    """The project's WSGI application, minus the closing of the database connection at the start
    and end of each request, which would lose the test's transaction (pytest-django `db`): the
    connection is never in autocommit mode inside it. Django's own test client does the same."""
    request_started.disconnect(close_old_connections)
    try:
        return _Answer(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
# Sending every undeclared method to every path (405s) would be a sixth of the run, for little.
schema.config.phases.coverage.unexpected_methods = set()


@dataclass
class World:
    """What exists in the database, for pointing generated requests at it."""

    case_ids: list[int]
    insiders: dict[int, list[str]]  # case id -> tokens of staff of the organisation holding it
    tokens: list[str | None]  # every staff token, no token, and a wrong one
    default_token: str  # for the requests schemathesis derives from the schema (coverage phase)
    tracking: list[tuple[str, str]]  # (tracking number, access key)
    usernames: list[str]
    org_codes: list[str] = field(default_factory=lambda: [o["code"] for o in ORGS])

    def aim(self, case: Any, draw: Any) -> Any:
        """`case` with parts pointed at real data, each part on its own and three times in four, so
        that the generated values are sent as well."""

        def real() -> bool:
            return bool(draw(st.integers(0, 3)))

        params = dict(case.path_parameters or {})
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case_id = None
        if "case_id" in params and real():
            case_id = params["case_id"] = draw(st.sampled_from(self.case_ids))
        if "tracking_number" in params and real():
            params["tracking_number"], key = draw(st.sampled_from(self.tracking))
            if real():
                headers["X-Access-Key"] = key
        if isinstance(case.body, dict):
            body = dict(case.body)
            choices: dict[str, list[Any]] = {
                "to_org": self.org_codes,
                "other_id": self.case_ids,
                "approved_by": self.usernames,
                "username": self.usernames,
                "division_code": [o["division_code"] for o in ORGS],
            }
            for name, values in choices.items():
                if name in body and real():
                    body[name] = draw(st.sampled_from(values))
            for name in ("effective_on", "received_on"):
                if name in body and real():
                    del body[name]  # today: neither in the future nor before the last step
            if {"title", "content"} <= body.keys() and real():
                body["anonymous"] = True  # else a petitioner with a name is required
            case.body = body
        if case_id is not None and real():
            token = draw(st.sampled_from(self.insiders[case_id]))
        else:
            token = draw(st.sampled_from(self.tokens))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        case.path_parameters = params
        case.headers = CaseInsensitiveDict(headers)
        return case


class _Running:
    """The world of the test that is running, for the generation hook below."""

    world: World | None = None


@schema.hook
def flatmap_case(context: Any, case: Any) -> st.SearchStrategy[Any]:
    """Point the requests generated in the fuzzing phase at the data of `world` (see World.aim)."""
    world = _Running.world
    if world is None:
        return st.just(case)
    return st.composite(lambda draw: world.aim(case, draw))()


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def world(
    settings: Any,
    clerk_alice: User,
    handler_bob: User,
    head_erin: User,
    handler_frank: User,
    handler_grace: User,
    supervisor_carol: User,
) -> Iterator[World]:
    """Seven cases: six letters registered by alice that went through none, one, … five of the
    steps below, and one petition submitted online by the public."""
    # Generated tracking requests are mostly wrong guesses: past the per-IP limit every one would
    # be answered 429 (the limit itself is tested in test_api_input).
    settings.PETITIONDESK_TRACK_MAX_FAILURES = 1_000_000
    users = [clerk_alice, handler_bob, head_erin, handler_frank, handler_grace, supervisor_carol]
    alice, bob, frank = Api(clerk_alice), Api(handler_bob), Api(handler_frank)

    def opinion(on: str) -> dict[str, str]:
        return {"outcome": "support", "opinion": "予以支持。", "effective_on": on}

    steps: list[tuple[Api, str, dict[str, Any]]] = [
        (alice, "route", {"to_org": "K-EDU", "effective_on": "2026-09-29"}),
        (bob, "accept", {"claim_route": 6, "effective_on": "2026-10-09"}),
        (bob, "reply", opinion("2026-10-30")),
        (bob, "request_review", {"to_org": "K", "effective_on": "2026-11-02"}),
        (frank, "decide_review", opinion("2026-11-05")),
    ]
    receipts = []
    for n in range(len(steps) + 1):
        # Six people with the same complaint: near-duplicates, not one person's same matter
        # (which would be refused while pending elsewhere, docs/intelligence.md).
        body = letter(
            content=f"第{n}号来信：户籍在本学区却被分配到十公里外的学校。",
            petitioners=[{"name": f"王{n}", "phone": f"1380000{n:04d}"}],
        )
        receipt = ok(alice.post("/petitions", body), 201)
        for client, verb, step in steps[:n]:
            ok(client.act(receipt["id"], verb, **step))
        receipts.append(receipt)
    online = {
        k: v for k, v in letter(title="网上来信").items() if k not in ("channel", "received_on")
    }
    receipts.append(ok(Api().post("/petitions", online), 201))

    cases = Case.objects.filter(pk__in=[r["id"] for r in receipts])
    assert sorted(c.status for c in cases) == sorted(
        ["registered", "registered", "routed", "accepted", "replied", "under_review", "reviewed"]
    )
    tokens = {u.pk: token_create(user=u) for u in users}
    by_org: dict[int | None, list[str]] = {}
    for u in users:
        by_org.setdefault(u.org_id, []).append(tokens[u.pk])
    _Running.world = World(
        case_ids=[c.pk for c in cases],
        # A case held where none of the personas works gets anyone's token.
        insiders={c.pk: by_org.get(c.org_id) or list(tokens.values()) for c in cases},
        tokens=[*tokens.values(), None, "pd_not-a-token"],
        # The supervisor of the city sees every case of the tree and may read the audit.
        default_token=tokens[supervisor_carol.pk],
        tracking=[(r["tracking_number"], r["access_key"]) for r in receipts],
        usernames=[u.username for u in users],
    )
    yield _Running.world
    _Running.world = None


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=not DEEP_RUN,
    deadline=None,  # the clock is frozen (conftest) and every request goes to the database
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # `world` is built once per operation, on purpose
        HealthCheck.too_slow,
    ],
)
# Tracking numbers go into the rate-limit cache keys as sent (cases/selectors.py): the database
# cache stores any text, memcached would refuse some; not this test's business.
@pytest.mark.filterwarnings("ignore::django.core.cache.backends.base.CacheKeyWarning")
def test_every_operation_answers_as_documented(case: Any, world: World) -> None:
    """Fuzzing-phase requests were aimed by `flatmap_case`; the ones schemathesis derives from the
    schema itself (coverage phase: boundaries, wrong types, missing and unknown parameters) are
    sent with a staff token, so that they get past authentication."""
    if case.meta is None or case.meta.phase.name != TestPhase.FUZZING:
        headers = {k: v for k, v in case.headers.items() if k.lower() != "authorization"}
        case.headers = CaseInsensitiveDict(
            {**headers, "Authorization": f"Bearer {world.default_token}"}
        )
    case.call_and_validate(checks=CHECKS)


# --- what the run above found, pinned down -------------------------------------------------------


@pytest.fixture
def alice(clerk_alice: User) -> Api:
    client = Api(clerk_alice)
    client.client.raise_request_exception = False  # a 500 is an answer to assert on, too
    return client


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/petitions?q=%00", None),
        ("/petitions?status=%00", None),
        ("/track/%00", None),
        ("/petitions", '{"title": "\\u0000", "content": "x", "anonymous": true}'),
        ("/petitions", '{"title": "\\ud800", "content": "x", "anonymous": true}'),
        ("/petitions", '{"title": "t", "content": "x", "topic": "\\ud800", "anonymous": true}'),
        ("/petitions", '{"title": "t", "content": "x", "accused_orgs": ["K\\u0000"]}'),
        ("/petitions", '{"title": "t", "content": "x", "petitioners": [{"name": "\\ud800"}]}'),
        ("/petitions/{case}/actions/route", '{"to_org": "K-EDU\\u0000"}'),
        ("/petitions/{case}/actions/route", '{"to_org": "\\udfff"}'),
        ("/petitions/{case}/actions/object", '{"reason": "\\u0000"}'),
    ],
)
def test_text_no_database_can_store_is_refused_as_invalid_input(
    alice: Api, path: str, raw: str | None
) -> None:
    """NUL (PostgreSQL refuses it) and lone surrogates (not encodable) were 500s on PostgreSQL,
    lone surrogates on SQLite as well."""
    case_id = ok(alice.post("/petitions", letter()), 201)["id"]
    path = path.format(case=case_id)
    r = alice.get(path) if raw is None else alice.post(path, raw=raw)

    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    [message] = error["fields"].values()
    assert message in (
        "text must not contain NUL characters",
        "text must be valid Unicode (no lone surrogates)",
    )
    assert Case.objects.count() == 1


def test_every_operation_documents_the_error_envelope(client: Any) -> None:
    doc = client.get("/api/openapi.json").json()
    envelope = doc["components"]["schemas"]["ErrorOut"]
    assert envelope["required"] == ["error"]
    body = doc["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message", "fields"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            for status in ("400", "401", "404") if "security" in operation else ("400", "404"):
                assert status in declared, (method, path, status)
                schema_ref = operation["responses"][status]["content"]["application/json"]
                assert schema_ref["schema"] == {"$ref": "#/components/schemas/ErrorOut"}


def test_the_access_key_header_is_documented_under_the_name_clients_send(client: Any) -> None:
    operation = client.get("/api/openapi.json").json()["paths"]["/api/v1/track/{tracking_number}"]
    headers = [p["name"] for p in operation["get"]["parameters"] if p["in"] == "header"]
    assert headers == ["X-Access-Key"]


def test_a_validator_message_is_given_without_pydantic_wording(alice: Api) -> None:
    r = alice.get("/petitions?q=%00")

    assert json.loads(r.content)["error"]["fields"] == {"q": "text must not contain NUL characters"}


def test_a_session_without_its_csrf_token_is_forbidden_not_unauthenticated(
    clerk_alice: User,
) -> None:
    browser = Client(enforce_csrf_checks=True)
    login_verified(browser, clerk_alice)

    r = browser.post("/api/v1/petitions", json.dumps(letter()), content_type="application/json")

    assert r.status_code == 403, r.content
    assert r.json()["error"]["code"] == "forbidden"
    assert Case.objects.count() == 0
