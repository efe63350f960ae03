from django.contrib import admin

from .models import Solicitation


@admin.register(Solicitation)
class SolicitationAdmin(admin.ModelAdmin[Solicitation]):
    """Solicitations only: suggestions carry proposers' details, which the admin role never reads."""

    list_display = ("title", "org", "opens_on", "closes_on", "support_threshold")
    list_filter = ("org",)
