"""Organisations (the org tree), staff users with one role, and hashed API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    """A body in the org tree. `parent` is the superior organ (the next level for appeals)."""

    class Kind(models.TextChoices):
        PETITION_DEPARTMENT = "petition_department", _("petition department (信访部门)")
        ORGAN = "organ", _("responsible organ (有权处理的机关)")
        DISCIPLINE = "discipline", _("discipline inspection organ (纪检监察机关)")
        POLITICAL_LEGAL = "political_legal", _("political-legal department (政法部门)")

    class Level(models.TextChoices):
        NATIONAL = "national", _("national")
        PROVINCE = "province", _("province")
        CITY = "city", _("city")
        COUNTY = "county", _("county")
        TOWNSHIP = "township", _("township")

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    level = models.CharField(max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    division_code = models.CharField(max_length=12, blank=True, db_index=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class User(AbstractUser):
    """A staff member: one organisation, one role."""

    class Role(models.TextChoices):
        CLERK = "clerk", _("clerk")
        HANDLER = "handler", _("handler")
        HEAD = "head", _("head")
        SUPERVISOR = "supervisor", _("supervisor")
        ANALYST = "analyst", _("analyst")
        ADMIN = "admin", _("admin")

    org = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLERK)


def hash_token(raw: str) -> str:
    """Tokens are high-entropy secrets, so one SHA-256 is enough (and cheap on every request)."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text=_("first characters, to recognise a token"))
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def generate() -> str:
        return "pd_" + secrets.token_urlsafe(32)
