"""Access-matrix entries of the people's suggestions area (merged by tests/test_access_matrix.py).

The public pages answer everyone. The staff pages: the public is sent to the login page, the
admin role (which reads no contents) gets 403, and a suggestion is seen by the staff of its
holding office and of the offices above it (here the county petition bureau K-XF, under the
county K, under the city C); other offices get the 404 of a suggestion that does not exist.
Which verb a role may take is decided by the service (tests/test_web_suggestions.py): an empty
action form is refused as invalid (422, "allow") for everyone who sees the suggestion.
"""

import datetime as dt
from typing import Any

from petitiondesk.suggestions.services import (
    SuggestionSubmission,
    solicitation_publish,
    suggestion_submit,
)
from tests.test_access_matrix import STAFF, Probe, World, everyone

TODAY = dt.date(2026, 11, 27)
PUBLIC_DENIED = {"anonymous": "deny", "citizen": "deny"}
# Staff who read suggestions; the admin role reads no contents.
STAFF_PAGE = {**PUBLIC_DENIED, **dict.fromkeys(STAFF, "ok"), "admin": "403"}
# Outside the holding office's line: the education and housing bureaus and the other city.
HIDDEN = dict.fromkeys(("handler", "housing_handler", "head", "supervisor_c2"), "404")


def _suggestion(w: World) -> dict[str, Any]:
    """A solicitation of the county petition bureau (K-XF) and a public answer to it, with the
    proposer's consent to publication and support."""
    solicitation = solicitation_publish(
        actor=w.users["clerk"],
        title="老旧小区加装电梯",
        description="征集加装电梯费用分担的建议。",
        question="费用应当如何分担？",
        opens_on=TODAY,
        closes_on=TODAY + dt.timedelta(days=30),
        support_threshold=10,
    )
    receipt = suggestion_submit(
        data=SuggestionSubmission(
            title="按楼层分担",
            reasons="高层受益多。",
            proposal="按楼层设定系数。",
            solicitation_id=solicitation.pk,
            proposer_name="李建国",
            proposer_phone="13900001111",
            public_consent=True,
        ),
        actor=None,
    )
    return {
        "solicitation_id": solicitation.pk,
        "suggestion_id": receipt.suggestion.pk,
        "verb": "assess",
    }


MATRIX_ENTRIES: dict[tuple[str, str], dict[str, str]] = {
    # The public pages: a POST without fields gets the form again, with its errors.
    ("*", "/suggestions/"): everyone("ok"),
    ("*", "/suggestions/new/"): everyone("ok"),
    ("*", "/suggestions/receipt/"): everyone("ok"),  # without a fresh submission: "already shown"
    ("*", "/suggestions/track/"): everyone("ok"),  # a POST without fields: the form again
    ("*", "/suggestions/solicitations/{solicitation_id}/"): everyone("ok"),
    ("*", "/suggestions/{suggestion_id}/support/"): everyone("ok"),
    # The staff pages.
    ("*", "/desk/suggestions/"): STAFF_PAGE,
    ("*", "/desk/suggestions/{suggestion_id}/"): {**STAFF_PAGE, **HIDDEN},
    ("*", "/desk/suggestions/{suggestion_id}/act/{verb}/"): {
        **PUBLIC_DENIED,
        **dict.fromkeys(STAFF, "allow"),
        **HIDDEN,
        "admin": "403",
    },
    ("*", "/desk/suggestions/solicitations/"): STAFF_PAGE,
    # Closing: clerks, handlers and heads of the publishing office; the same roles elsewhere get
    # the 404 of a solicitation that does not exist; supervisors, analysts and admins 403.
    ("*", "/desk/suggestions/solicitations/{solicitation_id}/close/"): {
        **PUBLIC_DENIED,
        **dict.fromkeys(STAFF, "404"),
        "clerk": "ok",
        **dict.fromkeys(("supervisor", "supervisor_c2", "analyst", "admin"), "403"),
    },
    ("*", "/desk/suggestions/stats/"): STAFF_PAGE,
}

PROBE_ENTRIES: dict[tuple[str, str], Any] = {
    ("*", "/suggestions/"): Probe(setup=_suggestion, methods=("GET",)),
    ("*", "/suggestions/new/"): Probe(methods=("GET", "POST")),
    ("*", "/suggestions/receipt/"): Probe(methods=("GET",)),
    ("*", "/suggestions/track/"): Probe(methods=("GET", "POST")),
    ("*", "/suggestions/solicitations/{solicitation_id}/"): Probe(
        setup=_suggestion, methods=("GET", "POST")
    ),
    ("*", "/suggestions/{suggestion_id}/support/"): Probe(
        setup=_suggestion, methods=("GET", "POST")
    ),
    ("*", "/desk/suggestions/"): Probe(setup=_suggestion, methods=("GET",)),
    ("*", "/desk/suggestions/{suggestion_id}/"): Probe(setup=_suggestion, methods=("GET",)),
    ("*", "/desk/suggestions/{suggestion_id}/act/{verb}/"): Probe(
        setup=_suggestion, methods=("POST",)
    ),
    # Publishing is tried by tests/test_web_suggestions.py (a form, which the probes do not send).
    ("*", "/desk/suggestions/solicitations/"): Probe(setup=_suggestion, methods=("GET",)),
    ("*", "/desk/suggestions/solicitations/{solicitation_id}/close/"): Probe(
        setup=_suggestion, methods=("POST",)
    ),
    ("*", "/desk/suggestions/stats/"): Probe(setup=_suggestion, methods=("GET",)),
}


