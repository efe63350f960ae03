"""The desk download of the monthly and annual reports (docs/governance.md):
/desk/analytics/report/<kind>.<fmt>?period=2026-11[&org=CODE].

The report is of an organisation in the reader's jurisdiction (by default the reader's own), so it
hides the accusations against that organisation and its superiors, the reader's among them.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.core import clock
from petitiondesk.core.errors import DomainError
from petitiondesk.web.auth import staff_page

from .reports import (
    FORMATS,
    KINDS,
    month_period,
    previous_month,
    report_build,
    report_render,
    year_period,
)
from .selectors import ANALYTICS_ROLES, analytics_scope

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _report_org(user: User, code: str) -> Organisation:
    from django.utils.translation import gettext as _

    from petitiondesk.core.errors import InvalidInput

    scope = analytics_scope(user)
    org = Organisation.objects.filter(code=code).first() if code else user.org
    if org is None or org.id not in scope:
        raise InvalidInput(
            "unknown_org", _("no organisation %s in your jurisdiction") % code, fields={"org": ""}
        )
    return org


@staff_page(*sorted(ANALYTICS_ROLES))
def report_download(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    if kind not in KINDS or fmt not in FORMATS:
        return HttpResponse(status=404)
    user: User = request.user  # type: ignore[assignment]
    period = request.GET.get("period", "")
    try:
        org = _report_org(user, request.GET.get("org", ""))
        if kind == "monthly":
            period = period or previous_month(clock.today())
            date_from, date_to = month_period(period)
        else:
            period = period or str(clock.today().year - 1)
            date_from, date_to = year_period(int(period) if period.isdigit() else 0)
        report = report_build(kind=kind, date_from=date_from, date_to=date_to, org=org)
    except DomainError as e:
        return HttpResponse(e.message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(report_render(report, fmt), content_type=CONTENT_TYPES[fmt])
    name = f"petitiondesk-{kind}-{period}-{org.code}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
