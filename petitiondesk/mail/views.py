"""The quarantine review pages of the staff workbench (under /desk/mail/)."""

from __future__ import annotations

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.core.errors import DomainError, NotFound
from petitiondesk.web.auth import staff_page

from .models import InboundMessage
from .parse import parse_mail
from .selectors import READ_ROLES, access_message, may_review, review_list
from .services import mail_dismiss, mail_release

LIST_MAX = 200


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _message(user: User, message_id: int) -> InboundMessage:
    try:
        return access_message(user, message_id)
    except NotFound:
        raise Http404 from None


@staff_page(*READ_ROLES)
def quarantine(request: HttpRequest) -> HttpResponse:
    rows = list(review_list(_user(request))[:LIST_MAX])
    return render(request, "mail/quarantine.html", {"rows": rows, "capped": len(rows) == LIST_MAX})


@staff_page(*READ_ROLES)
def message_page(request: HttpRequest, message_id: int) -> HttpResponse:
    user = _user(request)
    message = _message(user, message_id)
    parsed = parse_mail(bytes(message.raw))
    context = {
        "m": message,
        "body": parsed.body,
        "files": [(f.filename, f.content_type, len(f.data)) for f in parsed.attachments],
        "may_act": may_review(user, message),
    }
    return render(request, "mail/message.html", context)


def _review(request: HttpRequest, message_id: int, *, release: bool) -> HttpResponse:
    user = _user(request)
    _message(user, message_id)  # before the method: a message one may not see is always a 404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        if release:
            done = mail_release(message_pk=message_id, actor=user)
            assert done.case is not None
            messages.success(
                request, _("Registered as %(tn)s.") % {"tn": done.case.tracking_number}
            )
        else:
            mail_dismiss(message_pk=message_id, actor=user)
            messages.success(request, _("Message dismissed."))
    except DomainError as exc:
        if exc.status == 403:
            return HttpResponseForbidden(exc.message)
        messages.error(request, exc.message)
        return redirect("desk:mail:message", message_id=message_id)
    return redirect("desk:mail:quarantine")


@staff_page(*READ_ROLES)
def release(request: HttpRequest, message_id: int) -> HttpResponse:
    return _review(request, message_id, release=True)


@staff_page(*READ_ROLES)
def dismiss(request: HttpRequest, message_id: int) -> HttpResponse:
    return _review(request, message_id, release=False)
