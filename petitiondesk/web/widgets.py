"""Widgets rendered in Python: a select with many options costs a template include per option with
Django's template widgets, a large share of a work-list page; the HTML here is the same."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from petitiondesk.accounts.selectors import active_orgs


class FastSelect(forms.Select):
    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts: list[str] = []
        for group, options, _index in widget["optgroups"]:
            html = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (o["value"], mark_safe(" selected") if o["selected"] else "", o["label"])
                    for o in options
                ),
            )
            parts.append(
                format_html('<optgroup label="{}">{}</optgroup>', group, html) if group else html
            )
        select_attrs = {**widget["attrs"], "name": widget["name"]}
        return format_html(
            "<select{}>{}</select>", flatatt(select_attrs), mark_safe("".join(parts))
        )


class DateInput(forms.DateInput):
    """The browser's date picker, with the ISO value it expects."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


def org_choices(exclude: int | None = None) -> list[tuple[str, str]]:
    """The active organisations as select options, after a blank one; `exclude` by id."""
    return [("", "—")] + [
        (code, f"{name} ({code})") for pk, code, name in active_orgs() if pk != exclude
    ]
