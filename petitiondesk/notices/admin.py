"""Administrators edit the wording of notices: a save is a new version, the old one is kept."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern

from petitiondesk.core.errors import InvalidInput

from .models import NoticeTemplate
from .rendering import check_body
from .services import template_revise


class NoticeTemplateForm(forms.ModelForm):
    class Meta:
        model = NoticeTemplate
        fields = ("kind", "language", "title", "body")

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        try:
            check_body(body)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None
        return body


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    form = NoticeTemplateForm
    list_display = ("title", "kind", "language", "version", "is_active", "updated_by", "updated_at")
    list_filter = ("kind", "language", "is_active")
    readonly_fields = ("version", "is_active", "updated_by", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A version's kind and language stay; a new kind is a new template.
        base = tuple(self.readonly_fields)
        return (*base, "kind", "language") if obj else base

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = template_revise(
            kind=obj.kind,
            language=obj.language,
            title=obj.title,
            body=obj.body,
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk, obj.version, obj.is_active = saved.pk, saved.version, saved.is_active

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # issued notices name their versions

    def get_urls(self) -> list[URLPattern]:
        # No delete page at all (rather than one that always answers 403).
        return [u for u in super().get_urls() if not str(u.name or "").endswith("_delete")]
