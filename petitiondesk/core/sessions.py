"""Idle session expiry without a database write on every request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

TOUCH_KEY = "_touched"
# A session's expiry moves forward at most this often: an idle timeout of 8 hours then holds to
# within 5 minutes, and a busy clerk's page views do not each rewrite the session row.
TOUCH_EVERY_SECONDS = 300


class SessionTouchMiddleware:
    """Marks a logged-in session as modified once every TOUCH_EVERY_SECONDS, so that Django saves
    it and restarts its SESSION_COOKIE_AGE (the idle timeout) from now."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id"):
            now = int(time.time())
            if now - int(session.get(TOUCH_KEY, 0)) >= TOUCH_EVERY_SECONDS:
                session[TOUCH_KEY] = now
        return response
