"""Staff login (password, then the TOTP second factor where required) and logout."""

from typing import Any

import django_otp
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from .forms import LoginForm
from .services import otp_device, otp_required


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


@sensitive_post_parameters("password", "otp_token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        user: Any = authenticate(request, username=username, password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            return locked_out(request)
        if user is None:
            error = _("The username or password is wrong.")
        else:
            device = otp_device(user)
            token = form.cleaned_data["otp_token"].strip()
            if device is None and otp_required(user):
                error = _(
                    "Your role needs a second factor and none is set up for your account; "
                    "ask an administrator to enrol one."
                )
            elif device is not None and not (token and device.verify_token(token)):
                # A wrong code counts as a failed login, so codes cannot be guessed either.
                user_login_failed.send(
                    sender=__name__, credentials={"username": username}, request=request
                )
                error = _("The one-time code is missing or wrong.")
            else:
                login(request, user)
                if device is not None:
                    django_otp.login(request, device)
                return HttpResponseRedirect(_next_url(request))
    status = 400 if error or form.errors else 200
    return render(
        request,
        "accounts/login.html",
        {"form": form, "error": error, "next": _next_url(request)},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(settings.LOGIN_URL)


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer once a username and address have failed too often."""
    minutes = settings.PETITIONDESK_LOGIN_LOCKOUT_MINUTES
    return render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)
