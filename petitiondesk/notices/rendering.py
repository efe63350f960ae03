"""Turning a notice's facts into its text and its PDF (WeasyPrint with the Noto CJK fonts).

Templates are edited by administrators, so they are rendered by a bare engine: no template loaders
(nothing to include or extend), only Django's built-in tags and filters plus `cn_date`, autoescape
on, and a context of the notice's facts alone (strings, numbers and dates: no model objects, so a
template cannot reach the database). The PDF renderer fetches nothing from outside.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from petitiondesk.core.errors import InvalidInput

from .filters import cn_date
from .models import Kind, Language

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"

DEFAULT_TITLES: dict[str, dict[str, str]] = {
    Language.ZH_HANS: {
        Kind.ACCEPTANCE: "信访事项受理告知书",
        Kind.NON_ACCEPTANCE: "信访事项不予受理告知书",
        Kind.DIVERSION: "信访事项导向告知书",
        Kind.EXTENSION: "信访事项延期办理告知书",
        Kind.HANDLING_OPINION: "信访事项处理意见书",
        Kind.REVIEW_OPINION: "信访事项复查意见书",
        Kind.REREVIEW_OPINION: "信访事项复核意见书",
        Kind.SUPERVISION: "信访事项督办单",
    },
    Language.EN: {
        Kind.ACCEPTANCE: "Notice of acceptance",
        Kind.NON_ACCEPTANCE: "Notice of non-acceptance",
        Kind.DIVERSION: "Notice of diversion to another procedure",
        Kind.EXTENSION: "Notice of extension",
        Kind.HANDLING_OPINION: "Handling opinion",
        Kind.REVIEW_OPINION: "Review opinion",
        Kind.REREVIEW_OPINION: "Re-review opinion",
        Kind.SUPERVISION: "Supervision notice",
    },
}

_engine = Engine(
    dirs=[],
    app_dirs=False,
    loaders=[],
    autoescape=True,
    builtins=["petitiondesk.notices.filters"],
    libraries={},
)


def default_body(kind: str, language: str) -> str:
    return (DEFAULTS_DIR / language / f"{kind}.html").read_text(encoding="utf-8")


def _context(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts with their dates (keys ending in `_on`, and `answer_by`; stored as ISO text) as
    dates."""
    out: dict[str, Any] = {}
    for key, value in facts.items():
        if (key.endswith("_on") or key == "answer_by") and isinstance(value, str) and value:
            try:
                out[key] = dt.date.fromisoformat(value)
                continue
            except ValueError:
                pass
        out[key] = value
    return out


def _render(body: str, facts: dict[str, Any]) -> str:
    try:
        return _engine.from_string(body).render(Context(_context(facts), autoescape=True))
    except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
        # E.g. a tag that does not exist, or an include: the engine has no templates to include.
        raise InvalidInput(
            "invalid_template", str(exc), fields={"body": "template error"}
        ) from None


def check_body(body: str) -> None:
    """`InvalidInput` unless `body` compiles and renders in the notice engine (an admin's edit)."""
    _render(body, {})


def render_body(body: str, facts: dict[str, Any]) -> str:
    """The notice's text (an HTML fragment), every fact escaped."""
    return _render(body, facts)


def render_pdf(
    *, title: str, number: str, org: str, issued_on: dt.date, language: str, body_html: str
) -> bytes:
    # Imported here: WeasyPrint loads Pango, which no web page needs.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class NoFetch(URLFetcher):
        """A notice is self-contained: an image or style a template names is not fetched."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"notices fetch nothing ({url[:60]})")

    page = render_to_string(
        "notices/pdf.html",
        {
            "title": title,
            "number": number,
            "org": org,
            "issued_on": issued_on,
            "issued_on_text": cn_date(issued_on),
            "language": language,
            "body": mark_safe(body_html),  # rendered by `render_body`, autoescaped there
        },
    )
    return bytes(HTML(string=page, url_fetcher=NoFetch()).write_pdf())
