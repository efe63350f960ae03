"""The topic taxonomy (one to three levels) and administrative divisions (province → city → county)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Topic(models.Model):
    """A subject of petitions. `code` is what a case stores in `topic`."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    level = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveIntegerField(default=0, help_text=_("order among its siblings"))

    class Meta:
        ordering = ["level", "position", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Division(models.Model):
    """An administrative division (行政区划) by its GB/T 2260 style code."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("province")
        CITY = "city", _("city")
        COUNTY = "county", _("county")

    code = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=100)
    level = models.CharField(max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
