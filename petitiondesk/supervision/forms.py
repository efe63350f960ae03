"""Forms of the supervision desk pages (input parsing only: the rules are in services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from petitiondesk.cases.models import TEXT_FIELD_MAX
from petitiondesk.web.widgets import DateInput

from .models import BacklogCase, SupervisionRecord


class NoticeFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("any")), *SupervisionRecord.State.choices],
    )
    overdue = forms.BooleanField(label=_("Past the answer date"), required=False)
    listed = forms.BooleanField(label=_("Listed supervision"), required=False)
    org = forms.CharField(label=_("Addressed organ (code)"), required=False, max_length=64)


class IssueForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=32)
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[
            (SupervisionRecord.Reason.LATE, SupervisionRecord.Reason.LATE.label),
            (SupervisionRecord.Reason.POOR, SupervisionRecord.Reason.POOR.label),
        ],
    )
    recommendations = forms.CharField(
        label=_("Recommendations (improvement, accountability)"),
        max_length=TEXT_FIELD_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    answer_by = forms.DateField(label=_("Answer by"), widget=DateInput())
    document = forms.BooleanField(
        label=_("Also issue the written notice (needs a missed clock)"), required=False
    )


class AnswerForm(forms.Form):
    text = forms.CharField(
        label=_("Written answer"),
        max_length=TEXT_FIELD_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    answered_on = forms.DateField(label=_("Answered on"), required=False, widget=DateInput())


class BacklogFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("any")), *BacklogCase.State.choices]
    )
    reason = forms.ChoiceField(
        label=_("Reason"), required=False, choices=[("", _("any")), *BacklogCase.Reason.choices]
    )
    org = forms.CharField(label=_("Holder (code)"), required=False, max_length=64)
    owner = forms.CharField(label=_("Owner (username)"), required=False, max_length=150)
    min_days = forms.IntegerField(label=_("Open at least (days)"), required=False, min_value=0)


class FlagForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=32)


class AssignForm(forms.Form):
    owner = forms.CharField(label=_("Leader (username)"), max_length=150)


class PlanForm(forms.Form):
    plan = forms.CharField(
        label=_("Resolution plan"),
        max_length=TEXT_FIELD_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    target_on = forms.DateField(label=_("Target date"), widget=DateInput())


class ProgressForm(forms.Form):
    text = forms.CharField(
        label=_("Progress"), max_length=TEXT_FIELD_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
    on = forms.DateField(label=_("On"), required=False, widget=DateInput())


class ResolveForm(forms.Form):
    outcome = forms.CharField(
        label=_("Resolution outcome"),
        max_length=TEXT_FIELD_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


BACKLOG_FORMS: dict[str, type[forms.Form]] = {
    "assign": AssignForm,
    "plan": PlanForm,
    "progress": ProgressForm,
    "resolve": ResolveForm,
}
