"""Admins see the read audit (security.md), never case contents: no Case admin on purpose."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ReadAudit


@admin.register(ReadAudit)
class ReadAuditAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "org", "case_id", "view")
    list_filter = ("view",)
    search_fields = ("user__username", "case__tracking_number")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
