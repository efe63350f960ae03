"""The access matrix: every URL of the project, and what each kind of caller gets from it.

The URLs are enumerated at run time (Django's resolver, and the methods of each django-ninja
operation), then compared with `MATRIX`, a table written by hand from the intended access model:

- staff see the cases held, routed, registered or last decided by their organisation or any
  organisation below it; supervisors and analysts their jurisdiction (their subtree); the admin role
  reads no case contents; the accused organ (and its subordinates other than petition departments)
  never sees an accusation against it;
- action verbs: only staff who see the case (others: 404, like a case that does not exist); the
  role and holder rules of `cases/transitions.py` and docs/api.md "Acting" decide between 2xx and
  403 for those who see it;
- public: submitting, tracking with the access key, the OpenAPI schema and docs, the root page;
- admin/: only the admin role (is_staff) with a verified second factor.

A URL or method the project has and the table lacks fails `test_every_url_has_a_matrix_entry`; an
entry for a URL the project no longer has fails `test_every_matrix_entry_is_still_a_url`.

Outcomes: "ok" the call succeeds (2xx, or a redirect that is not to a login page); "allow" the call
gets past access control (anything but 401/403/404 and a login redirect: a 400/409/422 about the
payload or the case's state is fine); "401", "403", "404" exactly that status; "deny" any of 401,
403, 404 or a redirect to a login page; "answered" any 2xx or 3xx, a redirect to the login page
included (logging out).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.accounts.selectors import invalidate_org_tree
from petitiondesk.accounts.services import token_create, user_add
from petitiondesk.cases import services
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from tests.conftest import letter

# --- personas ---------------------------------------------------------------------------------

PERSONAS = (
    "anonymous",  # no credentials at all
    "citizen",  # the petitioner: no token, the case's access key in X-Access-Key
    "clerk",  # K-XF (county petition bureau): registered and routed the cases
    "handler",  # K-EDU, the organ holding the claim
    "housing_handler",  # K-HOUSING: another organ for the claim, the accused organ for the accusation
    "head",  # K-EDU
    "county_handler",  # K, the county government (decides reviews)
    "city_handler",  # C, the city government (decides re-reviews)
    "supervisor",  # C: the claim and the accusation are in their jurisdiction
    "supervisor_c2",  # C2, another city: neither case is in their jurisdiction
    "analyst",  # C
    "admin",  # role admin, is_staff: administers, reads no case contents
)
PUBLIC = ("anonymous", "citizen")
STAFF = tuple(p for p in PERSONAS if p not in PUBLIC)

# (username, org, role) of each staff persona.
STAFF_USERS = {
    "clerk": ("alice", "K-XF", "clerk"),
    "handler": ("bob", "K-EDU", "handler"),
    "housing_handler": ("hugo", "K-HOUSING", "handler"),
    "head": ("erin", "K-EDU", "head"),
    "county_handler": ("frank", "K", "handler"),
    "city_handler": ("grace", "C", "handler"),
    "supervisor": ("carol", "C", "supervisor"),
    "supervisor_c2": ("dora", "C2", "supervisor"),
    "analyst": ("hank", "C", "analyst"),
    "admin": ("root", "P", "admin"),
}

# Who sees which case (the spec, not the code).
# The claim: registered and routed by K-XF, held by K-EDU.
CLAIM_HIDDEN = ("housing_handler", "supervisor_c2", "admin")
# A claim K-EDU never held or decided (still at K-XF), or one decided above K-EDU (by K): the
# education bureau no longer sees it.
AWAY_FROM_EDU_HIDDEN = ("handler", "head", "housing_handler", "supervisor_c2", "admin")
# The accusation against K-HOUSING: registered and routed by K-XF, held by the discipline organ.
# The accused organ's superiors (K, C) do see it: the matter goes up to them, not to the accused
# (docs/security.md "Accusations").
ACCUSATION_HIDDEN = ("handler", "head", "housing_handler", "supervisor_c2", "admin")
ACCUSATION_SEES = tuple(p for p in STAFF if p not in ACCUSATION_HIDDEN)

# --- the table --------------------------------------------------------------------------------


def everyone(outcome: str) -> dict[str, str]:
    return dict.fromkeys(PERSONAS, outcome)


def staff_only(default: str = "403", **outcomes: str) -> dict[str, str]:
    """The public gets 401; staff get `default` unless named."""
    return {**dict.fromkeys(PUBLIC, "401"), **dict.fromkeys(STAFF, default), **outcomes}


def on_case(hidden: tuple[str, ...], **outcomes: str) -> dict[str, str]:
    """A case URL: the public 401, staff who do not see the case 404, the staff named their
    outcome, every other member of staff who sees the case 403."""
    row = staff_only("403", **dict.fromkeys(hidden, "404"))
    assert not set(outcomes) & set(hidden)
    return {**row, **outcomes}


def tracked(citizen: str) -> dict[str, str]:
    """A tracking URL: only the petitioner, with the access key, gets past; all others 404."""
    return {**everyone("404"), "citizen": citizen}


CLAIM_READERS = dict.fromkeys(
    ("clerk", "handler", "head", "county_handler", "city_handler", "supervisor", "analyst"), "ok"
)
V1 = "/api/v1"

MATRIX: dict[tuple[str, str], dict[str, str]] = {
    # The root page and the API's own pages are public.
    # The language switch answers everyone (a redirect back).
    ("*", "/i18n/setlang/"): everyone("answered"),
    ("*", "/api/openapi.json"): everyone("ok"),
    ("*", "/api/docs"): everyone("ok"),
    # django-ninja's helper view for reversing its URLs: a 404 for everyone, nothing behind it.
    ("*", "/api/"): everyone("404"),
    # Logging in and out (function views: any method).
    ("*", "/accounts/login/"): everyone("allow"),
    ("*", "/accounts/logout/"): everyone("answered"),
    # Submitting is open to the public and to the staff who register petitions (clerks, handlers,
    # heads); supervisors, analysts and admins do not register (403).
    ("POST", f"{V1}/petitions"): {
        **everyone("ok"),
        **dict.fromkeys(("supervisor", "supervisor_c2", "analyst", "admin"), "403"),
    },
    ("GET", f"{V1}/petitions"): staff_only("ok"),
    ("GET", f"{V1}/petitions/{{case_id}}"): on_case(CLAIM_HIDDEN, **CLAIM_READERS),
    # Action verbs, each called in a state that allows it (see PROBES).
    ("POST", f"{V1}/petitions/{{case_id}}/actions/route"): on_case(
        AWAY_FROM_EDU_HIDDEN, clerk="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/object"): on_case(
        CLAIM_HIDDEN, handler="ok", head="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/accept"): on_case(
        CLAIM_HIDDEN, handler="ok", head="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/decline"): on_case(
        CLAIM_HIDDEN, handler="ok", head="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/extend"): on_case(
        CLAIM_HIDDEN, handler="ok", head="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/reply"): on_case(
        CLAIM_HIDDEN, handler="ok", head="ok"
    ),
    # Appeals are registered at the holding (K-EDU) or the receiving organ (K).
    ("POST", f"{V1}/petitions/{{case_id}}/actions/request_review"): on_case(
        CLAIM_HIDDEN, handler="ok", head="ok", county_handler="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/decide_review"): on_case(
        CLAIM_HIDDEN, county_handler="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/request_rereview"): on_case(
        AWAY_FROM_EDU_HIDDEN, county_handler="ok", city_handler="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/hearing"): on_case(
        AWAY_FROM_EDU_HIDDEN, city_handler="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/decide_rereview"): on_case(
        AWAY_FROM_EDU_HIDDEN, city_handler="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/close"): on_case(
        CLAIM_HIDDEN, handler="ok", head="ok"
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/link"): on_case(
        CLAIM_HIDDEN, **{**CLAIM_READERS, "analyst": "403"}
    ),
    # The head assigns anyone of the holding organ, a handler only themself ({"username": "bob"}).
    ("POST", f"{V1}/petitions/{{case_id}}/actions/assign"): on_case(
        CLAIM_HIDDEN, handler="ok", head="ok"
    ),
    # Attachments: filed by clerks, handlers and heads who see the case, read by all who see it.
    ("POST", f"{V1}/petitions/{{case_id}}/attachments"): on_case(
        CLAIM_HIDDEN, clerk="ok", handler="ok", head="ok", county_handler="ok", city_handler="ok"
    ),
    ("GET", f"{V1}/petitions/{{case_id}}/attachments/{{attachment_id}}"): on_case(
        CLAIM_HIDDEN, **CLAIM_READERS
    ),
    # The petitioner's side: the access key is the only credential; staff tokens count for nothing.
    ("GET", f"{V1}/track/{{tracking_number}}"): tracked("ok"),
    ("POST", f"{V1}/track/{{tracking_number}}/rate"): tracked("allow"),  # 409: not replied yet
    ("POST", f"{V1}/track/{{tracking_number}}/material"): tracked("ok"),
    ("POST", f"{V1}/track/{{tracking_number}}/request_review"): tracked("allow"),
    ("POST", f"{V1}/track/{{tracking_number}}/request_rereview"): tracked("allow"),
    ("POST", f"{V1}/track/{{tracking_number}}/attachments"): tracked("ok"),
    # The log of reads of confidential cases and accusations: supervisors and admins.
    ("GET", f"{V1}/audit/reads"): staff_only(supervisor="ok", supervisor_c2="ok", admin="ok"),
    ("GET", f"{V1}/audit/reads.csv"): staff_only(supervisor="ok", supervisor_c2="ok", admin="ok"),
}

# Every pattern under admin/ is one rule: the admin persona with a verified second factor only.
ADMIN_PREFIX = "/admin/"
ADMIN_RULE = {**everyone("deny"), "admin": "allow"}
# Admin URLs that must stay reachable to get in at all (the login form), take POST only, or
# answer only with query parameters (autocomplete: 403 without them, for the admin as well).
ADMIN_OPEN = ("/admin/login/", "/admin/logout/", "/admin/autocomplete/")

# Entries for what another engineer is building now. Those that still fail against the code are
# marked xfail(strict=True): once the feature is in and right, the xfail must go.
BEING_BUILT: dict[tuple[str, str], str] = {}

# --- enumerating the project's URLs -----------------------------------------------------------

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def _methods(callback: Any) -> tuple[str, ...]:
    """The HTTP methods a view answers: a django-ninja PathView's operations, a class-based view's
    handlers, or "*" (any) for a plain function view."""
    for cell in getattr(callback, "__closure__", None) or ():
        target = cell.cell_contents
        if type(target).__name__ == "PathView":
            return tuple(sorted({m.upper() for op in target.operations for m in op.methods}))
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return tuple(
            m.upper()
            for m in view_class.http_method_names
            if m not in ("head", "options") and hasattr(view_class, m)
        )
    return ("*",)


def admin_patterns() -> list[str]:
    return sorted(
        {
            route
            for route, _cb in _walk(get_resolver().url_patterns, "/")
            if route.startswith("/admin/")
        }
    )


def project_routes() -> set[tuple[str, str]]:
    """(METHOD, pattern) of every URL outside admin/, patterns written as "/api/v1/x/{id}"."""
    out: set[tuple[str, str]] = set()
    for route, callback in _walk(get_resolver().url_patterns, "/"):
        if route.startswith(ADMIN_PREFIX):
            continue
        pattern = _PARAM.sub(r"{\1}", route)
        out.update((method, pattern) for method in _methods(callback))
    return out


def test_every_url_has_a_matrix_entry() -> None:
    missing = sorted(project_routes() - set(MATRIX))
    assert not missing, "\n".join(
        f"add an access-matrix entry for {method} {path}" for method, path in missing
    )


def test_every_matrix_entry_is_still_a_url() -> None:
    stale = sorted(set(MATRIX) - project_routes())
    assert not stale, "\n".join(
        f"the project has no {method} {path} any more: remove its access-matrix entry"
        for method, path in stale
    )


def test_the_admin_rule_covers_every_admin_url() -> None:
    patterns = admin_patterns()
    assert patterns, "no admin/ URLs found: is the admin site still mounted at /admin/?"
    assert all(p.startswith(ADMIN_PREFIX) for p in patterns)


def test_every_entry_names_every_persona_with_a_known_outcome() -> None:
    for key, row in {**MATRIX, ("*", ADMIN_PREFIX): ADMIN_RULE}.items():
        assert set(row) == set(PERSONAS), key
        assert set(row.values()) <= {"ok", "answered", "allow", "deny", "401", "403", "404"}, key
    assert set(PROBES) == set(MATRIX)


# --- the world the matrix is checked against --------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]
    sessions: dict[str, Client]
    claim: int
    claim_tn: str
    claim_key: str
    accusation: int
    accusation_tn: str
    accusation_key: str
    api: Client = field(default_factory=Client)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()


def register(actor: User, **overrides: Any) -> tuple[int, str, str]:
    """A letter registered through the intake service: (id, tracking number, access key)."""
    body = letter(**overrides)
    body["petitioners"] = [PetitionerData(**p) for p in body["petitioners"]]
    body["received_on"] = dt.date.fromisoformat(body["received_on"])
    receipt = petition_submit(submission=Submission(**body), actor=actor)
    return receipt.case.pk, receipt.case.tracking_number, receipt.access_key or ""


def verified_session(user: User) -> Client:
    """A browser session for `user`, its second factor verified (django-otp)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def build_world() -> World:
    """conftest's org tree plus a second city C2; one user per staff persona; the two cases."""
    Organisation.objects.create(
        code="C2",
        name="另一市人民政府",
        kind="organ",
        level="city",
        parent=Organisation.objects.get(code="P"),
        division_code="990200",
    )
    invalidate_org_tree()
    users = {
        persona: user_add(username=name, org_code=org, role=role)
        for persona, (name, org, role) in STAFF_USERS.items()
    }
    users["admin"].is_staff = True
    users["admin"].save(update_fields=["is_staff"])
    claim, claim_tn, claim_key = register(users["clerk"], received_on="2026-11-20")
    services.case_route(
        case_id=claim,
        actor=users["clerk"],
        to_org="K-EDU",
        effective_on=dt.date(2026, 11, 23),
    )
    accusation, acc_tn, acc_key = register(
        users["clerk"],
        received_on="2026-11-20",
        category="accusation",
        accused_orgs=["K-HOUSING"],
        title="举报住建局违规审批",
        content="县住建局在保障房分配中违规审批，请求查处。",
        petitioners=[{"name": "赵敏", "phone": "13911112222", "id_number": "990101199002023344"}],
    )
    services.case_route(
        case_id=accusation,
        actor=users["clerk"],
        to_org="K-JW",
        mode="to_discipline",
        effective_on=dt.date(2026, 11, 23),
    )
    return World(
        users=users,
        tokens={p: token_create(user=u) for p, u in users.items()},
        # Logged in here, outside the probes' rolled-back transactions: a session created inside
        # one would be gone for the next request.
        sessions={p: verified_session(u) for p, u in users.items()},
        claim=claim,
        claim_tn=claim_tn,
        claim_key=claim_key,
        accusation=accusation,
        accusation_tn=acc_tn,
        accusation_key=acc_key,
    )


