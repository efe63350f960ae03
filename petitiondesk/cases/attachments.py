"""Files given with a case: checked, stored outside the static root, read back only through
`access_attachment` (security.md "Uploads")."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.core.errors import InvalidInput, NotFound, RuleRefusal, TooLarge
from petitiondesk.core.files import FileType, detect_type, safe_filename

from .models import Attachment, Case
from .selectors import access_case
from .services import acting, case_add_material


class Upload(Protocol):
    """What Django's UploadedFile offers and the service needs."""

    name: str | None
    size: int | None

    def chunks(self, chunk_size: int | None = None) -> object: ...


def upload_dir() -> Path:
    return Path(settings.PETITIONDESK_UPLOAD_DIR)


def _read_capped(upload: Upload) -> bytes:
    limit = settings.PETITIONDESK_UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise _too_large()
    parts: list[bytes] = []
    total = 0
    for chunk in upload.chunks():  # type: ignore[attr-defined]
        total += len(chunk)
        if total > limit:
            raise _too_large()
        parts.append(chunk)
    data = b"".join(parts)
    if not data:
        raise InvalidInput("empty_file", _("the file is empty"), fields={"file": "empty"})
    return data


def _too_large() -> TooLarge:
    mib = settings.PETITIONDESK_UPLOAD_MAX_BYTES / 1_048_576
    return TooLarge(
        "file_too_large",
        _("a file may be at most %(mib).0f MiB") % {"mib": mib},
        fields={"file": "too large"},
    )


def _write_file(data: bytes) -> str:
    """Write the bytes under a random name (never the user's) and return that name."""
    storage_name = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"
    path = upload_dir() / storage_name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return storage_name


def check_upload(upload: Upload) -> FileType:
    """The file's type if `attachment_add` would take it (size, not empty, allowed content), else
    the same `DomainError`. Stores nothing: for checking every file before creating a case."""
    return detect_type(_read_capped(upload))


def check_uploads(uploads: Sequence[Upload], *, already: int = 0) -> list[FileType]:
    """`check_upload` on each file, and their number against the per-case limit (`already`: the
    files the case has)."""
    limit = settings.PETITIONDESK_UPLOAD_MAX_FILES
    if already + len(uploads) > limit:
        raise _too_many(limit)
    return [check_upload(u) for u in uploads]


def _too_many(limit: int) -> RuleRefusal:
    return RuleRefusal(
        "too_many_files",
        _("a case may have at most %(n)d attachments") % {"n": limit},
        fields={"file": "too many"},
    )


def attachment_add(*, case_id: int, upload: Upload, actor: User | None) -> Attachment:
    """Attach a file to a case: by staff (`actor`, verb `attach`) or by the petitioner (`actor`
    None, verb `add_material`, only while the case is open). Checked from its content; at most
    PETITIONDESK_UPLOAD_MAX_FILES per case."""
    data = _read_capped(upload)
    file_type = detect_type(data)
    by_petitioner = actor is None
    verb = "add_material" if by_petitioner else "attach"
    storage_name: str | None = None
    try:
        with acting(
            case_id=case_id,
            verb=verb,
            actor=actor,
            effective_on=None,
            by_petitioner=by_petitioner,
            holder_only=False,
        ) as step:
            limit = settings.PETITIONDESK_UPLOAD_MAX_FILES
            if step.case.attachments.count() >= limit:
                raise _too_many(limit)
            attachment = attachment_store(
                case=step.case,
                data=data,
                filename=upload.name or "",
                file_type=file_type,
                actor=actor,
            )
            storage_name = attachment.storage_name
            step.payload = {"attachment": attachment.filename, "attachment_id": attachment.pk}
    except BaseException:
        # The row was not stored, so nothing can reach the file: do not leave it behind.
        if storage_name is not None:
            (upload_dir() / storage_name).unlink(missing_ok=True)
        raise
    return attachment


def attachment_store(
    *, case: Case, data: bytes, filename: str, file_type: FileType, actor: User | None
) -> Attachment:
    """Store checked bytes (an upload, or a notice's PDF this system made) as an attachment of
    `case`; `actor` None is the petitioner. Must run inside the caller's transaction with the case
    locked; when that transaction fails, the caller removes the file with `attachment_discard`.
    Made documents are part of the record: they do not count against the upload limit."""
    storage_name = _write_file(data)
    try:
        return Attachment.objects.create(
            case=case,
            filename=safe_filename(filename, file_type),
            content_type=file_type.content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_name=storage_name,
            by_petitioner=actor is None,
            uploaded_by=actor,
        )
    except BaseException:
        attachment_discard(storage_name)
        raise


def attachment_discard(storage_name: str) -> None:
    """Remove a stored file whose row was never committed."""
    (upload_dir() / storage_name).unlink(missing_ok=True)


def material_add(*, case_id: int, text: str, uploads: Sequence[Upload]) -> Case:
    """The petitioner's further material: a text and/or files (each checked before anything is
    stored), while the case is open."""
    if not text.strip() and not uploads:
        raise InvalidInput(
            "missing_field",
            _("write something or choose a file"),
            fields={"text": "required without files"},
        )
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        raise NotFound("not_found", _("no such case"))
    check_uploads(uploads, already=case.attachments.count())
    if text.strip():
        case = case_add_material(case_id=case_id, text=text)
    for upload in uploads:
        attachment_add(case_id=case_id, upload=upload, actor=None)
    return case


def attachments_of(case: Case) -> list[Attachment]:
    return list(case.attachments.all())


def access_attachment(user: User, case_id: int, attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and its file path if the user may read the case; else the case's 404."""
    case = access_case(user, case_id, view="api.attachment")
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("not_found", _("no such attachment"))
    path = upload_dir() / attachment.storage_name
    if not path.is_file():
        raise NotFound("file_missing", _("the attachment's file is missing from storage"))
    return attachment, path
