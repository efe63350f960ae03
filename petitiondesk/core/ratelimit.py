"""Fixed-window counters in the shared cache, so limits hold across processes (security.md)."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

from .errors import RateLimited


def client_ip(request: HttpRequest) -> str:
    """The address limits count against: the connection's peer. The one place to change when a
    trusted proxy's forwarded header should name the client instead."""
    return request.META.get("REMOTE_ADDR", "")


def check_limit(keys: list[str], *, limit: int, window: int) -> None:
    """Refuse with 429 (and Retry-After) once any key has counted `limit` hits in its window."""
    counts = cache.get_many(keys)
    if any(counts.get(k, 0) >= limit for k in keys):
        raise RateLimited(_("too many requests; try again later"), retry_after=window)


def count_hit(keys: list[str], *, window: int) -> None:
    for k in keys:
        cache.add(k, 0, window)
        try:
            cache.incr(k)
        except ValueError:  # expired between add and incr
            cache.set(k, 1, window)


def hit(keys: list[str], *, limit: int, window: int) -> None:
    """Count one request against `keys`, refusing it past the limit. `limit` 0 turns it off."""
    if limit <= 0:
        return
    check_limit(keys, limit=limit, window=window)
    count_hit(keys, window=window)
