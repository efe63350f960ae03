"""Serving a stored attachment: the one response both the API and the pages send."""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse


def attachment_response(path: Path, *, filename: str, content_type: str) -> FileResponse:
    """The file as a download, never rendered by the browser as a page of this site, whatever
    the bytes are (security.md "Uploads")."""
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
