"""Forms of the citizen portal: they parse input; every rule is checked by the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from petitiondesk.cases.models import CONTENT_MAX, TEXT_FIELD_MAX, TITLE_MAX, Case
from petitiondesk.cases.selectors import APPEAL_WINDOWS
from petitiondesk.core.files import ALLOWED
from petitiondesk.intake.services import PetitionerData, Submission
from petitiondesk.reference.selectors import division_children, topic_tree

ACCEPT = ",".join(f".{t.extension},{t.content_type}" for t in ALLOWED)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one <input type=file multiple>; none is fine."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def _topic_choices() -> list[tuple[str, Any]]:
    """The taxonomy as a grouped list: a first-level topic with children becomes a group."""
    choices: list[tuple[str, Any]] = [("", _("— choose a topic (optional) —"))]
    for node in topic_tree():
        if not node.children:
            choices.append((node.code, node.label()))
            continue
        options = [(node.code, node.label())]
        for child in node.children:
            options.append((child.code, child.label()))
            options += [(g.code, f"{child.label()} / {g.label()}") for g in child.children]
        choices.append((node.label(), options))
    return choices


def _division_choices(parent: str | None) -> list[tuple[str, Any]]:
    return [("", _("— choose —")), *division_children(parent)]


class SubmitForm(forms.Form):
    required_css_class = "required"

    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    content = forms.CharField(
        label=_("What happened and what you ask for"),
        max_length=CONTENT_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    category = forms.ChoiceField(
        label=_("Kind of petition"),
        choices=[("", _("Not sure: the office will decide")), *Case.Category.choices],
        required=False,
        widget=forms.RadioSelect,
    )
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    province = forms.ChoiceField(label=_("Province"), required=False)
    city = forms.ChoiceField(label=_("City"), required=False)
    county = forms.ChoiceField(label=_("County or district"), required=False)
    name = forms.CharField(label=_("Your name"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    id_number = forms.CharField(label=_("ID card number"), max_length=40, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    email = forms.EmailField(label=_("E-mail"), max_length=254, required=False)
    people_count = forms.IntegerField(label=_("How many people"), min_value=1, initial=1)
    representatives = forms.IntegerField(
        label=_("Number of representatives"), min_value=0, initial=0
    )
    other_people = forms.CharField(
        label=_("The representatives' names and phone numbers"),
        max_length=TEXT_FIELD_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One person a line: name, phone."),
    )
    attachments = MultipleFileField(label=_("Attachments"))
    anonymous = forms.BooleanField(label=_("Submit anonymously"), required=False)
    confidential = forms.BooleanField(label=_("Keep my identity confidential"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("topic", _topic_choices())
        data = self.data if self.is_bound else {}
        province = str(data.get("province") or "")
        city = str(data.get("city") or "")
        self._choices("province", _division_choices(None))
        self._choices("city", _division_choices(province) if province else [("", "—")])
        self._choices("county", _division_choices(city) if city else [("", "—")])
        # The cascading picker: choosing a province (city) loads its cities (counties) with htmx.
        # Without it, the province alone is enough.
        url = reverse("portal:divisions")
        for name, target in (("province", "#id_city"), ("city", "#id_county")):
            self.fields[name].widget.attrs.update(
                {"hx-get": url, "hx-target": target, "hx-trigger": "change"}
            )
        for name in ("name", "phone", "id_number", "address", "email"):
            self.fields[name].widget.attrs["autocomplete"] = {
                "name": "name",
                "phone": "tel",
                "address": "street-address",
                "email": "email",
            }.get(name, "off")

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    @property
    def has_divisions(self) -> bool:
        return len(division_children(None)) > 0

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.has_divisions and not data.get("province"):
            self.add_error("province", _("Choose where the matter happened."))
        return data

    def people(self) -> list[PetitionerData]:
        d = self.cleaned_data
        first = PetitionerData(
            name=d["name"],
            phone=d["phone"],
            id_number=d["id_number"],
            address=d["address"],
            email=d["email"],
        )
        others = []
        for line in d["other_people"].splitlines():
            name, _sep, phone = line.replace("，", ",").partition(",")
            if name.strip():
                others.append(PetitionerData(name=name.strip(), phone=phone.strip()))
        return [first, *others] if (first.name or others) else []

    def submission(self) -> Submission:
        d = self.cleaned_data
        return Submission(
            title=d["title"],
            content=d["content"],
            category=d["category"] or None,
            topic=d["topic"] or None,
            division_code=d["county"] or d["city"] or d["province"] or "",
            petitioners=self.people(),
            people_count=d["people_count"],
            representatives=d["representatives"],
            anonymous=d["anonymous"],
            confidential=d["confidential"],
        )


class TrackForm(forms.Form):
    required_css_class = "required"

    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    access_key = forms.CharField(
        label=_("Access key"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_tracking_number(self) -> str:
        return "".join(self.cleaned_data["tracking_number"].split()).upper()

    def clean_access_key(self) -> str:
        return "".join(self.cleaned_data["access_key"].split()).replace("-", "").upper()


class MaterialForm(forms.Form):
    text = forms.CharField(
        label=_("Further information"),
        max_length=CONTENT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    attachments = MultipleFileField(label=_("Files"))


class RateForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("How satisfied are you with the handling?"),
        choices=Case.Rating.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=TEXT_FIELD_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AppealForm(forms.Form):
    verb = forms.ChoiceField(choices=[(v, v) for v in APPEAL_WINDOWS], widget=forms.HiddenInput)
