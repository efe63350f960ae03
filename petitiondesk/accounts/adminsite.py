"""The admin site: for the admin role only, with a verified second factor when the role needs it."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from .models import User
from .sessions import session_satisfies_otp


class SecureAdminSite(admin.AdminSite):
    site_header = _("petitiondesk administration")
    site_title = _("petitiondesk")

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return (
            super().has_permission(request)
            and user.role == User.Role.ADMIN
            and session_satisfies_otp(request)
        )

    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        # One login page for the whole site, the one that asks for the second factor.
        target = request.GET.get("next") or "/admin/"
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': target})}")