@pytest.fixture
def world(org_tree: None, settings: Any, tmp_path: Any) -> World:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    return build_world()


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever happens inside is undone: every probe starts from the same world."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- calling a URL as a persona ---------------------------------------------------------------


def call(
    world: World,
    persona: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    upload: bool = False,
    access_key: str = "",
) -> Any:
    """One request as `persona`: API calls carry a bearer token, pages a verified session; the
    citizen sends the access key and nothing else."""
    headers: dict[str, str] = {}
    client = Client()
    if path.startswith("/open311/") and method == "POST":
        # Open311 clients post a form, authenticated by its api_key field (the API token).
        from urllib.parse import urlencode

        form = {**(body or {}), "api_key": world.tokens.get(persona, "")}
        return client.post(path, urlencode(form), "application/x-www-form-urlencoded")
    if path.startswith(V1 + "/"):
        client = world.api
        if persona in world.tokens:
            headers["Authorization"] = f"Bearer {world.tokens[persona]}"
    elif persona in world.users:
        if persona not in world.sessions:
            world.sessions[persona] = verified_session(world.users[persona])
        client = world.sessions[persona]
    if persona == "citizen" and access_key:
        headers["X-Access-Key"] = access_key
    if upload:
        from django.core.files.uploadedfile import SimpleUploadedFile

        data: Any = {"file": SimpleUploadedFile("scan.png", PNG, content_type="image/png")}
        return client.post(path, data=data, headers=headers)
    if method in ("GET", "*"):
        return client.get(path, headers=headers)
    return client.generic(
        method,
        path,
        data=json.dumps(body if body is not None else {}),
        content_type="application/json",
        headers=headers,
    )


