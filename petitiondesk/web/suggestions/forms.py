"""Forms of the suggestion pages: they parse what a page sends; the rules stay in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from petitiondesk.core import clock
from petitiondesk.suggestions.models import TEXT_MAX, TITLE_MAX, Conversion, Suggestion
from petitiondesk.suggestions.services import SuggestionSubmission

from ..portal.forms import _topic_choices
from ..widgets import DateInput, org_choices

DECISIONS = Suggestion.Decision.choices
CONVERSION_KINDS = Conversion.Kind.choices


def _area(label: Any, *, rows: int = 4, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=TEXT_MAX,
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def _date(label: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=DateInput, initial=clock.today)


# --- public -------------------------------------------------------------------------------------


class SuggestionForm(forms.Form):
    """A suggestion, stand-alone or answering a solicitation (then without a topic to choose)."""

    required_css_class = "required"

    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    reasons = _area(_("Reasons: the situation and the problem you see"), rows=6)
    proposal = _area(_("Your proposal"), rows=6)
    proposer_name = forms.CharField(label=_("Your name"), max_length=100)
    proposer_phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    proposer_email = forms.EmailField(label=_("E-mail"), max_length=254, required=False)
    proposer_address = forms.CharField(label=_("Address"), max_length=300, required=False)
    public_consent = forms.BooleanField(
        label=_(
            "I agree that my suggestion (without my name or contact details) may be published and supported by the public"
        ),
        required=False,
    )

    def __init__(self, *args: Any, solicitation_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.solicitation_id = solicitation_id
        if solicitation_id is not None:
            del self.fields["topic"]
        else:
            field = self.fields["topic"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = _topic_choices()
        autocomplete = {
            "proposer_name": "name",
            "proposer_phone": "tel",
            "proposer_email": "email",
            "proposer_address": "street-address",
        }
        for name, value in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = value

    def submission(self) -> SuggestionSubmission:
        d = self.cleaned_data
        return SuggestionSubmission(
            title=d["title"],
            reasons=d["reasons"],
            proposal=d["proposal"],
            topic=d.get("topic", ""),
            solicitation_id=self.solicitation_id,
            proposer_name=d["proposer_name"],
            proposer_phone=d["proposer_phone"],
            proposer_email=d["proposer_email"],
            proposer_address=d["proposer_address"],
            public_consent=d["public_consent"],
        )


class ContactForm(forms.Form):
    contact = forms.CharField(
        label=_("Your e-mail address or mobile number"),
        max_length=254,
        help_text=_("A six-digit code is sent there; it is valid for 15 minutes."),
        widget=forms.TextInput(attrs={"autocomplete": "email"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Confirmation code"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class TrackForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=32)
    access_key = forms.CharField(
        label=_("Access key (查询码)"),
        max_length=64,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


# --- staff --------------------------------------------------------------------------------------


class ListForm(forms.Form):
    """The query string of the staff list; invalid values are left out."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    solicitation = forms.IntegerField(label=_("Solicitation"), required=False, min_value=1)
    q = forms.CharField(label=_("Search"), required=False, max_length=100)

    def __init__(self, *args: Any, statuses: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("All")), *statuses]

    def value(self, name: str) -> Any:
        self.is_valid()  # an invalid value is left out
        return self.cleaned_data.get(name) or None


class SolicitationForm(forms.Form):
    required_css_class = "required"

    title = forms.CharField(label=_("Topic of the solicitation"), max_length=TITLE_MAX)
    description = _area(_("Description"))
    question = _area(_("The question asked"), rows=2)
    opens_on = _date(_("Opens on"))
    closes_on = _date(_("Closes on"))
    support_threshold = forms.IntegerField(
        label=_("Supports that require an official answer (0: none)"), min_value=0, initial=0
    )


class ActionForm(forms.Form):
    """One action of the suggestion page; `verb` names the service it calls."""

    verb = ""
    title: Any = ""
    submit: Any = _("Save")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", self.verb)
        super().__init__(*args, **kwargs)


class AssessForm(ActionForm):
    verb, title, submit = "assess", _("Assess"), _("Record the assessment")
    note = _area(_("Assessment"), rows=3)


class ForwardForm(ActionForm):
    verb, title, submit = "forward", _("Forward to a department"), _("Forward")
    to_org = forms.ChoiceField(label=_("Department concerned"))
    note = _area(_("Note"), rows=2, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_org"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = org_choices()


class OpinionForm(ActionForm):
    verb, title, submit = "opinion", _("Opinion of the department"), _("Record the opinion")
    opinion = _area(_("Opinion"), rows=3)


class DecideForm(ActionForm):
    verb, title, submit = "decide", _("Decide"), _("Record the decision")
    decision = forms.ChoiceField(label=_("Decision"), choices=DECISIONS)
    reason = _area(_("Reason"), rows=3)


class ReplyForm(ActionForm):
    verb, title, submit = "reply", _("Reply to the proposer"), _("Send the reply")
    reply = _area(_("Reply"), rows=5)
    publish = forms.BooleanField(
        label=_("Publish the suggestion and the reply (only with the proposer's consent)"),
        required=False,
    )


class ConvertForm(ActionForm):
    verb, title, submit = "convert", _("Record a conversion"), _("Record the conversion")
    kind = forms.ChoiceField(label=_("Converted into"), choices=CONVERSION_KINDS)
    reference = forms.CharField(label=_("Reference (document number)"), max_length=200)
    on = _date(_("On"))


class AwardForm(ActionForm):
    verb, title, submit = "award", _("Record an award"), _("Record the award")
    description = forms.CharField(label=_("Award"), max_length=500)
    on = _date(_("On"))


class ReclassifyForm(ActionForm):
    verb, title, submit = (
        "reclassify",
        _("Re-classify as a petition"),
        _("Register it as a petition"),
    )
    reason = _area(_("Why this is a personal claim"), rows=2)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    f.verb: f
    for f in (
        AssessForm,
        ForwardForm,
        OpinionForm,
        DecideForm,
        ReplyForm,
        ConvertForm,
        AwardForm,
        ReclassifyForm,
    )
}
