"""The public pages of the people's suggestions: open solicitations, submitting a suggestion,
published replies and public support. No account needed; refusals are shown on the form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from petitiondesk.core.errors import DomainError, NotFound, RateLimited
from petitiondesk.core.ratelimit import client_ip
from petitiondesk.suggestions.models import Suggestion
from petitiondesk.suggestions.selectors import (
    open_solicitations,
    public_suggestion,
    public_suggestions,
    public_view,
    solicitation_get,
    tracked_suggestion,
    tracked_view,
)
from petitiondesk.suggestions.services import (
    suggestion_submit,
    support_confirm,
    support_request,
)

from .forms import CodeForm, ContactForm, SuggestionForm, TrackForm

RECEIPT = "suggestions.receipt"  # session: the receipt, until it has been shown once
CONTACT = "suggestions.support"  # session: {suggestion id: the contact a code was sent to}


def _refusal(form: forms.Form, err: DomainError) -> None:
    """The refusal under the field it names, else at the top of the form."""
    field = next((f for f in err.fields if f in form.fields), None)
    if isinstance(err, RateLimited):
        minutes = max(1, err.retry_after // 60)
        message = _("Too many requests from here. Please try again in %(m)d minutes.") % {
            "m": minutes
        }
        form.add_error(None, message)
    else:
        form.add_error(field, err.message)


def _labelled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = dict(Suggestion.Status.choices) | dict(Suggestion.Decision.choices)
    return [{**item, "label": labels.get(item["decision"] or item["status"], "")} for item in items]


def _lists(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The published replies, and the suggestions open to public support."""
    return {
        "replied": _labelled([s for s in items if s["reply"]]),
        "supportable": [s for s in items if s["open_to_support"]],
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/suggestions/home.html",
        {"solicitations": open_solicitations(), **_lists(public_suggestions())},
    )


def _submit(
    request: HttpRequest, template: str, context: dict[str, Any], solicitation_id: int | None
) -> HttpResponse:
    status = 200
    form = SuggestionForm(
        request.POST if request.method == "POST" else None, solicitation_id=solicitation_id
    )
    if form.is_bound and form.is_valid():
        try:
            receipt = suggestion_submit(
                data=form.submission(), actor=None, client_ip=client_ip(request)
            )
        except DomainError as err:
            _refusal(form, err)
            status = err.status
        else:
            s = receipt.suggestion
            request.session[RECEIPT] = {
                "tracking_number": s.tracking_number,
                "access_key": receipt.access_key,
                "received_on": s.received_on.isoformat(),
                "org": s.org.name,
            }
            return redirect("suggestions:receipt")
    return render(request, template, {**context, "form": form}, status=status)


@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    return _submit(request, "web/suggestions/new.html", {}, None)


@require_http_methods(["GET", "POST"])
def solicitation(request: HttpRequest, solicitation_id: int) -> HttpResponse:
    try:
        item = solicitation_get(solicitation_id)
    except NotFound:
        return render(request, "web/suggestions/missing.html", status=404)
    return _submit(
        request,
        "web/suggestions/solicitation.html",
        {"solicitation": item, **_lists(public_suggestions(solicitation_id=item.pk))},
        item.pk,
    )


@never_cache  # the access key must not stay in a cache for the back button to show again
@require_GET
def receipt(request: HttpRequest) -> HttpResponse:
    data = request.session.pop(RECEIPT, None)
    if data is not None:
        data["received_on"] = dt.date.fromisoformat(data["received_on"])
    return render(request, "web/suggestions/receipt.html", {"receipt": data})


@require_http_methods(["GET", "POST"])
def support(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    """Two steps on one page: the contact (a code is sent), then the code."""
    try:
        item = public_view(public_suggestion(suggestion_id))
    except NotFound:
        item = None
    if item is None or not item["open_to_support"]:
        return render(request, "web/suggestions/missing.html", status=404)
    pending: dict[str, str] = request.session.get(CONTACT, {})
    contact = pending.get(str(suggestion_id), "")
    step = request.POST.get("step", "")
    status = 200
    contact_form = ContactForm(request.POST if step == "request" else None)
    code_form = CodeForm(request.POST if step == "confirm" and contact else None)
    count = None
    if contact_form.is_bound and contact_form.is_valid():
        try:
            support_request(
                suggestion_id=suggestion_id,
                contact=contact_form.cleaned_data["contact"],
                client_ip=client_ip(request),
            )
        except DomainError as err:
            _refusal(contact_form, err)
            status = err.status
        else:
            contact = contact_form.cleaned_data["contact"]
            request.session[CONTACT] = {**pending, str(suggestion_id): contact}
    elif code_form.is_bound and code_form.is_valid():
        try:
            count = support_confirm(
                suggestion_id=suggestion_id,
                contact=contact,
                code=code_form.cleaned_data["code"],
                client_ip=client_ip(request),
            )
        except DomainError as err:
            _refusal(code_form, err)
            status = err.status
            if err.code == "already_supported":
                pending.pop(str(suggestion_id), None)
                request.session[CONTACT] = pending
                contact = ""
        else:
            pending.pop(str(suggestion_id), None)
            request.session[CONTACT] = pending
    return render(
        request,
        "web/suggestions/support.html",
        {
            "suggestion": item,
            "count": item["supports"] if count is None else count,
            "supported": count is not None,
            "contact": contact,
            "contact_form": contact_form,
            "code_form": code_form,
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """The proposer's own suggestion: its status, the reply and what it became. The access key is
    taken from a POSTed form only, never from the URL; the answer is shown on that response."""
    form = TrackForm(request.POST if request.method == "POST" else None)
    status = 200
    tracked = None
    if form.is_bound and form.is_valid():
        try:
            tracked = tracked_view(
                tracked_suggestion(
                    form.cleaned_data["tracking_number"].strip(),
                    form.cleaned_data["access_key"].strip(),
                    ip=client_ip(request),
                )
            )
        except RateLimited as err:
            _refusal(form, err)
            status = 429
        except NotFound:
            form.add_error(
                None,
                _("No suggestion matches this tracking number and access key. Check both."),
            )
    if tracked is not None:
        labels = dict(Suggestion.Status.choices) | dict(Suggestion.Decision.choices)
        tracked["status_label"] = labels.get(tracked["status"], tracked["status"])
        tracked["decision_label"] = labels.get(tracked["decision"], "")
    return render(
        request, "web/suggestions/track.html", {"form": form, "tracked": tracked}, status=status
    )


app_name = "suggestions"
urlpatterns = [
    path("", home, name="home"),
    path("new/", new, name="new"),
    path("receipt/", receipt, name="receipt"),
    path("track/", track, name="track"),
    path("solicitations/<int:solicitation_id>/", solicitation, name="solicitation"),
    path("<int:suggestion_id>/support/", support, name="support"),
]
