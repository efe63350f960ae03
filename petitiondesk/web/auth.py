"""Who may open a page: staff pages need a login, the second factor where the role needs it, and a
role that reads cases (security.md). Case-level access stays in `cases.selectors.access_*`."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseForbidden, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.accounts.sessions import session_satisfies_otp

View = Callable[..., HttpResponseBase]


def staff_page(*roles: str) -> Callable[[View], View]:
    """Login (with its second factor) required; with `roles`, only those roles (else 403)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not session_satisfies_otp(request):
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{settings.LOGIN_URL}?{query}")
            user: User = request.user  # type: ignore[assignment]
            if roles and user.role not in roles:
                return HttpResponseForbidden(_("Your role may not open this page."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
