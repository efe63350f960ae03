"""Reply assistance on the desk's case page: the similar answered cases (loaded when the clerk
opens the section) and the Art. 32 completeness check of a draft opinion (sent by
web/opinion-check.js as the clerk types). Adapters only: the work is in `replies`."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import Case
from petitiondesk.cases.selectors import access_case
from petitiondesk.core.errors import NotFound
from petitiondesk.notices.facts import OPINION_KINDS, STEP_OF_KIND
from petitiondesk.notices.models import Kind
from petitiondesk.web.auth import staff_page
from petitiondesk.web.desk.present import VERB_LABELS

from .replies import (
    ELEMENT_LABELS,
    OpinionCheck,
    check_notice_fields,
    check_opinion,
    opinion_of,
    similar_replies,
)

# The case page's forms that carry an opinion draft (web/desk/forms.py OpinionForm, by prefix).
OPINION_FIELDS = ("reply-opinion", "decide_review-opinion", "decide_rereview-opinion")
NOTICE_PREFIX = "notice"  # notices/desk.py IssueForm
SIMILAR_K = 5


def _case(user: User, case_id: int) -> Case:
    try:
        return access_case(user, case_id)
    except NotFound:
        raise Http404 from None


@staff_page()
def similar(request: HttpRequest, case_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = _case(user, case_id)
    found = similar_replies(user=user, case=case, k=SIMILAR_K)
    rows = [(r, VERB_LABELS.get(r.verb, r.verb)) for r in found.results]
    return render(
        request, "routing/_similar_replies.html", {"case": case, "similar": found, "rows": rows}
    )


def _draft_check(case: Case, data: dict[str, str]) -> OpinionCheck | None:
    """The check of what the posting form holds: an opinion draft, or an opinion notice's fields
    (with the opinion the case's step recorded); None when there is nothing to check."""
    for name in OPINION_FIELDS:
        if data.get(name, "").strip():
            return check_opinion(data[name])
    kind = data.get(f"{NOTICE_PREFIX}-kind", "")
    if kind in OPINION_KINDS:
        return check_notice_fields(
            request=data.get(f"{NOTICE_PREFIX}-request", "").strip() or case.content,
            facts_found=data.get(f"{NOTICE_PREFIX}-facts_found", ""),
            opinion=opinion_of(case, STEP_OF_KIND[Kind(kind)]),
            legal_basis=data.get(f"{NOTICE_PREFIX}-legal_basis", ""),
        )
    if data.get("text", "").strip():
        return check_opinion(data["text"])
    return None


@staff_page()
def opinion_check(request: HttpRequest, case_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = _case(user, case_id)  # before the method: a case one may not see is always a 404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    check = _draft_check(case, request.POST.dict())
    rows = [(ELEMENT_LABELS[e.element], e) for e in check.elements] if check else []
    context = {
        "check": check,
        "rows": rows,
        "missing": [label for label, e in rows if not e.present],
    }
    return render(request, "routing/_opinion_check.html", context)