# --- the JSON API (/api/v1/solicitations…, /api/v1/suggestions…) ------------------------------
# Read and acted on where the handler and head personas work: a suggestion registered by the
# education bureau (K-EDU) itself, seen by K-EDU and the offices above it (K, C); the county
# petition bureau K-XF beside it, the housing bureau and the other city get 404.

import re  # noqa: E402

from django.core import mail  # noqa: E402

from petitiondesk.suggestions import services as _svc  # noqa: E402
from tests.test_access_matrix import V1, on_case, staff_only  # noqa: E402

EDU_HIDDEN = ("clerk", "housing_handler", "supervisor_c2", "admin")
EDU_READERS = dict.fromkeys(
    ("handler", "head", "county_handler", "city_handler", "supervisor", "analyst"), "ok"
)
EDU_ACTORS = {"handler": "ok", "head": "ok"}
REGISTRARS = ("clerk", "handler", "head", "housing_handler", "county_handler", "city_handler")


def _edu(stage: str) -> Any:
    """A suggestion held by K-EDU, moved along its lifecycle to `stage`."""

    def setup(w: World) -> dict[str, Any]:
        bob = w.users["handler"]
        sug = suggestion_submit(
            data=SuggestionSubmission(
                title="校园周边交通",
                reasons="上下学拥堵。",
                proposal="设置临时停车区。",
                proposer_name="周敏",
                proposer_phone="13900002222",
                public_consent=True,
            ),
            actor=bob,
        ).suggestion
        at = ["received", "assessed", "forwarded", "decided", "replied"].index(stage)
        if at >= 1:
            _svc.suggestion_assess(suggestion_id=sug.pk, actor=bob, note="")
        if at >= 2:
            _svc.suggestion_forward(suggestion_id=sug.pk, actor=bob, to_org="K-HOUSING", note="")
        if at >= 3:
            _svc.suggestion_decide(suggestion_id=sug.pk, actor=bob, decision="adopted", reason="r")
        if at >= 4:
            _svc.suggestion_reply(suggestion_id=sug.pk, actor=bob, reply="采纳")
        return {"suggestion_id": sug.pk}

    return setup


def _requested(w: World) -> dict[str, Any]:
    """The public suggestion with a support requested by e-mail, and the mailed code."""
    ctx = _suggestion(w)
    _svc.support_request(
        suggestion_id=ctx["suggestion_id"], contact="fan@example.com", client_ip="10.9.9.9"
    )
    found = re.search(r"\d{6}", mail.outbox[-1].body)
    code = found.group(0) if found else ""
    return {**ctx, "code": code}


def _tracked_suggestion(w: World) -> dict[str, Any]:
    receipt = suggestion_submit(
        data=SuggestionSubmission(
            title="t", reasons="r", proposal="p", proposer_name="n", proposer_phone="13900003333"
        ),
        actor=None,
    )
    return {
        "tracking_number": receipt.suggestion.tracking_number,
        "access_key": receipt.access_key,
    }


def _public_suggestion_body(ctx: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "按楼层分担",
        "reasons": "高层受益多。",
        "proposal": "按楼层设定系数。",
        "solicitation_id": ctx["solicitation_id"],
        "proposer_name": "李建国",
        "proposer_phone": "13900001111",
    }


def _on_edu(**outcomes: str) -> dict[str, str]:
    return on_case(EDU_HIDDEN, **outcomes)


def _forwarded(**outcomes: str) -> dict[str, str]:
    """Once forwarded to the housing bureau, it sees the suggestion (and may only give its
    opinion)."""
    return on_case(("clerk", "supervisor_c2", "admin"), **outcomes)


