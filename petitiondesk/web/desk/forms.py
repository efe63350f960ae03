"""Forms of the workbench: they parse what a page sends; the rules stay in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import TEXT_FIELD_MAX, TITLE_MAX, Case, CaseLink
from petitiondesk.cases.selectors import appeal_target
from petitiondesk.cases.services import CLAIM_ROUTES, DECLINE_REASONS
from petitiondesk.cases.worklists import DEFAULT_SORT, LIST_LABELS
from petitiondesk.reference.selectors import topic_names

from ..widgets import DateInput, FastSelect, org_choices

BLANK: list[tuple[str, Any]] = [("", "—")]


def _date(label: Any, *, required: bool = False, help_text: Any = "") -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput, help_text=help_text)


def _text(label: Any, *, required: bool = True, limit: int = TEXT_FIELD_MAX) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=limit, widget=forms.Textarea(attrs={"rows": 3})
    )


def _choices(form: forms.Form, name: str, choices: list[tuple[str, Any]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def topic_choices() -> list[tuple[str, str]]:
    return BLANK + sorted(topic_names().items(), key=lambda item: item[1])


# --- the work list ----------------------------------------------------------------------------


class WorkListForm(forms.Form):
    """The query string of a work list and its export; invalid values are left out."""

    list = forms.ChoiceField(label=_("List"), required=False, choices=list(LIST_LABELS.items()))
    q = forms.CharField(label=_("Search title and content"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=BLANK + Case.Status.choices
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=BLANK + Case.Category.choices
    )
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    org = forms.ChoiceField(label=_("Holding organisation"), required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=BLANK + Case.Channel.choices
    )
    received_from = _date(_("Received from"))
    received_to = _date(_("Received until"))
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("-received_on", _("newest first")),
            ("received_on", _("oldest first")),
            ("due", _("next due date")),
            ("-due", _("latest due date")),
            ("status", _("status")),
            ("org", _("holding organisation")),
            ("title", _("title")),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "topic", topic_choices())
        _choices(self, "org", org_choices())
        for field in self.fields.values():
            if type(field.widget) is forms.Select:
                field.widget = FastSelect(attrs=field.widget.attrs, choices=field.choices)  # type: ignore[attr-defined]

    def value(self, name: str, default: Any = None) -> Any:
        """The cleaned value of a field, or `default` when it was missing or invalid."""
        data = getattr(self, "cleaned_data", {})
        return data.get(name) or default

    def sort_key(self) -> str:
        return self.value("sort", DEFAULT_SORT)


# --- registration -----------------------------------------------------------------------------

REGISTER_CHANNELS = [
    (c, label)
    for c, label in Case.Channel.choices
    if c in (Case.Channel.LETTER, Case.Channel.VISIT, Case.Channel.PHONE, Case.Channel.FAX)
]


class RegisterForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=REGISTER_CHANNELS)
    received_on = _date(
        _("Received on"),
        required=True,
        help_text=_("The day the letter, visit, call or fax came in."),
    )
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    content = forms.CharField(label=_("Content"), widget=forms.Textarea(attrs={"rows": 8}))
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=BLANK + Case.Category.choices
    )
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    division_code = forms.CharField(
        label=_("Division code"),
        required=False,
        max_length=12,
        help_text=_("The administrative division the matter is about, e.g. 990101."),
    )
    to_org = forms.ChoiceField(
        label=_("Addressed to"),
        required=False,
        help_text=_("Leave empty when it was addressed to your organisation."),
    )
    accused_orgs = forms.MultipleChoiceField(
        label=_("Accused organisations"),
        required=False,
        help_text=_("Accusations only."),
    )
    name = forms.CharField(label=_("Petitioner's name"), required=False, max_length=100)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=40)
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)
    people_count = forms.IntegerField(label=_("Number of people"), min_value=1, initial=1)
    representatives = forms.IntegerField(
        label=_("Representatives"), min_value=0, initial=0, required=False
    )
    anonymous = forms.BooleanField(label=_("Anonymous"), required=False)
    confidential = forms.BooleanField(
        label=_("The petitioner asks for confidentiality"), required=False
    )
    urgent = forms.BooleanField(label=_("Urgent (report at once)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "topic", topic_choices())
        orgs = org_choices()
        _choices(self, "to_org", orgs)
        _choices(self, "accused_orgs", orgs[1:])


# --- case actions -----------------------------------------------------------------------------


class PageForm(forms.Form):
    """A form of the case page; `case` and `user` fill in choices that depend on them."""

    title: Any = ""
    submit: Any = _("Save")

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.user = user

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ActionForm(PageForm):
    """A verb of the procedure: every one takes the date of the step."""

    effective_on = _date(
        _("Effective date"),
        help_text=_("The date of the step, if not today (never before the last step)."),
    )


class RouteForm(ActionForm):
    title = _("Route")
    submit = _("Route")
    to_org = forms.ChoiceField(label=_("To organisation"))
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[
            ("forward", _("forward (转送)")),
            ("assign", _("assign (交办)")),
            ("report_urgent", _("urgent report to a superior")),
            ("to_political_legal", _("to the political-legal department")),
            ("to_discipline", _("to the discipline organ")),
        ],
    )
    assign_due_on = _date(_("Report due on"), help_text=_("For mode assign."))
    field_order = ["to_org", "mode", "assign_due_on", "effective_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "to_org", org_choices(exclude=self.case.org_id))


class ReasonForm(ActionForm):
    reason = _text(_("Reason"))
    field_order = ["reason", "effective_on"]


class ObjectForm(ReasonForm):
    title = _("Object to the routing")
    submit = _("Object")


class CloseForm(ReasonForm):
    title = _("Close the case")
    submit = _("Close")


class AcceptForm(ActionForm):
    title = _("Accept")
    submit = _("Accept")
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=BLANK + Case.Category.choices
    )
    claim_route = forms.TypedChoiceField(
        label=_("Route of a claim (Art. 31)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=BLANK + [(str(k), format_lazy("{}. {}", k, _(v))) for k, v in CLAIM_ROUTES.items()],
    )
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    new_facts = _text(_("New facts or reasons (reopens a final matter)"), required=False)
    field_order = ["category", "claim_route", "topic", "new_facts", "effective_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "topic", topic_choices())
        self.initial.setdefault("category", self.case.category)
        self.initial.setdefault("topic", self.case.topic)

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["category"] = data["category"] or None
        data["topic"] = data["topic"] or None
        data["new_facts"] = data["new_facts"] or None
        return data


class DeclineForm(ActionForm):
    title = _("Decline (not accepted)")
    submit = _("Decline")
    reason_code = forms.ChoiceField(
        label=_("Reason code"), choices=[(c, c.replace("_", " ")) for c in DECLINE_REASONS]
    )
    reason = _text(_("Reason told to the petitioner"))
    field_order = ["reason_code", "reason", "effective_on"]


class AssignForm(ActionForm):
    title = _("Assign the handler")
    submit = _("Assign")
    username = forms.ChoiceField(label=_("Handler"))
    field_order = ["username", "effective_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = User.objects.filter(
            org_id=self.case.org_id, is_active=True, role__in=[User.Role.HANDLER, User.Role.HEAD]
        ).order_by("username")
        if self.user.role != User.Role.HEAD:
            people = people.filter(pk=self.user.pk)  # a handler may take the case themself only
        _choices(self, "username", [(u.username, u.username) for u in people])


class RequestExtensionForm(PageForm):
    title = _("Request an extension")
    submit = _("Request")
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=366)
    reason = _text(_("Reason"))


class ApproveExtensionForm(PageForm):
    title = _("Approve the extension")
    submit = _("Approve")
    petitioner_notified_on = _date(
        _("Petitioner notified on"),
        help_text=_("An extension takes effect once the petitioner is told its reason."),
    )
    effective_on = _date(_("Effective date"))


class RefuseExtensionForm(PageForm):
    title = _("Refuse the extension")
    submit = _("Refuse")
    reason = _text(_("Reason"))


class OpinionForm(ActionForm):
    submit = _("Save the opinion")
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Case.Outcome.choices)
    opinion = forms.CharField(
        label=_("Opinion"), max_length=20_000, widget=forms.Textarea(attrs={"rows": 6})
    )
    delivered_on = _date(_("Delivered to the petitioner on"))
    field_order = ["outcome", "opinion", "delivered_on", "effective_on"]


class ReplyForm(OpinionForm):
    title = _("Reply (handling opinion)")


class DecideReviewForm(OpinionForm):
    title = _("Review decision")


class DecideRereviewForm(OpinionForm):
    title = _("Re-review decision")


class AppealForm(ActionForm):
    submit = _("Register the request")
    to_org = forms.ChoiceField(label=_("To organisation"))
    justified_reason = _text(_("Justified reason (a late request)"), required=False)
    approved_by = forms.CharField(
        label=_("Approved by (a head's username, for a late request)"),
        required=False,
        max_length=150,
    )
    field_order = ["to_org", "justified_reason", "approved_by", "effective_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        target = appeal_target(self.case)
        _choices(
            self, "to_org", ([(target.code, f"{target.name} ({target.code})")] if target else [])
        )

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["justified_reason"] = data["justified_reason"] or None
        data["approved_by"] = data["approved_by"] or None
        return data


class RequestReviewForm(AppealForm):
    title = _("Register a review request")


class RequestRereviewForm(AppealForm):
    title = _("Register a re-review request")


class HearingForm(ActionForm):
    title = _("Hearing")
    submit = _("Record the hearing")
    date_from = _date(_("From"), required=True)
    date_to = _date(_("To"), required=True)
    field_order = ["date_from", "date_to", "effective_on"]


class LinkForm(ActionForm):
    title = _("Link to another case")
    submit = _("Link")
    other_id = forms.IntegerField(label=_("Other case number (id)"), min_value=1)
    relation = forms.ChoiceField(label=_("Relation"), choices=CaseLink.Relation.choices)
    field_order = ["other_id", "relation", "effective_on"]


class AttachForm(PageForm):
    title = _("Attach a file")
    submit = _("Upload")
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, JPEG, PNG or DOCX; the type is checked from the content."),
    )


ACTION_FORMS: dict[str, type[PageForm]] = {
    "route": RouteForm,
    "accept": AcceptForm,
    "object": ObjectForm,
    "decline": DeclineForm,
    "assign": AssignForm,
    "request_extension": RequestExtensionForm,
    "approve_extension": ApproveExtensionForm,
    "refuse_extension": RefuseExtensionForm,
    "reply": ReplyForm,
    "request_review": RequestReviewForm,
    "decide_review": DecideReviewForm,
    "request_rereview": RequestRereviewForm,
    "hearing": HearingForm,
    "decide_rereview": DecideRereviewForm,
    "close": CloseForm,
    "link": LinkForm,
    "attach": AttachForm,
}
