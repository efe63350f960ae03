"""The citizen portal: no account needed. Views stay thin: every rule lives in the services and
selectors; a refused request (`DomainError`) is shown on the form it came from, never a 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from petitiondesk.calendar.profiles import default_profile
from petitiondesk.cases import services
from petitiondesk.cases.attachments import attachments_of, material_add
from petitiondesk.cases.models import Case
from petitiondesk.cases.selectors import (
    access_tracked_case,
    petitioner_deadlines,
    petitioner_options,
    petitioner_timeline,
    tracked_case,
)
from petitiondesk.core.errors import DomainError, NotFound, RateLimited
from petitiondesk.core.files import ALLOWED_LABELS
from petitiondesk.core.ratelimit import client_ip
from petitiondesk.intake.services import petition_submit_with_files
from petitiondesk.reference.selectors import division_children

from . import present
from .forms import AppealForm, MaterialForm, RateForm, SubmitForm, TrackForm

RECEIPT = "portal.receipt"  # session: the receipt, until it has been shown once
TRACKED = "portal.case"  # session: the case whose access key was given

# Where a refusal's `fields` point on the submit form.
SUBMIT_FIELDS = {
    "division_code": "province",
    "file": "attachments",
    "petitioners": "name",
    "petitioners.name": "name",
    "petitioners.phone": "phone",
    "petitioners.id_number": "id_number",
    "petitioners.address": "address",
    "petitioners.email": "email",
}


def _show_error(
    form: forms.Form, err: DomainError, field_map: dict[str, str] | None = None
) -> None:
    """The refusal under the field it is about (else at the top of the form)."""
    names = [(field_map or {}).get(f, f) for f in err.fields]
    field = next((n for n in names if n in form.fields), None)
    form.add_error(field, err.message)


def _limits() -> dict[str, Any]:
    return {
        "max_files": settings.PETITIONDESK_UPLOAD_MAX_FILES,
        "max_mib": settings.PETITIONDESK_UPLOAD_MAX_BYTES // 1_048_576,
        "file_types": ALLOWED_LABELS,
        "max_representatives": default_profile().max_representatives,
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    profile = default_profile()
    return render(
        request,
        "web/portal/home.html",
        {"stages": present.stages(profile), "channels": Case.Channel, **_limits()},
    )


@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = SubmitForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                receipt = petition_submit_with_files(
                    submission=form.submission(),
                    uploads=form.cleaned_data["attachments"],
                    client_ip=client_ip(request),
                )
            except DomainError as err:
                _show_error(form, err, SUBMIT_FIELDS)
                status = err.status
            else:
                case = receipt.case
                request.session[RECEIPT] = {
                    "tracking_number": case.tracking_number,
                    "access_key": receipt.access_key,
                    "received_on": case.received_on.isoformat(),
                    "org": case.org.name,
                    "deadlines": [(d.rule, d.due_on.isoformat()) for d in receipt.deadlines],
                }
                return redirect("portal:receipt")
    else:
        form = SubmitForm()
    files_lost = request.method == "POST" and bool(request.FILES) and bool(form.errors)
    return render(
        request,
        "web/portal/submit.html",
        {
            "form": form,
            "categories": [
                (radio, present.CATEGORY_HELP.get(radio.data["value"], ""))
                for radio in form["category"]
            ],
            "files_lost": files_lost,
            **_limits(),
        },
        status=status,
    )


@require_GET
def divisions(request: HttpRequest) -> HttpResponse:
    """<option>s of the divisions under the chosen province (with the county list emptied) or
    city: the cascading picker of the submit form (htmx)."""
    city = request.GET.get("city")
    province = request.GET.get("province")
    parent = city if city is not None else province
    return render(
        request,
        "web/portal/_division_options.html",
        {"options": division_children(parent) if parent else [], "reset_county": city is None},
    )


@never_cache  # the access key must not stay in a cache for the back button to show again
@require_GET
def receipt(request: HttpRequest) -> HttpResponse:
    data = request.session.pop(RECEIPT, None)
    if data is not None:
        data["received_on"] = dt.date.fromisoformat(data["received_on"])
        data["deadlines"] = [
            (present.RULE_LABELS.get(rule, rule), dt.date.fromisoformat(due))
            for rule, due in data["deadlines"]
        ]
    return render(request, "web/portal/receipt.html", {"receipt": data})


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """The query code is taken from a POSTed form only: never from the URL, where it would end up
    in logs and browser history."""
    form = TrackForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound and form.is_valid():
        try:
            case = access_tracked_case(
                tracking_number=form.cleaned_data["tracking_number"],
                access_key=form.cleaned_data["access_key"],
                ip=client_ip(request),
            )
        except RateLimited as err:
            minutes = max(1, err.retry_after // 60)
            form.add_error(
                None,
                _("Too many attempts from here. Please try again in %(m)d minutes.")
                % {"m": minutes},
            )
            status = 429
        except NotFound:
            form.add_error(
                None,
                _(
                    "No petition matches this tracking number and access key. Check both and try again."
                ),
            )
        else:
            request.session.cycle_key()
            request.session[TRACKED] = case.pk
            return redirect("portal:tracked")
    return render(request, "web/portal/track.html", {"form": form}, status=status)


def _tracked_case(request: HttpRequest) -> Case | None:
    case_id = request.session.get(TRACKED)
    if case_id is None:
        return None
    try:
        return tracked_case(case_id)
    except NotFound:
        request.session.pop(TRACKED, None)
        return None


def _case_page(
    request: HttpRequest, case: Case, status: int = 200, **bound: forms.Form
) -> HttpResponse:
    timeline, replies = petitioner_timeline(case)
    options = petitioner_options(case)
    context = {
        "case": case,
        "options": options,
        "timeline": present.timeline_lines(timeline),
        "replies": present.reply_rows(replies),
        "deadlines": present.deadline_rows(petitioner_deadlines(case)),
        "attachments": [a for a in attachments_of(case) if a.by_petitioner],
        "material_form": bound.get("material") or MaterialForm(),
        "rate_form": bound.get("rate") or RateForm(),
        "appeal_form": bound.get("appeal") or AppealForm(initial={"verb": options.appeal_verb}),
        **_limits(),
    }
    return render(request, "web/portal/case.html", context, status=status)


@never_cache
@require_GET
def tracked(request: HttpRequest) -> HttpResponse:
    case = _tracked_case(request)
    if case is None:
        return redirect("portal:track")
    return _case_page(request, case)


@require_POST
def add_material(request: HttpRequest) -> HttpResponse:
    case = _tracked_case(request)
    if case is None:
        return redirect("portal:track")
    form = MaterialForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            material_add(
                case_id=case.pk,
                text=form.cleaned_data["text"],
                uploads=form.cleaned_data["attachments"],
            )
        except DomainError as err:
            _show_error(form, err, {"file": "attachments"})
            return _case_page(request, case, err.status, material=form)
        messages.success(request, _("Thank you: your material was added to the petition."))
        return redirect("portal:tracked")
    return _case_page(request, case, material=form)


@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    case = _tracked_case(request)
    if case is None:
        return redirect("portal:track")
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            services.case_rate(case_id=case.pk, **form.cleaned_data)
        except DomainError as err:
            _show_error(form, err)
            return _case_page(request, case, err.status, rate=form)
        messages.success(request, _("Thank you for your rating."))
        return redirect("portal:tracked")
    return _case_page(request, case, rate=form)


APPEALS = {
    "request_review": services.case_request_review,
    "request_rereview": services.case_request_rereview,
}


@require_POST
def appeal(request: HttpRequest) -> HttpResponse:
    """A review or re-review request; it goes to the organ above the one that decided."""
    case = _tracked_case(request)
    if case is None:
        return redirect("portal:track")
    form = AppealForm(request.POST)
    if form.is_valid():
        try:
            APPEALS[form.cleaned_data["verb"]](case_id=case.pk, actor=None, by_petitioner=True)
        except DomainError as err:
            _show_error(form, err)
            return _case_page(request, case, err.status, appeal=form)
        messages.success(request, _("Your request was sent."))
        return redirect("portal:tracked")
    return _case_page(request, case, appeal=form)


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    request.session.pop(TRACKED, None)
    messages.info(request, _("This browser no longer shows your petition."))
    return redirect("portal:track")