def body_of(response: Any) -> bytes:
    """The body of any response, a streamed file download included."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def error_code(response: Any) -> str | None:
    try:
        return response.json()["error"]["code"]
    except Exception:
        return None


def outcome(response: Any) -> str:
    """What the caller got, in the table's terms (the most specific that applies)."""
    status = response.status_code
    if status in (401, 403, 404):
        return str(status)
    if 300 <= status < 400 and "login" in response.get("Location", ""):
        return "login"
    if error_code(response) in ("forbidden", "permission_denied"):
        return "403"
    return "ok" if status < 400 else "allow"


def matches(expected: str, got: str) -> bool:
    if expected == "answered":
        return got in ("ok", "login")
    if expected == "allow":
        return got in ("ok", "allow")
    if expected == "deny":
        return got in ("401", "403", "404", "login")
    return expected == got


# --- how each entry is exercised -------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """`setup` runs (undone afterwards) before the personas call; it returns the path values
    (case_id, tracking_number, attachment_id, access_key) and anything `body` needs."""

    setup: Callable[[World], dict[str, Any]] = lambda w: {}
    body: Callable[[dict[str, Any]], Any] = lambda ctx: None
    methods: tuple[str, ...] = ()  # for "*" entries: the methods to try
    upload: bool = False
    public_body: Callable[[dict[str, Any]], Any] | None = None  # what the public sends instead
    # Pages that are the same for everyone and slow to render are tried by a sample of personas.
    personas: tuple[str, ...] = PERSONAS


def _at(stage: str) -> Callable[[World], dict[str, Any]]:
    """The fixture claim, moved along the lifecycle to `stage` through the services."""

    def setup(w: World) -> dict[str, Any]:
        u = w.users
        steps: list[tuple[Callable[..., Any], str, dict[str, Any]]] = [
            (services.case_accept, "handler", {"claim_route": 6, "effective_on": "2026-11-24"}),
            (services.case_reply, "handler", _opinion("2026-11-25")),
            (
                services.case_request_review,
                "handler",
                {"to_org": "K", "effective_on": "2026-11-25"},
            ),
            (services.case_decide_review, "county_handler", _opinion("2026-11-26")),
            (
                services.case_request_rereview,
                "county_handler",
                {"to_org": "C", "effective_on": "2026-11-26"},
            ),
        ]
        order = ["routed", "accepted", "replied", "under_review", "reviewed", "under_rereview"]
        for service, actor, kwargs in steps[: order.index(stage)]:
            service(case_id=w.claim, actor=u[actor], **_dates(kwargs))
        return {"case_id": w.claim}

    return setup


def _opinion(on: str) -> dict[str, Any]:
    return {"outcome": "explain", "opinion": "经核查，学位分配符合政策。", "effective_on": on}


def _dates(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        k: dt.date.fromisoformat(v) if k in ("effective_on", "delivered_on") else v
        for k, v in kwargs.items()
    }


def _fresh_claim(w: World) -> dict[str, Any]:
    case_id, _tn, _key = register(w.users["clerk"], received_on="2026-11-20", content="另一封来信")
    return {"case_id": case_id}


def _closable(w: World) -> dict[str, Any]:
    """A claim replied to on 2026-08-20: the review window ran out long ago."""
    u = w.users
    case_id, _tn, _key = register(u["clerk"], received_on="2026-08-03", content="旧的来信")
    services.case_route(
        case_id=case_id, actor=u["clerk"], to_org="K-EDU", effective_on=dt.date(2026, 8, 4)
    )
    services.case_accept(
        case_id=case_id, actor=u["handler"], claim_route=6, effective_on=dt.date(2026, 8, 5)
    )
    services.case_reply(case_id=case_id, actor=u["handler"], **_dates(_opinion("2026-08-20")))
    return {"case_id": case_id}


def _linkable(w: World) -> dict[str, Any]:
    """Another case held by K-EDU: one may link only to cases one can see."""
    other, _tn, _key = register(w.users["clerk"], received_on="2026-11-20", content="同一事项来信")
    services.case_route(
        case_id=other, actor=w.users["clerk"], to_org="K-EDU", effective_on=dt.date(2026, 11, 23)
    )
    return {"case_id": w.claim, "other_id": other}


def _with_attachment(w: World) -> dict[str, Any]:
    """The claim and the accusation each with a file, filed over HTTP by the clerk."""
    ids = {}
    for name, case_id in (("attachment_id", w.claim), ("accusation_attachment_id", w.accusation)):
        r = call(w, "clerk", "POST", f"{V1}/petitions/{case_id}/attachments", upload=True)
        assert r.status_code == 201, r.content
        ids[name] = r.json()["id"]
    return {"case_id": w.claim, **ids}


def _tracking(w: World) -> dict[str, Any]:
    return {"tracking_number": w.claim_tn, "access_key": w.claim_key}


CLAIM = lambda w: {"case_id": w.claim}  # noqa: E731
SAMPLE = ("anonymous", "citizen", "clerk", "supervisor", "admin")

PROBES: dict[tuple[str, str], Probe] = {
    ("*", "/i18n/setlang/"): Probe(methods=("POST",), body=lambda ctx: {"language": "en"}),
    ("*", "/api/openapi.json"): Probe(methods=("GET",), personas=SAMPLE),
    ("*", "/api/docs"): Probe(methods=("GET",), personas=SAMPLE),
    ("*", "/api/"): Probe(methods=("GET",)),
    ("*", "/accounts/login/"): Probe(methods=("GET", "POST")),
    ("*", "/accounts/logout/"): Probe(methods=("POST",)),
    ("POST", f"{V1}/petitions"): Probe(
        body=lambda ctx: letter(received_on="2026-11-26"),
        # The web form: no channel, no received_on (those are for staff registering a letter).
        public_body=lambda ctx: {
            k: v for k, v in letter().items() if k not in ("channel", "received_on")
        },
    ),
    ("GET", f"{V1}/petitions"): Probe(),
    ("GET", f"{V1}/petitions/{{case_id}}"): Probe(setup=CLAIM),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/route"): Probe(
        setup=_fresh_claim, body=lambda ctx: {"to_org": "K-EDU"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/object"): Probe(
        setup=_at("routed"), body=lambda ctx: {"reason": "不属本单位职责"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/accept"): Probe(
        setup=_at("routed"), body=lambda ctx: {"claim_route": 6}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/decline"): Probe(
        setup=_at("routed"), body=lambda ctx: {"reason_code": "other", "reason": "非信访事项"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/extend"): Probe(
        setup=_at("accepted"),
        body=lambda ctx: {
            "days": 30,
            "reason": "情况复杂",
            "approved_by": "erin",
            "petitioner_notified_on": "2026-11-27",
        },
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/reply"): Probe(
        setup=_at("accepted"), body=lambda ctx: _opinion("2026-11-27")
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/request_review"): Probe(
        setup=_at("replied"), body=lambda ctx: {"to_org": "K"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/decide_review"): Probe(
        setup=_at("under_review"), body=lambda ctx: _opinion("2026-11-27")
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/request_rereview"): Probe(
        setup=_at("reviewed"), body=lambda ctx: {"to_org": "C"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/hearing"): Probe(
        setup=_at("under_rereview"), body=lambda ctx: {"from": "2026-11-27", "to": "2026-11-27"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/decide_rereview"): Probe(
        setup=_at("under_rereview"), body=lambda ctx: _opinion("2026-11-27")
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/close"): Probe(
        setup=_closable, body=lambda ctx: {"reason": "办结"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/link"): Probe(
        setup=_linkable, body=lambda ctx: {"other_id": ctx["other_id"], "relation": "related"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/actions/assign"): Probe(
        setup=_at("routed"), body=lambda ctx: {"username": "bob"}
    ),
    ("POST", f"{V1}/petitions/{{case_id}}/attachments"): Probe(setup=CLAIM, upload=True),
    ("GET", f"{V1}/petitions/{{case_id}}/attachments/{{attachment_id}}"): Probe(
        setup=_with_attachment
    ),
    ("GET", f"{V1}/track/{{tracking_number}}"): Probe(setup=_tracking),
    ("POST", f"{V1}/track/{{tracking_number}}/rate"): Probe(
        setup=_tracking, body=lambda ctx: {"rating": "satisfied"}
    ),
    ("POST", f"{V1}/track/{{tracking_number}}/material"): Probe(
        setup=_tracking, body=lambda ctx: {"text": "补充一份证明材料"}
    ),
    ("POST", f"{V1}/track/{{tracking_number}}/request_review"): Probe(
        setup=_tracking, body=lambda ctx: {"to_org": "K"}
    ),
    ("POST", f"{V1}/track/{{tracking_number}}/request_rereview"): Probe(
        setup=_tracking, body=lambda ctx: {"to_org": "C"}
    ),
    ("POST", f"{V1}/track/{{tracking_number}}/attachments"): Probe(setup=_tracking, upload=True),
    ("GET", f"{V1}/audit/reads"): Probe(),
    ("GET", f"{V1}/audit/reads.csv"): Probe(),
}

# The pages keep their entries in their own modules (one per area of the site), merged here.
for _area in (
    "tests.access_portal",
    "tests.access_desk",
    "tests.access_open311",
    "tests.access_mail",
    "tests.access_notices",
    "tests.access_transfer",
    "tests.access_suggestions",
    "tests.access_routing",
    "tests.access_analytics",
    "tests.access_supervision",
    "tests.access_ops",
):
    _entries = importlib.import_module(_area)
    MATRIX.update(_entries.MATRIX_ENTRIES)
    PROBES.update(_entries.PROBE_ENTRIES)


def _fill(pattern: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), pattern)


def _entry_params() -> list[Any]:
    params = []
    for key in MATRIX:
        marks = (
            [pytest.mark.xfail(strict=True, reason=BEING_BUILT[key])] if key in BEING_BUILT else []
        )
        params.append(pytest.param(key, id=f"{key[0]} {key[1]}", marks=marks))
    return params


@pytest.mark.parametrize("key", _entry_params())
def test_access(world: World, key: tuple[str, str]) -> None:
    """Every persona against one entry of the matrix; every mismatch is reported at once."""
    method, pattern = key
    expected, probe = MATRIX[key], PROBES[key]
    failures: list[str] = []
    with rolled_back():
        ctx = probe.setup(world)
        path = _fill(pattern, ctx)
        body = probe.body(ctx)
        public_body = probe.public_body(ctx) if probe.public_body else body
        for verb in probe.methods or (method,):
            for persona in probe.personas:
                want = expected[persona]
                with rolled_back():
                    r = call(
                        world,
                        persona,
                        verb,
                        path,
                        body=public_body if persona in PUBLIC else body,
                        upload=probe.upload,
                        access_key=ctx.get("access_key", ""),
                    )
                got = outcome(r)
                if not matches(want, got):
                    failures.append(
                        f"{persona}: {verb} {path} expected {want}, got {got} "
                        f"({r.status_code} {body_of(r)[:200]!r})"
                    )
                if got == "ok" and "attachment_id" in pattern:
                    disposition = r.get("Content-Disposition", "")
                    if not disposition.startswith("attachment"):
                        failures.append(f"{persona}: Content-Disposition {disposition!r}")
        if "{case_id}" in pattern:
            failures += _accusation_is_not_found(world, method, pattern, ctx, body, probe.upload)
        if "{tracking_number}" in pattern:
            failures += _wrong_key_is_not_found(world, method, pattern, body, probe.upload)
    assert not failures, "\n".join(failures)


def _accusation_is_not_found(
    world: World,
    method: str,
    pattern: str,
    ctx: dict[str, Any],
    body: Any,
    upload: bool,
    personas: tuple[str, ...] = ACCUSATION_HIDDEN,
) -> list[str]:
    """The same URL on the accusation: 404 for everyone who does not see it, and the same 404 as a
    case that does not exist."""
    failures = []
    on_accusation = _fill(
        pattern,
        {
            **ctx,
            "case_id": world.accusation,
            "attachment_id": ctx.get("accusation_attachment_id", 0),
        },
    )
    nowhere = _fill(pattern, {**ctx, "case_id": world.accusation + 10_000})
    with rolled_back():
        missing = call(world, "clerk", method, nowhere, body=body, upload=upload)
    for persona in personas:
        with rolled_back():
            r = call(world, persona, method, on_accusation, body=body, upload=upload)
        if r.status_code != 404:
            failures.append(
                f"{persona}: {method} {on_accusation} (the accusation) expected 404, got "
                f"{r.status_code} {body_of(r)[:200]!r}"
            )
        elif missing.status_code == 404 and error_code(r) != error_code(missing):
            failures.append(
                f"{persona}: {method} {on_accusation}: the 404 differs from a missing case's "
                f"({body_of(r)[:200]!r} vs {body_of(missing)[:200]!r})"
            )
    return failures


def _wrong_key_is_not_found(
    world: World, method: str, pattern: str, body: Any, upload: bool
) -> list[str]:
    failures = []
    for number, key in (
        (world.claim_tn, world.accusation_key),  # another case's key
        (world.claim_tn, "wrong-key"),
        ("XF00000000000000", world.claim_key),  # no such tracking number
    ):
        with rolled_back():
            r = call(
                world,
                "citizen",
                method,
                _fill(pattern, {"tracking_number": number}),
                body=body,
                upload=upload,
                access_key=key,
            )
        if r.status_code != 404:
            failures.append(f"citizen with a wrong key: expected 404, got {r.status_code}")
    return failures


# --- what the readers are shown ---------------------------------------------------------------


def test_the_case_list_shows_each_persona_the_cases_it_may_read(world: World) -> None:
    claim_readers = set(CLAIM_READERS)
    failures = []
    for persona in STAFF:
        r = call(world, persona, "GET", f"{V1}/petitions")
        assert r.status_code == 200, (persona, r.content)
        ids = {c["id"] for c in r.json()["results"]}
        seen = {"claim": world.claim in ids, "accusation": world.accusation in ids}
        want = {"claim": persona in claim_readers, "accusation": persona in ACCUSATION_SEES}
        if seen != want:
            failures.append(f"{persona}: list shows {seen}, expected {want}")
        if persona == "admin" and r.json()["count"] != 0:
            failures.append(f"admin: the case list must be empty, count={r.json()['count']}")
    assert not failures, "\n".join(failures)


def test_the_accused_organ_gets_404_from_every_case_url_of_the_accusation(world: World) -> None:
    """K-HOUSING, whatever it calls: 404 from every case URL, as for a case that does not exist."""
    failures = []
    for key, probe in PROBES.items():
        method, pattern = key
        if "{case_id}" not in pattern or key in BEING_BUILT:
            continue
        with rolled_back():
            ctx = probe.setup(world)
            failures += _accusation_is_not_found(
                world, method, pattern, ctx, probe.body(ctx), probe.upload, ("housing_handler",)
            )
    assert not failures, "\n".join(failures)


def test_those_who_see_the_accusation_can_read_it(world: World) -> None:
    for persona in ACCUSATION_SEES:
        r = call(world, persona, "GET", f"{V1}/petitions/{world.accusation}")
        assert r.status_code == 200, (persona, r.content)


def test_an_assigning_handler_may_assign_only_themself(world: World) -> None:
    """Being built: a handler of the holding organ may take the case, not hand it to someone."""
    r = call(
        world,
        "handler",
        "POST",
        f"{V1}/petitions/{world.claim}/actions/assign",
        body={"username": "erin"},
    )
    assert r.status_code == 403, r.content
    assert error_code(r) in ("permission_denied", "forbidden")


# --- the admin site ---------------------------------------------------------------------------


def _as_admin_request() -> Any:
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User(username="probe", role="admin", is_staff=True, is_superuser=True)
    return request


def admin_sample_urls() -> list[str]:
    """A concrete URL for every admin pattern that can be filled in: the index and app indexes,
    each registered model's changelist, add, and (with an existing object) change, history and
    delete pages, the site's own pages."""
    urls: set[str] = set()
    objects = {}
    no_add_page = set()  # read-only models (logs, task results): their add page is a 403
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        urls.update({base, base + "add/", f"/admin/{opts.app_label}/"})
        if not model_admin.has_add_permission(_as_admin_request()):
            no_add_page.add(base + "add/")
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            objects[base] = obj.pk
    for pattern in admin_patterns():
        if pattern in ADMIN_OPEN or "(?P<" in pattern or "r/<" in pattern:
            continue  # the login form; regexes (app indexes, done above); view-on-site redirects
        if "<" not in pattern:
            urls.add(pattern)
            continue
        base = next((b for b in objects if pattern.startswith(b)), None)
        if base is not None:
            urls.add(_PARAM.sub(str(objects[base]), pattern))
    return sorted(urls - no_add_page)


