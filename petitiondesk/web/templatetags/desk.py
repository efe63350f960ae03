"""The workbench's navigation: which pages the user's role may open (decided here, not in
templates)."""

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from petitiondesk.analytics.selectors import ANALYTICS_ROLES
from petitiondesk.cases.selectors import READ_ROLES as CASE_READ_ROLES
from petitiondesk.cases.worklists import BOARD_ROLES, REGISTERING_ROLES
from petitiondesk.mail.selectors import READ_ROLES as MAIL_READ_ROLES
from petitiondesk.suggestions.selectors import READ_ROLES as SUGGESTION_READ_ROLES
from petitiondesk.supervision.selectors import unread_count

register = template.Library()


@register.inclusion_tag("web/desk/_nav.html", takes_context=True)
def desk_nav(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    role = getattr(request.user, "role", None)
    links = [(reverse("desk:home"), _("Work lists"))]
    if role in REGISTERING_ROLES:
        links.append((reverse("desk:register"), _("Register")))
    if role in BOARD_ROLES:
        links.append((reverse("desk:board"), _("Supervision board")))
    if role in MAIL_READ_ROLES:
        links.append((reverse("desk:mail:quarantine"), _("Mail to review")))
    if role in SUGGESTION_READ_ROLES:
        links.append((reverse("desk:suggestions:list"), _("Suggestions")))
    if role in CASE_READ_ROLES:
        unread = unread_count(request.user)
        inbox = _("Inbox (%d)") % unread if unread else _("Inbox")
        links.append((reverse("desk:supervision:inbox"), inbox))
        links.append((reverse("desk:supervision:notices"), _("Supervision notices")))
        links.append((reverse("desk:supervision:backlog"), _("Backlog cases")))
    if role in ANALYTICS_ROLES:
        links.append((reverse("desk:analytics:dashboard"), _("Dashboard")))
    return {"links": [(url, label, request.path == url) for url, label in links]}
