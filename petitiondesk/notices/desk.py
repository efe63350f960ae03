"""The Notices section of the desk's case page: issued notices with their PDF and deliveries, a
confirm form per sent delivery, and the issue form. Adapters only: the rules are in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import CONTENT_MAX, TEXT_FIELD_MAX, Case
from petitiondesk.cases.selectors import access_case
from petitiondesk.core.errors import DomainError, NotFound, PermissionDenied
from petitiondesk.web.auth import staff_page
from petitiondesk.web.widgets import DateInput

from .facts import StaffFields
from .models import Delivery, Kind, Language
from .selectors import delivery_address, delivery_of, notices_of
from .services import (
    DeliveryRequest,
    may_confirm,
    may_issue,
    notice_delivery_confirm,
    notice_issue,
)


class IssueForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of notice"), choices=Kind.choices)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=Language.choices)
    request = forms.CharField(
        label=pgettext_lazy("the petitioner's request", "Request"),
        required=False,
        max_length=CONTENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Opinions; left empty: the petition's content."),
    )
    facts_found = forms.CharField(
        label=gettext_lazy("Facts and reasons"),
        required=False,
        max_length=CONTENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Opinions: required."),
    )
    legal_basis = forms.CharField(
        label=gettext_lazy("Legal basis"), required=False, max_length=TEXT_FIELD_MAX
    )
    answer_by = forms.DateField(
        label=gettext_lazy("Answer by"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Supervision notices: required."),
    )
    requirements = forms.CharField(
        label=gettext_lazy("Requirements"), required=False, max_length=TEXT_FIELD_MAX
    )
    deliver = forms.MultipleChoiceField(
        label=gettext_lazy("Deliver by"),
        required=False,
        choices=Delivery.Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("To the petitioner's e-mail, phone or address on file."),
    )


class ConfirmForm(forms.Form):
    delivered_on = forms.DateField(label=gettext_lazy("Delivered on"), widget=DateInput())


def notices_section(case: Case, user: User) -> dict[str, Any]:
    """The section's context: one query for the notices (and one for their deliveries, if any)."""
    rows = []
    for notice in notices_of(case):
        deliveries = [
            {
                "delivery": d,
                "address": delivery_address(case, d, user),
                "confirm": ConfirmForm(prefix=f"d{d.pk}")
                if d.state == Delivery.State.SENT and may_confirm(notice, user)
                else None,
            }
            for d in notice.deliveries.all()
        ]
        rows.append({"notice": notice, "deliveries": deliveries})
    return {
        "rows": rows,
        "issue_form": IssueForm(prefix="notice") if may_issue(case, user) else None,
    }


def _back(case_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("desk:case", args=[case_id]) + "#notices", status=303)


def _case(user: User, case_id: int) -> Case:
    try:
        return access_case(user, case_id)
    except NotFound:
        raise Http404 from None


def _errors(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[f].label if f in form.fields else ''}: {' '.join(str(m) for m in e)}"
        for f, e in form.errors.items()
    )


@staff_page()
def issue(request: HttpRequest, case_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = _case(user, case_id)  # before the method: a case one may not see is always a 404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not may_issue(case, user):
        return HttpResponseForbidden(_("You may not issue notices on this case."))
    form = IssueForm(request.POST, prefix="notice")
    if not form.is_valid():
        messages.error(request, _("The notice was not issued: %s") % _errors(form))
        return _back(case.pk)
    data = form.cleaned_data
    try:
        notice = notice_issue(
            case_id=case.pk,
            actor=user,
            kind=data["kind"],
            language=data["language"],
            fields=StaffFields(
                **{
                    f: data[f] or None
                    for f in ("request", "facts_found", "legal_basis", "answer_by", "requirements")
                }
            ),
            deliver=[DeliveryRequest(channel) for channel in data["deliver"]],
        )
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except DomainError as exc:
        messages.error(request, _("The notice was not issued: %s") % exc.message)
        return _back(case.pk)
    messages.success(
        request,
        _("Issued: %(title)s %(number)s.") % {"title": notice.title, "number": notice.number},
    )
    return _back(case.pk)


@staff_page()
def confirm(request: HttpRequest, case_id: int, delivery_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = _case(user, case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    delivery = delivery_of(case, delivery_id)
    if delivery is None:
        raise Http404
    if not may_confirm(delivery.notice, user):
        return HttpResponseForbidden(_("Only the issuing organisation confirms a delivery."))
    form = ConfirmForm(request.POST, prefix=f"d{delivery_id}")
    if not form.is_valid():
        messages.error(request, _("The delivery was not confirmed: %s") % _errors(form))
        return _back(case.pk)
    try:
        notice_delivery_confirm(
            case_id=case.pk,
            delivery_id=delivery_id,
            delivered_on=form.cleaned_data["delivered_on"],
            actor=user,
        )
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except DomainError as exc:
        messages.error(request, _("The delivery was not confirmed: %s") % exc.message)
        return _back(case.pk)
    messages.success(request, _("Delivery confirmed."))
    return _back(case.pk)
