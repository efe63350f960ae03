"""Desk pages of supervision: the inbox of notifications, supervision notices (list, detail with
the answer and close forms, issue by hand) and backlog cases (board, detail with its forms).
Adapters only: access through the selectors, rules in the services."""

from __future__ import annotations

from collections.abc import Callable
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
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.cases.selectors import READ_ROLES
from petitiondesk.core import clock
from petitiondesk.core.errors import DomainError, NotFound, PermissionDenied
from petitiondesk.web.auth import staff_page

from . import forms as f
from . import selectors as sel
from . import services as svc
from .models import BacklogCase, SupervisionRecord

STAFF = tuple(READ_ROLES)
BACKLOG_SERVICES: dict[str, Callable[..., Any]] = {
    "assign": svc.backlog_assign,
    "plan": svc.backlog_plan,
    "progress": svc.backlog_progress,
    "resolve": svc.backlog_resolve,
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _errors(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else ''}: {' '.join(map(str, errs))}"
        for name, errs in form.errors.items()
    )


def _run(request: HttpRequest, back: str, action: Callable[[], Any], done: str) -> HttpResponse:
    """Run a service call for a form post: 404 / 403 as such, other refusals as a message."""
    try:
        action()
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except DomainError as exc:
        messages.error(request, _("Not saved: %s") % exc.message)
        return HttpResponseRedirect(back, status=303)
    messages.success(request, done)
    return HttpResponseRedirect(back, status=303)


def _get(loader: Callable[[], Any]) -> Any:
    try:
        return loader()
    except NotFound:
        raise Http404 from None


# --- inbox ------------------------------------------------------------------------------------


@staff_page(*STAFF)
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":  # "mark all read"
        svc.notification_read(user=user)
        return HttpResponseRedirect(reverse("desk:supervision:inbox"), status=303)
    rows = sel.inbox(user)
    return render(
        request,
        "supervision/inbox.html",
        {
            "rows": [(n, svc.notification_detail(n)) for n in rows],
            "unread": sum(1 for n in rows if n.read_at is None),
        },
    )


# --- supervision notices ----------------------------------------------------------------------


@staff_page(*STAFF)
def notice_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = f.NoticeFilterForm(request.GET or None)
    filters = sel.NoticeFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = sel.NoticeFilters(
            state=data["state"] or None,
            overdue=True if data["overdue"] else None,
            listed=True if data["listed"] else None,
            org=data["org"] or None,
        )
    issue_form = f.IssueForm(request.POST or None, prefix="issue")
    if request.method == "POST":
        if not issue_form.is_valid():
            messages.error(request, _("Not issued: %s") % _errors(issue_form))
            return HttpResponseRedirect(reverse("desk:supervision:notices"), status=303)
        data = issue_form.cleaned_data
        back = reverse("desk:supervision:notices")
        try:
            record = svc.supervision_issue(
                case_id=sel.case_id_by_tracking(user, data["tracking_number"]),
                actor=user,
                reason=data["reason"],
                recommendations=data["recommendations"],
                answer_by=data["answer_by"],
                document=data["document"],
            )
        except PermissionDenied as exc:
            return HttpResponseForbidden(exc.message)
        except DomainError as exc:  # an unknown or unreadable case included: a form error
            messages.error(request, _("Not issued: %s") % exc.message)
            return HttpResponseRedirect(back, status=303)
        back = reverse("desk:supervision:notice", args=[record.pk])
        messages.success(request, _("Supervision notice issued."))
        return HttpResponseRedirect(back, status=303)
    rows, count = sel.notice_list(user, filters)
    return render(
        request,
        "supervision/notices.html",
        {
            "rows": rows,
            "count": count,
            "form": form,
            "issue_form": issue_form if user.role in svc.ISSUING_ROLES else None,
            "today": clock.today(),
        },
    )


@staff_page()
def notice_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    user = _user(request)
    record: SupervisionRecord = _get(lambda: sel.access_notice(user, record_id))
    svc.notification_read(user=user, record_id=record_id)
    open_ = record.state == SupervisionRecord.State.OPEN
    answered = record.state == SupervisionRecord.State.ANSWERED
    return render(
        request,
        "supervision/notice.html",
        {
            "record": record,
            "today": clock.today(),
            "answer_form": f.AnswerForm() if open_ and svc.may_answer(record, user) else None,
            "may_close": answered and svc.may_close(record, user),
        },
    )


