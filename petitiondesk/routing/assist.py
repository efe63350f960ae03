"""What the case page and the registration form show of the routing assistance (selectors)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import Case
from petitiondesk.cases.selectors import visible_among

from .advice import advise
from .similarity import similar_cases

# The grounds of a link proposed at intake, as the desk says them.
BASIS_LABELS = {
    "same_text": _("same text"),
    "similar_text": _("similar text"),
    "same_petitioner": _("same petitioner"),
    "same_org": _("same organisation"),
}
FLAG_LABELS = {
    "final": _(
        "The same petitioner's matter was finally decided in %(tn)s: the same facts and reasons "
        "are not accepted again (Art. 36 ¶3). Decline it as final, or accept it recording the new "
        "facts or reasons it brings."
    ),
    "same_matter_pending": _(
        "The same matter is being handled by %(org)s as %(tn)s: it is not accepted here while "
        "that case is pending (Art. 19 ¶3)."
    ),
}


def case_assist(case: Case, viewer: User) -> dict[str, Any]:
    """The classifiers' suggestions for the case and the cases most like it that the viewer may
    read (with their similarity), for the case page."""
    similar = similar_cases(case)
    shown = visible_among(viewer, [pk for pk, _score in similar])
    cases = Case.objects.in_bulk([pk for pk in shown])
    return {
        "suggestions": advise(case),
        "similar": [(cases[pk], score) for pk, score in similar if pk in cases],
    }
