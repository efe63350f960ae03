"""GeoReport v2 documents as XML (required) and JSON, and the spec's error lists."""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from django.http import HttpResponse

CONTENT_TYPES = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
# The element of each item in a list, by the list's element (the spec's examples).
ITEMS = {
    "service_requests": "request",
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(SubElement(element, key), child)
    elif isinstance(value, list):
        for item in value:
            _fill(SubElement(element, ITEMS[element.tag]), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = Element(root)
    _fill(element, value)
    return (XML_DECLARATION + tostring(element, encoding="unicode")).encode()


def document(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    """`value` under the XML element `root`, or as JSON (lists stay lists, even of one)."""
    body = json.dumps(value, ensure_ascii=False).encode() if fmt == "json" else to_xml(root, value)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, description: str) -> HttpResponse:
    """The spec's error list: [{code, description}], the code being the HTTP status."""
    return document(
        fmt if fmt in CONTENT_TYPES else "xml",
        "errors",
        [{"code": status, "description": description}],
        status=status,
    )
