"""Errors the domain raises; adapters turn them into HTTP answers or CLI exit codes."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the domain refuses. `code` is machine-readable, `message` is for people."""

    status = 400

    def __init__(self, code: str, message: str, *, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}


class InvalidInput(DomainError):
    """Malformed or out-of-range input (HTTP 400)."""

    status = 400


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class InvalidTransition(DomainError):
    """The verb is not allowed from the case's current status (HTTP 409)."""

    status = 409

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__("invalid_transition", message, **kwargs)


class Conflict(DomainError):
    """Another change won a race for the same case (HTTP 409)."""

    status = 409


class RuleRefusal(DomainError):
    """A rule of the Regulations refuses the request (HTTP 422): late, final, skip_level, …"""

    status = 422


class TooLarge(DomainError):
    """A body or file over its documented size limit (HTTP 413)."""

    status = 413


class RateLimited(DomainError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__("rate_limited", message)
        self.retry_after = retry_after