def test_the_admin_site_is_for_the_admin_with_a_second_factor(world: World) -> None:
    """Every persona on the index and a changelist; on every other sample URL the admin, the
    public and a supervisor (the same check turns all non-admins away)."""
    failures = []
    urls = admin_sample_urls()
    everybody = {"/admin/", "/admin/accounts/user/"}
    for url in urls:
        personas = PERSONAS if url in everybody else ("anonymous", "supervisor", "admin")
        for persona in personas:
            want = ADMIN_RULE[persona]
            r = call(world, persona, "GET", url)
            got = outcome(r)
            if not matches(want, got):
                failures.append(
                    f"{persona}: GET {url} expected {want}, got {got} ({r.status_code})"
                )
    assert not failures, "\n".join(failures)


def _admin_denied(client: Client) -> list[str]:
    failures = []
    for url in admin_sample_urls():
        r = client.get(url)
        if not matches("deny", outcome(r)):
            failures.append(f"GET {url} got {r.status_code}")
    return failures


def test_the_admin_site_needs_the_second_factor(world: World) -> None:
    unverified = Client()
    unverified.force_login(world.users["admin"])

    failures = _admin_denied(unverified)

    assert not failures, "\n".join(failures)


def test_the_admin_site_is_for_the_admin_role_only(world: World) -> None:
    """is_staff and a verified session are not enough for another role."""
    supervisor = world.users["supervisor"]
    supervisor.is_staff = True
    supervisor.save(update_fields=["is_staff"])

    failures = _admin_denied(verified_session(supervisor))

    assert not failures, "\n".join(failures)


def test_the_admin_reads_no_case_contents(world: World) -> None:
    """Neither through the API nor through any page of the admin site."""
    assert call(world, "admin", "GET", f"{V1}/petitions/{world.claim}").status_code == 404
    secrets = ("王小明", "13800000000", "990101198001010011", "赵敏", "13911112222")
    for url in admin_sample_urls():
        page = call(world, "admin", "GET", url).content.decode("utf-8", "replace")
        leaked = [s for s in secrets if s in page]
        assert not leaked, f"{url} shows {leaked}"
