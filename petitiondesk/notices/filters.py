"""The filters a notice template may use besides Django's built-in ones."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def cn_date(value: dt.date | None) -> str:
    """A date as written in Chinese official documents: 2026年11月27日 (no leading zeros)."""
    if not isinstance(value, dt.date):
        return ""
    return f"{value.year}年{value.month}月{value.day}日"
