"""Administering the Open311 service attributes (the questions a service asks)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _

from .models import ServiceAttribute


class ServiceAttributeForm(forms.ModelForm):
    class Meta:
        model = ServiceAttribute
        fields = (
            "topic",
            "code",
            "datatype",
            "required",
            "variable",
            "description",
            "datatype_description",
            "order",
            "values",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        values = data.get("values") or []
        valid = isinstance(values, list) and all(
            isinstance(v, dict) and str(v.get("key", "")).strip() and str(v.get("name", "")).strip()
            for v in values
        )
        if not valid:
            self.add_error("values", _('give a list of {"key": …, "name": …} objects'))
        elif data.get("datatype") in ServiceAttribute.LIST_TYPES and not values:
            self.add_error("values", _("a list attribute needs its values"))
        return data


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(admin.ModelAdmin):
    form = ServiceAttributeForm
    list_display = ("topic", "code", "datatype", "required", "order")
    list_filter = ("datatype", "required")
    search_fields = ("code", "description", "topic__code", "topic__name")
    raw_id_fields = ("topic",)
