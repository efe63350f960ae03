"""Reading received mail, with the permission check built in.

Quarantined mail holds petitioner data, so only the staff of the organisation that received it
see it: its clerks and heads (who release or dismiss), and supervisors whose jurisdiction
includes that organisation (read-only). Handlers, analysts and the admin role never do.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.accounts.selectors import org_subtree_ids
from petitiondesk.core.errors import NotFound, PermissionDenied

from .models import InboundMessage

R = User.Role
ACT_ROLES = frozenset({R.CLERK, R.HEAD})
READ_ROLES = ACT_ROLES | {R.SUPERVISOR}
REVIEW_STATES = (InboundMessage.State.QUARANTINED, InboundMessage.State.FAILED)


def visible_messages(user: User) -> QuerySet[InboundMessage]:
    if user.role not in READ_ROLES or user.org_id is None:
        return InboundMessage.objects.none()
    if user.role == R.SUPERVISOR:
        return InboundMessage.objects.filter(org_id__in=org_subtree_ids(user.org_id))
    return InboundMessage.objects.filter(org_id=user.org_id)


def access_message(user: User, message_pk: int) -> InboundMessage:
    """The message if the user may read it; otherwise the 404 of a message that does not exist."""
    message = visible_messages(user).filter(pk=message_pk).select_related("case").first()
    if message is None:
        raise NotFound("not_found", _("no such message"))
    return message


def may_review(user: User, message: InboundMessage) -> bool:
    """Whether `user` may release or dismiss `message` now (the pages offer the buttons)."""
    return user.role in ACT_ROLES and message.state in REVIEW_STATES


def check_may_act(user: User) -> None:
    if user.role not in ACT_ROLES:
        raise PermissionDenied("forbidden", _("a %s may not release or dismiss mail") % user.role)


def review_list(user: User) -> QuerySet[InboundMessage]:
    """Messages waiting for review (quarantined or failed), newest first."""
    return (
        visible_messages(user)
        .filter(state__in=REVIEW_STATES)
        .defer("raw")
        .order_by("-received_at", "-pk")
    )
