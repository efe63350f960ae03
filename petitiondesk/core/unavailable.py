"""Answers for a failing dependency instead of a bare 500: the database not reachable (down,
restarting, SQLite still locked after its busy timeout) is a 503 with `Retry-After`; a full
upload volume is a 507. The API and Open311 get the API's error format, pages a short HTML page.

Whatever the failing request was writing rolled back with its `transaction.atomic()` block, so
a client may simply send it again (with the same `Idempotency-Key` for API POSTs)."""

from __future__ import annotations

import errno
import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.defaults import server_error

from petitiondesk.api.errors import error_response

log = logging.getLogger("petitiondesk.unavailable")

RETRY_AFTER_SECONDS = 10
STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _answer(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if request.path.startswith(("/api/", "/open311/")):
        return error_response(status, code, message)
    # A page without the desk's layout: that needs the session and user, i.e. the database.
    html = render_to_string("core/unavailable.html", {"message": message, "status": status})
    return HttpResponse(html, status=status)


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """The 503/507 answer for `exc`, or None when it is some other error (a real 500)."""
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable: %s %s: %s", request.method, request.path, exc)
        response = _answer(
            request,
            503,
            "unavailable",
            _("The service is briefly unavailable. Nothing was saved; please try again shortly."),
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, OSError) and exc.errno in STORAGE_FULL_ERRNOS:
        log.error("upload storage full: %s %s: %s", request.method, request.path, exc)
        return _answer(
            request,
            507,
            "storage_full",
            _("Files cannot be stored at the moment. Nothing was saved; please try again later."),
        )
    return None


class ServiceUnavailableMiddleware:
    """Turns an unavailable database or a full disk raised by a view into 503/507."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable_response(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    """The same answers for errors raised outside views (a middleware loading the session, or
    saving it on the way out); Django calls this while handling the exception."""
    exc = sys.exc_info()[1]
    if exc is not None:
        response = unavailable_response(request, exc)
        if response is not None:
            return response
    return server_error(request)
