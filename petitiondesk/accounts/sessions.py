"""Whether a browser session is good enough for what it asks: the second factor for roles that
need one (security.md). API tokens are separate credentials and are not affected."""

from typing import Any

from django.http import HttpRequest

from .services import otp_required


def session_satisfies_otp(request: HttpRequest) -> bool:
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    is_verified = getattr(user, "is_verified", None)
    return not otp_required(user) or bool(is_verified and is_verified())
