"""The staff workbench pages. Views stay thin: the rules live in the services and selectors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.cases.actions import action_run, available_actions
from petitiondesk.cases.attachments import access_attachment
from petitiondesk.cases.extensions import pending_extension
from petitiondesk.cases.models import Case
from petitiondesk.cases.selectors import (
    READ_ROLES,
    REDACTED,
    access_case,
    case_detail,
    petitioners_for,
)
from petitiondesk.cases.worklists import (
    BOARD_ROLES,
    COUNT_CAP,
    LIST_LABELS,
    REGISTERING_ROLES,
    ListFilters,
    board,
    default_list,
    list_conditions,
    lists_for,
    worklist,
    worklist_counts,
    worklist_page,
    worklist_rows,
)
from petitiondesk.core import clock
from petitiondesk.core.downloads import attachment_response
from petitiondesk.core.errors import DomainError, NotFound
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from petitiondesk.notices.desk import notices_section
from petitiondesk.routing.assist import BASIS_LABELS, FLAG_LABELS, case_assist
from petitiondesk.supervision.selectors import supervision_board

from ..auth import staff_page
from .forms import ACTION_FORMS, PageForm, RegisterForm, WorkListForm
from .present import VALUE_LABELS, VERB_LABELS, deadline_rows, due, list_rows, payload_items


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _form_error(form: Any, exc: DomainError) -> None:
    """Show a refusal of the service next to the fields it names, else above the form."""
    named = [name for name in exc.fields if name in form.fields]
    for name in named:
        form.add_error(name, exc.message)
    if not named:
        form.add_error(None, exc.message)


# --- work lists and export --------------------------------------------------------------------


def _list_query(request: HttpRequest, user: User) -> tuple[WorkListForm, str, ListFilters]:
    form = WorkListForm(request.GET)
    form.is_valid()  # an invalid value is left out (and shown as such)
    name = form.value("list")
    if name not in lists_for(user):
        name = default_list(user)
    filters = ListFilters(
        **{f: form.value(f, "") for f in ("status", "category", "topic", "org", "channel", "q")},
        received_from=form.value("received_from"),
        received_to=form.value("received_to"),
    )
    return form, name, filters


def _link(request: HttpRequest, **changes: Any) -> str:
    """The current query string with `changes` (None removes a parameter)."""
    params = {k: v for k, v in request.GET.items() if v}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params)


@staff_page(*READ_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form, name, filters = _list_query(request, user)
    conditions = list_conditions(user)  # once a request: "due soon" reads the open clocks
    counts = worklist_counts(user, filters, conditions)
    page = worklist_page(
        worklist(user, name, filters, form.sort_key(), conditions=conditions),
        number=form.value("page", 1),
        count=counts.get(name, 0),
    )
    today = clock.today()
    rows = [(case, due(case.next_due, today)) for case in page.rows]  # type: ignore[attr-defined]
    context = {
        "form": form,
        "current": name,
        "current_label": LIST_LABELS[name],
        "tabs": [
            (n, LIST_LABELS[n], counts.get(n, 0), _link(request, list=n, page=None))
            for n in lists_for(user)
        ],
        "page": page,
        "cap": COUNT_CAP,
        "rows": rows,
        "table": list_rows(rows),
        "overdue_label": _("overdue"),
        "previous_link": _link(request, list=name, page=page.number - 1),
        "next_link": _link(request, list=name, page=page.number + 1),
        "export_link": reverse("desk:export") + _link(request, list=name, page=None),
        "export_xlsx_link": reverse("desk:export_xlsx") + _link(request, list=name, page=None),
        "may_register": user.role in REGISTERING_ROLES,
        "may_board": user.role in BOARD_ROLES,
    }
    return render(request, "web/desk/home.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet must not run a cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


EXPORT_COLUMNS = (
    "id",
    "tracking_number",
    "title",
    "status",
    "category",
    "topic",
    "channel",
    "received_on",
    "org",
    "next_due",
    "is_overdue",
)


def _export_rows(request: HttpRequest) -> tuple[str, Iterator[tuple[Any, ...]]]:
    """The list's name and every row of the current list (its filters and sort, every page), as
    the export shows them: the one place the rows are built for both formats."""
    user = _user(request)
    form, name, filters = _list_query(request, user)
    cases = worklist_rows(worklist(user, name, filters, form.sort_key(), with_next_due=True))

    def rows() -> Iterator[tuple[Any, ...]]:
        for c in cases:
            yield (
                c.pk,
                c.tracking_number,
                _cell(c.title),
                c.status,
                c.category,
                _cell(c.topic),
                c.channel,
                c.received_on,
                _cell(c.org.code),
                c.next_due,  # type: ignore[attr-defined]
                "yes" if c.is_overdue else "no",
            )

    return name, rows()


def _export_filename(name: str, suffix: str) -> str:
    return f'attachment; filename="petitiondesk-{name}-{clock.today().isoformat()}.{suffix}"'


@staff_page(*READ_ROLES)
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The current list with its filters and sort, every page: UTF-8 with a BOM (for Excel)."""
    name, rows = _export_rows(request)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
        for values in rows:
            yield writer.writerow(["" if v is None else v for v in values])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _export_filename(name, "csv")
    return response


