"""The calendar as data: loaded official schedules and single-day overrides."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarYear(models.Model):
    """A year's official schedule (State Council notice), loaded with `petitiondesk calendar load`.

    Takes precedence over the `chinesecalendar` package and the provisional fallback.
    """

    year = models.PositiveSmallIntegerField(unique=True)
    holidays = models.JSONField(default=list, help_text=_("rest days, YYYY-MM-DD"))
    workdays = models.JSONField(default=list, help_text=_("make-up workdays (调休), YYYY-MM-DD"))
    version = models.CharField(max_length=64)
    source = models.CharField(max_length=200, blank=True)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year"]

    def __str__(self) -> str:
        return f"{self.year} ({self.version})"


class CalendarOverride(models.Model):
    """An administrator's correction of one day (e.g. a local rest day by provincial decree)."""

    day = models.DateField(unique=True)
    is_workday = models.BooleanField()
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        kind = "workday" if self.is_workday else "rest day"
        return f"{self.day} {kind}"
