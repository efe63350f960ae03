"""What an uploaded file really is, and a safe name for it.

The type is read from the bytes, never from the name or the browser's claim: a renamed executable or
an HTML page must not reach a handler's machine as a "PDF" (security.md "Uploads").
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import InvalidInput


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    label: str


PDF = FileType("application/pdf", "pdf", "PDF")
JPEG = FileType("image/jpeg", "jpg", "JPEG")
PNG = FileType("image/png", "png", "PNG")
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "DOCX"
)
ALLOWED = (PDF, JPEG, PNG, DOCX)
ALLOWED_LABELS = ", ".join(t.label for t in ALLOWED)

_ZIP_MAGIC = b"PK\x03\x04"
# Recognised only to say clearly what was refused.
_KNOWN_REFUSED = (
    (b"MZ", gettext_lazy("a Windows program")),
    (b"\x7fELF", gettext_lazy("a Linux program")),
    (b"#!", gettext_lazy("a script")),
)


def _docx_kind(head: bytes, data: bytes) -> str | None:
    """'docx' for a Word document without macros, else why not (None: not a zip at all)."""
    if not head.startswith(_ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError):
        return _("a damaged archive")
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        return _("an archive that is not a Word document")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return _("a Word document with macros")
    return "docx"


def detect_type(data: bytes) -> FileType:
    """The allowed type the bytes are, or `InvalidInput("file_type_not_allowed")` saying what they
    look like instead."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    docx = _docx_kind(head, data)
    if docx == "docx":
        return DOCX
    what = docx
    if what is None:
        lowered = data[:512].lstrip().lower()
        if lowered.startswith((b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml")):
            what = _("a web page or markup")
        else:
            what = next((str(w) for magic, w in _KNOWN_REFUSED if head.startswith(magic)), None)
    raise InvalidInput(
        "file_type_not_allowed",
        _("only %(allowed)s files are accepted; this file is %(what)s")
        % {"allowed": ALLOWED_LABELS, "what": what or _("of another type")},
        fields={"file": "type not allowed"},
    )


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
NAME_MAX = 100


def safe_filename(name: str, file_type: FileType) -> str:
    """A display name with no path, no control or reserved characters, and the extension of the
    detected type (so the name never claims a type the content is not)."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]  # drop any directory part, e.g. "../../etc/passwd"
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" ._")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem.strip(" ._")[: NAME_MAX - len(file_type.extension) - 1] or "attachment"
    return f"{stem}.{file_type.extension}"


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MB blocks (backups, model files)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
