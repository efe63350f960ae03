from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.http import HttpRequest

from .models import ApiToken, Organisation, User
from .selectors import invalidate_org_tree


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "level", "parent", "division_code", "is_active")
    list_filter = ("kind", "level", "is_active")
    search_fields = ("code", "name", "division_code")

    def save_model(self, request: HttpRequest, obj: Organisation, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        transaction.on_commit(invalidate_org_tree)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ("username", "org", "role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("petitiondesk", {"fields": ("org", "role")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("token_hash", "prefix", "created_at", "last_used_at")
