"""Checking free text from users: one rule for every channel and verb."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from .errors import InvalidInput

# Control characters other than tab and line breaks: never meaningful in a petition, and NUL
# cannot be stored in PostgreSQL text at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str | None, name: str, *, limit: int, required: bool = False) -> str:
    """The stripped text, or `InvalidInput` when missing, over `limit` (refused, never cut) or
    containing control characters."""
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(
            "missing_field", _("%(f)s is required") % {"f": name}, fields={name: "required"}
        )
    if len(value) > limit:
        raise InvalidInput(
            "too_long",
            _("%(f)s is longer than the limit of %(n)d characters") % {"f": name, "n": limit},
            fields={name: f"at most {limit} characters"},
        )
    if _CONTROL.search(value):
        raise InvalidInput(
            "invalid_input",
            _("%(f)s contains control characters") % {"f": name},
            fields={name: "control characters"},
        )
    return value