@staff_page()
def notice_answer(request: HttpRequest, record_id: int) -> HttpResponse:
    user = _user(request)
    record = _get(lambda: sel.access_notice(user, record_id))  # a stranger: 404, any method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not svc.may_answer(record, user):
        return HttpResponseForbidden(_("Only the addressed organ answers a supervision notice."))
    back = reverse("desk:supervision:notice", args=[record_id])
    form = f.AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Not saved: %s") % _errors(form))
        return HttpResponseRedirect(back, status=303)
    data = form.cleaned_data
    return _run(
        request,
        back,
        lambda: svc.supervision_answer(
            record_id=record_id, actor=user, text=data["text"], answered_on=data["answered_on"]
        ),
        _("Answer recorded."),
    )


@staff_page()
def notice_close(request: HttpRequest, record_id: int) -> HttpResponse:
    user = _user(request)
    record = _get(lambda: sel.access_notice(user, record_id))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not svc.may_close(record, user):
        return HttpResponseForbidden(_("Only the issuer closes a supervision notice."))
    back = reverse("desk:supervision:notice", args=[record_id])
    return _run(
        request,
        back,
        lambda: svc.supervision_close(record_id=record_id, actor=user),
        _("Supervision notice closed."),
    )


# --- backlog cases ----------------------------------------------------------------------------


@staff_page(*STAFF)
def backlog_board(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":  # flag by hand
        back = reverse("desk:supervision:backlog")
        flag = f.FlagForm(request.POST, prefix="flag")
        if not flag.is_valid():
            messages.error(request, _("Not flagged: %s") % _errors(flag))
            return HttpResponseRedirect(back, status=303)
        tracking = flag.cleaned_data["tracking_number"]
        try:
            case_id = sel.case_id_by_tracking(user, tracking)
        except NotFound as exc:
            messages.error(request, _("Not flagged: %s") % exc.message)
            return HttpResponseRedirect(back, status=303)
        return _run(
            request,
            back,
            lambda: svc.backlog_flag(case_id=case_id, actor=user),
            _("Flagged as a backlog case."),
        )
    form = f.BacklogFilterForm(request.GET or None)
    filters = sel.BacklogFilters(state="open")
    if form.is_valid():
        data = form.cleaned_data
        filters = sel.BacklogFilters(
            state=data["state"] or None,
            reason=data["reason"] or None,
            org=data["org"] or None,
            owner=data["owner"] or None,
            min_days=data["min_days"],
        )
    rows, count = sel.backlog_list(user, filters)
    today = clock.today()
    return render(
        request,
        "supervision/backlog.html",
        {
            "rows": [(b, sel.days_open(b, today)) for b in rows],
            "count": count,
            "form": form,
            "flag_form": f.FlagForm(prefix="flag") if user.role in svc.BACKLOG_MANAGERS else None,
        },
    )


def _steps_for(backlog: BacklogCase, user: User) -> list[str]:
    """The steps `user` may take on an open backlog case (the services check them again)."""
    if backlog.state != BacklogCase.State.OPEN:
        return []
    if user.role in svc.BACKLOG_MANAGERS:
        return ["assign", "plan", "progress", "resolve"]
    if svc.may_manage(backlog, user):  # its leader
        return ["plan", "progress", "resolve"]
    return ["progress"] if user.org_id == backlog.case.org_id else []


@staff_page()
def backlog_detail(request: HttpRequest, backlog_id: int) -> HttpResponse:
    user = _user(request)
    backlog = _get(lambda: sel.access_backlog(user, backlog_id))
    svc.notification_read(user=user, backlog_id=backlog_id)
    step_forms = {name: f.BACKLOG_FORMS[name]() for name in _steps_for(backlog, user)}
    return render(
        request,
        "supervision/backlog_case.html",
        {
            "backlog": backlog,
            "days_open": sel.days_open(backlog),
            "progress": list(backlog.progress.select_related("by")),
            "step_forms": step_forms,
        },
    )


@staff_page()
def backlog_step(request: HttpRequest, backlog_id: int, step: str) -> HttpResponse:
    user = _user(request)
    backlog = _get(lambda: sel.access_backlog(user, backlog_id))
    if step not in f.BACKLOG_FORMS:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if step not in _steps_for(backlog, user):
        return HttpResponseForbidden(_("You may not do this on this backlog case."))
    back = reverse("desk:supervision:backlog_case", args=[backlog_id])
    form = f.BACKLOG_FORMS[step](request.POST)
    if not form.is_valid():
        messages.error(request, _("Not saved: %s") % _errors(form))
        return HttpResponseRedirect(back, status=303)
    service = BACKLOG_SERVICES[step]
    data = form.cleaned_data
    return _run(
        request,
        back,
        lambda: service(backlog_id=backlog_id, actor=user, **data),
        _("Saved."),
    )
