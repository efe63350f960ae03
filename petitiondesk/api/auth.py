"""Who is calling: a staff member (bearer token or session) or the public."""

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import token_authenticate
from petitiondesk.accounts.sessions import session_satisfies_otp

PUBLIC = "public"  # the marker for an unauthenticated caller where that is allowed


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return token_authenticate(token)


class StaffSession(APIKeyCookie):
    """A logged-in browser session; CSRF-checked by ninja for unsafe methods."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        # No session cookie: nothing to protect from CSRF, and a bad or missing token must stay
        # 401 (api.md), not become a CSRF 403.
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and session_satisfies_otp(request):
            return user
        return None


class PublicOrStaff(HttpBearer):
    """Staff by token or session when they present one; otherwise the public. A wrong token is 401,
    never silently downgraded to public."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        if header:
            user = super().__call__(request)
            if not user:
                raise AuthenticationError()
            return user
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and session_satisfies_otp(request):
            if request.method not in ("GET", "HEAD", "OPTIONS") and check_csrf(request):
                raise AuthenticationError(403, "CSRF check failed")
            return user
        return PUBLIC

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return token_authenticate(token)


STAFF_AUTH = [BearerToken(), StaffSession()]


def staff_user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def caller(request: HttpRequest) -> User | None:
    auth = request.auth  # type: ignore[attr-defined]
    return None if auth == PUBLIC else auth