SUG = f"{V1}/suggestions/{{suggestion_id}}"
MATRIX_ENTRIES.update(
    {
        ("GET", f"{V1}/solicitations"): everyone("ok"),
        ("GET", f"{V1}/solicitations/{{solicitation_id}}"): everyone("ok"),
        ("POST", f"{V1}/solicitations"): staff_only("403", **dict.fromkeys(REGISTRARS, "ok")),
        # Closing: the publishing office only (others: the 404 of a missing solicitation).
        ("POST", f"{V1}/solicitations/{{solicitation_id}}/close"): staff_only(
            "403", **{**dict.fromkeys(REGISTRARS, "404"), "clerk": "ok"}
        ),
        ("POST", f"{V1}/suggestions"): {
            **everyone("ok"),
            **dict.fromkeys(("supervisor", "supervisor_c2", "analyst", "admin"), "403"),
        },
        ("GET", f"{V1}/suggestions/public"): everyone("ok"),
        ("GET", f"{V1}/suggestions/track/{{tracking_number}}"): {
            **everyone("404"),
            "citizen": "ok",
        },
        ("POST", f"{SUG}/supports"): everyone("ok"),
        ("POST", f"{SUG}/supports/confirm"): everyone("ok"),
        # An empty list for the admin role, as for petitions; statistics are refused to it.
        ("GET", f"{V1}/suggestions"): staff_only("ok"),
        ("GET", f"{V1}/suggestions/stats"): staff_only("ok", admin="403"),
        ("GET", SUG): _on_edu(**EDU_READERS),
        ("POST", f"{SUG}/actions/assess"): _on_edu(**EDU_ACTORS),
        ("POST", f"{SUG}/actions/forward"): _on_edu(**EDU_ACTORS),
        # The housing bureau, asked for its opinion, sees the suggestion and gives it.
        ("POST", f"{SUG}/actions/opinion"): _forwarded(housing_handler="ok"),
        ("POST", f"{SUG}/actions/decide"): _on_edu(**EDU_ACTORS),
        ("POST", f"{SUG}/actions/reply"): _forwarded(**EDU_ACTORS),
        ("POST", f"{SUG}/actions/convert"): _forwarded(**EDU_ACTORS),
        ("POST", f"{SUG}/actions/award"): _forwarded(**EDU_ACTORS),
        ("POST", f"{SUG}/actions/reclassify"): _on_edu(**EDU_ACTORS),
    }
)

_SOLICITATION = {
    "title": "停车",
    "description": "征集停车建议",
    "question": "怎么办？",
    "opens_on": "2026-11-27",
    "closes_on": "2026-12-31",
}
PROBE_ENTRIES.update(
    {
        ("GET", f"{V1}/solicitations"): Probe(setup=_suggestion),
        ("GET", f"{V1}/solicitations/{{solicitation_id}}"): Probe(setup=_suggestion),
        ("POST", f"{V1}/solicitations"): Probe(body=lambda ctx: _SOLICITATION),
        ("POST", f"{V1}/solicitations/{{solicitation_id}}/close"): Probe(
            setup=_suggestion, body=lambda ctx: {}
        ),
        ("POST", f"{V1}/suggestions"): Probe(setup=_suggestion, body=_public_suggestion_body),
        ("GET", f"{V1}/suggestions/public"): Probe(setup=_suggestion),
        ("GET", f"{V1}/suggestions/track/{{tracking_number}}"): Probe(setup=_tracked_suggestion),
        ("POST", f"{SUG}/supports"): Probe(
            setup=_suggestion, body=lambda ctx: {"contact": "13700001234"}
        ),
        ("POST", f"{SUG}/supports/confirm"): Probe(
            setup=_requested,
            body=lambda ctx: {"contact": "fan@example.com", "code": ctx["code"]},
        ),
        ("GET", f"{V1}/suggestions"): Probe(setup=_suggestion),
        ("GET", f"{V1}/suggestions/stats"): Probe(setup=_suggestion),
        ("GET", SUG): Probe(setup=_edu("received")),
        ("POST", f"{SUG}/actions/assess"): Probe(
            setup=_edu("received"), body=lambda ctx: {"note": "有价值"}
        ),
        ("POST", f"{SUG}/actions/forward"): Probe(
            setup=_edu("assessed"), body=lambda ctx: {"to_org": "K-HOUSING"}
        ),
        ("POST", f"{SUG}/actions/opinion"): Probe(
            setup=_edu("forwarded"), body=lambda ctx: {"opinion": "可行"}
        ),
        ("POST", f"{SUG}/actions/decide"): Probe(
            setup=_edu("assessed"), body=lambda ctx: {"decision": "adopted", "reason": "可行"}
        ),
        ("POST", f"{SUG}/actions/reply"): Probe(
            setup=_edu("decided"), body=lambda ctx: {"reply": "感谢"}
        ),
        ("POST", f"{SUG}/actions/convert"): Probe(
            setup=_edu("replied"),
            body=lambda ctx: {"kind": "policy", "reference": "文件1号", "on": "2026-11-27"},
        ),
        ("POST", f"{SUG}/actions/award"): Probe(
            setup=_edu("replied"), body=lambda ctx: {"description": "奖励", "on": "2026-11-27"}
        ),
        ("POST", f"{SUG}/actions/reclassify"): Probe(
            setup=_edu("received"), body=lambda ctx: {"reason": "个人诉求"}
        ),
    }
)
