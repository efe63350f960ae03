from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import CalendarOverride, CalendarYear
from .services import calendar_override_delete, calendar_override_set


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "version", "source", "loaded_at")


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    """Saving or deleting an override recomputes the open deadlines it moves (the service does)."""

    list_display = ("day", "is_workday", "reason", "created_at")

    def save_model(
        self, request: HttpRequest, obj: CalendarOverride, form: Any, change: bool
    ) -> None:
        if change and "day" in form.changed_data:
            calendar_override_delete(day=form.initial["day"])
        calendar_override_set(day=obj.day, is_workday=obj.is_workday, reason=obj.reason)
        obj.pk = CalendarOverride.objects.get(day=obj.day).pk  # the admin logs and links it

    def delete_model(self, request: HttpRequest, obj: CalendarOverride) -> None:
        calendar_override_delete(day=obj.day)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for day in list(queryset.values_list("day", flat=True)):
            calendar_override_delete(day=day)
