"""One error format for the whole API: {"error": {"code", "message", "fields"}} (api.md)."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from petitiondesk.core.errors import DomainError, RateLimited


def error_response(
    status: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = error_response(exc.status, exc.code, exc.message, exc.fields)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        # pydantic words a validator's ValueError as "Value error, <message>".
        fields[".".join(loc) or "body"] = str(err.get("msg", "invalid")).removeprefix(
            "Value error, "
        )
    summary = "; ".join(f"{k}: {v}" for k, v in list(fields.items())[:3])
    return error_response(400, "invalid_input", f"invalid input ({summary})", fields)


# The documented code (api.md "Errors") for an HttpError raised by ninja or an auth class.
HTTP_ERROR_CODES = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
}


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    if isinstance(exc, AuthenticationError) and status == 401:
        return error_response(401, "unauthenticated", "a valid API token or session is required")
    if status == 400 and str(exc).startswith("Cannot parse request body"):
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    # E.g. 403 "CSRF check failed" for a session without its CSRF token.
    return error_response(status, HTTP_ERROR_CODES.get(status, "http_error"), str(exc))


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", "not found")


def install_error_handlers(api: NinjaAPI) -> None:
    api.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    api.add_exception_handler(ValidationError, _validation_error)  # type: ignore[arg-type]
    api.add_exception_handler(HttpError, _http_error)  # type: ignore[arg-type]
    api.add_exception_handler(Http404, _not_found)  # type: ignore[arg-type]
