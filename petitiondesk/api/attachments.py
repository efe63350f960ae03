"""Attachments over the API: upload (staff, or the petitioner with the access key) and an
access-checked download. Thin adapters over `cases.attachments`."""

from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import File, Router, Status, UploadedFile

from petitiondesk.cases.attachments import access_attachment, attachment_add
from petitiondesk.cases.models import Attachment
from petitiondesk.cases.selectors import access_case, access_tracked_case
from petitiondesk.core.downloads import attachment_response
from petitiondesk.core.ratelimit import client_ip

from .auth import STAFF_AUTH, staff_user
from .schemas import ERRORS, AccessKey, AttachmentOut, TrackingNumber

router = Router(tags=["attachments"])


def present_attachment(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "by_petitioner": a.by_petitioner,
    }


@router.post(
    "/petitions/{case_id}/attachments",
    response={201: AttachmentOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Attach a file (staff)",
)
def upload(request: HttpRequest, case_id: int, file: File[UploadedFile]) -> Status[dict[str, Any]]:
    user = staff_user(request)
    access_case(user, case_id)
    return Status(201, present_attachment(attachment_add(case_id=case_id, upload=file, actor=user)))


@router.get(
    "/petitions/{case_id}/attachments/{attachment_id}",
    response={200: None, **ERRORS},
    auth=STAFF_AUTH,
    summary="Download an attachment",
)
def download(request: HttpRequest, case_id: int, attachment_id: int) -> FileResponse:
    attachment, path = access_attachment(staff_user(request), case_id, attachment_id)
    return attachment_response(
        path, filename=attachment.filename, content_type=attachment.content_type
    )


@router.post(
    "/track/{tracking_number}/attachments",
    response={201: AttachmentOut, **ERRORS},
    summary="Attach a file (petitioner)",
)
def track_upload(
    request: HttpRequest,
    tracking_number: TrackingNumber,
    file: File[UploadedFile],
    x_access_key: AccessKey = "",
) -> Status[dict[str, Any]]:
    case = access_tracked_case(
        tracking_number=tracking_number,
        access_key=x_access_key,
        ip=client_ip(request),
    )
    return Status(201, present_attachment(attachment_add(case_id=case.pk, upload=file, actor=None)))
