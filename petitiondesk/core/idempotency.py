"""`Idempotency-Key` on API POSTs (api.md): a retried request returns the first answer and creates
nothing new. The first answer is stored in the same transaction as the change it made, so a crash
can never leave a change without its record or a record without its change."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY = 200
# Answers worth replaying: success and definite refusals, not "try again" ones.
REPLAYABLE = frozenset(range(200, 300)) | {400, 403, 404, 409, 413, 422}


def _json_error(status: int, code: str, message: str) -> HttpResponse:
    body = json.dumps({"error": {"code": code, "message": message, "fields": {}}})
    return HttpResponse(body, status=status, content_type="application/json")


def _principal(request: HttpRequest) -> str:
    # Anonymous callers are told apart by address, so one cannot replay another's answer.
    # Open311 clients name themselves by the api_key form field, not a header.
    open311_key = request.POST.get("api_key") if request.path.startswith("/open311/") else None
    who = (
        request.headers.get("Authorization")
        or (f"open311:{open311_key}" if open311_key else None)
        or request.COOKIES.get("sessionid")
        or f"anon:{request.META.get('REMOTE_ADDR', '')}"
    )
    return hashlib.sha256(who.encode()).hexdigest()[:64]


def _content_type(path: str) -> str:
    # Open311 answers in the format its URL names; everything else under /api/ is JSON.
    if path.startswith("/open311/") and path.endswith(".xml"):
        return "text/xml; charset=utf-8"
    if path.startswith("/open311/"):
        return "application/json; charset=utf-8"
    return "application/json"


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body),
        status=record.status_code,
        content_type=_content_type(record.method_path),
    )
    response["Idempotent-Replayed"] = "true"
    return response


# Multipart envelope around one file: boundaries, part headers and a few small fields.
MULTIPART_OVERHEAD = 64 * 1024


def body_limit(path: str) -> int:
    """The largest body accepted at `path`: uploads get room for one file, the rest the JSON limit."""
    if path.rstrip("/").endswith("/attachments"):
        return settings.PETITIONDESK_UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class ApiRequestMiddleware:
    """Body-size limits for every POST; idempotency for POSTs under /api/ and /open311/."""

    PREFIXES = ("/api/", "/open311/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if not request.path.startswith(self.PREFIXES):
            # Pages: a form may carry up to the per-case number of files of the largest size.
            page_limit = (
                settings.PETITIONDESK_UPLOAD_MAX_FILES * settings.PETITIONDESK_UPLOAD_MAX_BYTES
                + MULTIPART_OVERHEAD
            )
            if length > page_limit:
                return HttpResponse(
                    _("The form is too large: at most %(n)d files of %(mib)d MiB each.")
                    % {
                        "n": settings.PETITIONDESK_UPLOAD_MAX_FILES,
                        "mib": settings.PETITIONDESK_UPLOAD_MAX_BYTES // 1_048_576,
                    },
                    status=413,
                    content_type="text/plain; charset=utf-8",
                )
            return self.get_response(request)
        limit = body_limit(request.path)
        if length > limit:
            return _json_error(
                413, "payload_too_large", f"the request body is larger than {limit} bytes"
            )
        key = request.headers.get(HEADER)
        if key is None:
            return self.get_response(request)
        if not key.strip() or len(key) > MAX_KEY:
            return _json_error(400, "invalid_input", f"{HEADER} must be 1-{MAX_KEY} characters")
        principal = _principal(request)
        digest = hashlib.sha256(request.path.encode() + b"\n" + request.body).hexdigest()
        found = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
        if found is not None:
            return self._answer_for(found, digest)
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code in REPLAYABLE:
                    IdempotencyRecord.objects.create(
                        key=key,
                        principal=principal,
                        method_path=request.path[:300],
                        request_hash=digest,
                        status_code=response.status_code,
                        body=response.content,
                    )
        except IntegrityError:
            # A concurrent request with the same key won: its change stands, ours is rolled back.
            winner = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
            if winner is None:
                raise
            return self._answer_for(winner, digest)
        return response

    @staticmethod
    def _answer_for(record: IdempotencyRecord, digest: str) -> HttpResponse:
        if record.request_hash != digest:
            return _json_error(
                422,
                "idempotency_key_reused",
                f"this {HEADER} was used for a different request",
            )
        return _replay(record)
