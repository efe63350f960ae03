"""The staff pages of the people's suggestions: the list, a suggestion with the actions the
viewer may take now, the solicitations and the statistics. Thin: rules live in the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from petitiondesk.accounts.models import User
from petitiondesk.cases.selectors import READ_ROLES
from petitiondesk.core import clock
from petitiondesk.core.errors import DomainError, NotFound
from petitiondesk.reference.selectors import topic_names
from petitiondesk.suggestions import services
from petitiondesk.suggestions.models import Suggestion
from petitiondesk.suggestions.selectors import (
    staff_solicitations,
    staff_suggestions,
    suggestion_detail,
    suggestion_for,
    suggestion_stats,
)
from petitiondesk.suggestions.transitions import STAFF_ACTING

from ..auth import staff_page
from .forms import ACTION_FORMS, ActionForm, ListForm, SolicitationForm

# Who publishes and closes solicitations: the office's staff who act on suggestions.
# The staff who register suggestions publish solicitations (suggestions/transitions.py).
PUBLISHING_ROLES = tuple(sorted(STAFF_ACTING))


VERB_LABELS = {
    "submit": _l("Received"),
    "assess": _l("Assessed"),
    "forward": _l("Forwarded"),
    "opinion": _l("Opinion of the department"),
    "decide": _l("Decided"),
    "reply": _l("Replied"),
    "convert": _l("Conversion recorded"),
    "award": _l("Award recorded"),
    "reclassify": _l("Re-classified as a petition"),
    "threshold_reached": _l("Support threshold reached"),
}


def _shown(payload: dict[str, Any]) -> list[tuple[str, Any]]:
    """The payload of an event as shown on the timeline (row ids left out)."""
    return [
        (key, value) for key, value in payload.items() if key != "id" and value not in ("", None)
    ]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _form_error(form: Any, err: DomainError) -> None:
    """A refusal of the service next to the fields it names, else above the form."""
    named = [name for name in err.fields if name in form.fields]
    for name in named:
        form.add_error(name, err.message)
    if not named:
        form.add_error(None, err.message)


@staff_page(*READ_ROLES)
@require_GET
def suggestion_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ListForm(request.GET, statuses=Suggestion.Status.choices)
    rows = staff_suggestions(
        user,
        status=form.value("status"),
        solicitation_id=form.value("solicitation"),
        q=form.value("q"),
    )
    return render(
        request,
        "web/suggestions/desk_list.html",
        {"form": form, "rows": rows[:200], "solicitations": staff_solicitations(user)},
    )


# One service per verb, called with what its form parsed.
def _run(verb: str, suggestion_id: int, actor: User, data: dict[str, Any]) -> Any:
    call: Callable[..., Any] = getattr(services, f"suggestion_{verb}")
    return call(suggestion_id=suggestion_id, actor=actor, **data)


def _detail_page(
    request: HttpRequest, suggestion: Suggestion, bound: ActionForm | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    detail = suggestion_detail(suggestion, user)
    forms = [ACTION_FORMS[verb]() for verb in detail["verbs"] if verb in ACTION_FORMS]
    if bound is not None:  # the refused form, with its errors, even if its verb is gone now
        forms = [bound] + [f for f in forms if f.verb != bound.verb]
    return render(
        request,
        "web/suggestions/desk_detail.html",
        {
            "suggestion": suggestion,
            "topic_label": topic_names().get(suggestion.topic, suggestion.topic),
            "detail": detail,
            "forms": forms,
            "timeline": [
                (event, VERB_LABELS.get(event.verb, event.verb), _shown(event.payload))
                for event in detail["events"]
            ],
        },
        status=status,
    )


@staff_page(*READ_ROLES)
@require_GET
def suggestion_page(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    try:
        suggestion = suggestion_for(_user(request), suggestion_id)
    except NotFound as err:
        raise Http404(err.message) from err
    return _detail_page(request, suggestion)


@staff_page(*READ_ROLES)
@require_POST
def act(request: HttpRequest, suggestion_id: int, verb: str) -> HttpResponse:
    user = _user(request)
    try:
        suggestion = suggestion_for(user, suggestion_id)
    except NotFound as err:
        raise Http404(err.message) from err
    form_class = ACTION_FORMS.get(verb)
    if form_class is None:
        raise Http404(_("No such action."))
    form = form_class(request.POST)
    if not form.is_valid():
        return _detail_page(request, suggestion, form, status=422)
    try:
        result = _run(verb, suggestion_id, user, form.cleaned_data)
    except NotFound as err:
        raise Http404(err.message) from err
    except DomainError as err:
        _form_error(form, err)
        return _detail_page(request, suggestion, form, status=err.status)
    if verb == "reclassify":
        messages.success(
            request, _("Registered as petition %(tn)s.") % {"tn": result.tracking_number}
        )
        return HttpResponseRedirect(reverse("desk:case", args=[result.pk]))
    messages.success(request, _("Saved."))
    return HttpResponseRedirect(reverse("desk:suggestions:detail", args=[suggestion_id]))


@staff_page(*READ_ROLES)
@require_http_methods(["GET", "POST"])
def solicitations(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    may_publish = user.role in PUBLISHING_ROLES
    today = clock.today()
    form = SolicitationForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound:
        if not may_publish:
            return HttpResponse(_("Your role may not publish solicitations."), status=403)
        if form.is_valid():
            try:
                services.solicitation_publish(actor=user, **form.cleaned_data)
            except DomainError as err:
                _form_error(form, err)
                status = err.status
            else:
                messages.success(request, _("The solicitation is published."))
                return HttpResponseRedirect(reverse("desk:suggestions:solicitations"))
        else:
            status = 422
    return render(
        request,
        "web/suggestions/desk_solicitations.html",
        {
            "form": form,
            "may_publish": may_publish,
            "solicitations": [(s, s.is_open(today)) for s in staff_solicitations(user)],
        },
        status=status,
    )


@staff_page(*PUBLISHING_ROLES)
@require_POST
def solicitation_close(request: HttpRequest, solicitation_id: int) -> HttpResponse:
    try:
        services.solicitation_close(actor=_user(request), solicitation_id=solicitation_id)
    except NotFound as err:
        raise Http404(err.message) from err
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("The solicitation is closed."))
    return HttpResponseRedirect(reverse("desk:suggestions:solicitations"))


@staff_page(*READ_ROLES)
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    stats = suggestion_stats(_user(request))
    names = topic_names()
    topics = [
        {"label": names.get(row["topic"], row["topic"]) or _("(no topic)"), "count": row["count"]}
        for row in stats["by_topic"]
    ]
    return render(request, "web/suggestions/desk_stats.html", {"stats": stats, "topics": topics})


app_name = "suggestions"
urlpatterns = [
    path("", suggestion_list, name="list"),
    path("<int:suggestion_id>/", suggestion_page, name="detail"),
    path("<int:suggestion_id>/act/<str:verb>/", act, name="act"),
    path("solicitations/", solicitations, name="solicitations"),
    path(
        "solicitations/<int:solicitation_id>/close/",
        solicitation_close,
        name="solicitation_close",
    ),
    path("stats/", stats, name="stats"),
]