@staff_page(*READ_ROLES)
def export_xlsx(request: HttpRequest) -> FileResponse:
    """The same rows as the CSV export, as a workbook: written row by row to a temporary file
    (openpyxl's write-only mode), so a long list never sits in memory."""
    import tempfile

    from openpyxl import Workbook

    name, rows = _export_rows(request)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=name[:31])
    sheet.append(EXPORT_COLUMNS)
    for values in rows:
        sheet.append(values)
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it once it is sent
    book.save(out)
    out.seek(0)
    response = FileResponse(
        out,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = _export_filename(name, "xlsx")
    return response


@staff_page(*BOARD_ROLES)
def board_page(request: HttpRequest) -> HttpResponse:
    by_org, overdue = board(_user(request))
    today = clock.today()
    rows = [(case, due(case.missed_on, today)) for case in overdue]  # type: ignore[attr-defined]
    context = {
        "by_org": by_org,
        "overdue": rows,
        "overdue_table": list_rows(rows),
        "list_url": reverse("desk:home"),
        **supervision_board(_user(request)),
    }
    return render(request, "web/desk/board.html", context)


# --- registration -----------------------------------------------------------------------------


@staff_page(*REGISTERING_ROLES)
def register(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    initial = {
        "received_on": clock.today(),
        "channel": Case.Channel.LETTER,
        "division_code": user.org.division_code if user.org else "",
    }
    form = RegisterForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        petitioner = PetitionerData(
            **{f: data[f] for f in ("name", "phone", "id_number", "address", "email")}
        )
        submission = Submission(
            title=data["title"],
            content=data["content"],
            category=data["category"] or None,
            topic=data["topic"] or None,
            division_code=data["division_code"],
            channel=data["channel"],
            received_on=data["received_on"],
            to_org=data["to_org"] or None,
            petitioners=[petitioner] if petitioner.name else [],
            representatives=data["representatives"] or 0,
            people_count=data["people_count"],
            anonymous=data["anonymous"],
            confidential=data["confidential"],
            accused_orgs=data["accused_orgs"],
            urgent=data["urgent"],
        )
        try:
            receipt = petition_submit(submission=submission, actor=user)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            case = receipt.case
            messages.success(
                request,
                _("Registered as %(tn)s.") % {"tn": case.tracking_number}
                + (
                    " "
                    + _(
                        "Access key for the petitioner: %(key)s. Give it to them with the "
                        "tracking number (acknowledgement letter or call); it is not shown again."
                    )
                    % {"key": receipt.access_key}
                    if receipt.access_key
                    else ""
                )
                + (
                    " "
                    + _("It repeats earlier case(s): %(ids)s.")
                    % {"ids": ", ".join(str(i) for i, _s in receipt.duplicates)}
                    if receipt.duplicates
                    else ""
                ),
            )
            return HttpResponseRedirect(reverse("desk:case", args=[case.pk]), status=303)
    status = 400 if form.errors else 200
    return render(request, "web/desk/register.html", {"form": form}, status=status)


# --- the case page ----------------------------------------------------------------------------


def _access(user: User, case_id: int, view: str | None = None) -> Case:
    try:
        return access_case(user, case_id, view=view)
    except NotFound:
        raise Http404 from None


def _case_context(
    case: Case, user: User, *, bound: PageForm | None = None, notice: str = ""
) -> dict[str, Any]:
    detail = case_detail(case, user)
    deadlines = detail["deadlines"]
    pending = pending_extension(case)
    actions = available_actions(case, user, deadlines=deadlines, pending=pending)  # type: ignore[arg-type]
    forms = [
        bound
        if bound is not None and bound.prefix == action
        else ACTION_FORMS[action](case=case, user=user, prefix=action)
        for action in actions
    ]
    today = clock.today()
    return {
        "case": case,
        "petitioners": [
            {k: (_("confidential") if v == REDACTED else v) for k, v in p.items()}
            for p in petitioners_for(case, user)
        ],
        "accused": (
            list(case.accused_orgs.values_list("name", flat=True))
            if case.category == Case.Category.ACCUSATION
            else []
        ),
        "deadlines": deadline_rows(deadlines, today),  # type: ignore[arg-type]
        "events": [
            (e, VERB_LABELS.get(e.verb, e.verb), payload_items(e.payload))
            for e in detail["events"]  # type: ignore[attr-defined]
        ],
        "links": [
            {
                **link,
                "relation_label": VALUE_LABELS["relation"].get(link["relation"], link["relation"]),
                "grounds": [BASIS_LABELS.get(b, b) for b in link["basis"] or []],
            }
            for link in detail["links"]  # type: ignore[attr-defined]
        ],
        "flags": [
            {
                **flag,
                "text": FLAG_LABELS[flag["kind"]]
                % {"tn": flag["tracking_number"], "org": flag["org_name"]},
                # One step for the clerk: decline with reason `final` (when they may decline now).
                "decline": _(
                    "The matter was finally decided in %(tn)s; the same facts and reasons are not "
                    "accepted again (Art. 36 ¶3 of the Regulations on Letters and Calls)."
                )
                % {"tn": flag["tracking_number"]}
                if flag["kind"] == "final" and "decline" in actions
                else "",
            }
            for flag in detail["flags"]  # type: ignore[attr-defined]
        ],
        "attachments": detail["attachments"],
        "notices": notices_section(case, user),
        "pending": pending,
        "forms": forms,
        "notice": notice,
    }


@staff_page()
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    user = _user(request)
    case = _access(user, case_id, view="web.case")
    context = _case_context(case, user) | {"assist": case_assist(case, user)}
    return render(request, "web/desk/case.html", context)


@staff_page()
def act(request: HttpRequest, case_id: int, verb: str) -> HttpResponse:
    """Run one action of the case page. With htmx: the refreshed panels, or the form with its
    errors in place; without: a redirect to the case, or the page with the form's errors."""
    action = verb
    if action not in ACTION_FORMS:
        raise Http404
    user = _user(request)
    case = _access(user, case_id)  # before the method: a case one may not see is always a 404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if action not in available_actions(case, user):
        return HttpResponseForbidden(_("You may not take this action on this case now."))
    form = ACTION_FORMS[action](request.POST, request.FILES, case=case, user=user, prefix=action)
    if form.is_valid():
        try:
            action_run(action=action, case_id=case.pk, actor=user, **form.service_kwargs())
        except DomainError as exc:
            _form_error(form, exc)
        else:
            return _after_action(request, user, case_id, form)
    if _htmx(request):
        response = render(request, "web/desk/_action.html", {"case": case, "form": form})
        response["HX-Retarget"] = f"#action-{action}"
        response["HX-Reswap"] = "outerHTML"
        return response
    context = _case_context(case, user, bound=form)
    return render(request, "web/desk/case.html", context, status=400)


def _after_action(request: HttpRequest, user: User, case_id: int, form: PageForm) -> HttpResponse:
    done = _("Done: %(action)s.") % {"action": form.title}
    try:
        case = access_case(user, case_id, view="web.case")
    except NotFound:
        # The step took the case out of the user's scope (e.g. an objection sent it back).
        messages.success(request, done + " " + _("The case is no longer in your scope."))
        if _htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("desk:home")
            return response
        return HttpResponseRedirect(reverse("desk:home"), status=303)
    if _htmx(request):
        return render(request, "web/desk/_panels.html", _case_context(case, user, notice=done))
    messages.success(request, done)
    return HttpResponseRedirect(reverse("desk:case", args=[case_id]), status=303)


@staff_page()
def attachment(request: HttpRequest, case_id: int, attachment_id: int) -> FileResponse:
    try:
        found, path = access_attachment(_user(request), case_id, attachment_id)
    except NotFound:
        raise Http404 from None
    return attachment_response(path, filename=found.filename, content_type=found.content_type)
