from typing import Any

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from petitiondesk.analytics.api import router as analytics_router
from petitiondesk.notices.api import router as notices_router
from petitiondesk.suggestions.api import router as suggestions_router
from petitiondesk.supervision.api import router as supervision_router

from . import attachments, audit
from .errors import install_error_handlers
from .v1 import router, track_router


class UnicodeJSONRenderer(JSONRenderer):
    """Chinese text as characters, not \\u escapes: readable, and a third smaller on the wire."""

    json_dumps_params: dict[str, Any] = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=UnicodeJSONRenderer(),
    title="petitiondesk API",
    version="1",
    description="Petition (信访) intake, workflow and tracking. See docs/api.md.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
api.add_router("/v1/", router)
api.add_router("/v1/", track_router)
api.add_router("/v1/", attachments.router)
api.add_router("/v1/", audit.router)
api.add_router("/v1/", notices_router)
api.add_router("/v1/", suggestions_router)
api.add_router("/v1/", analytics_router)
api.add_router("/v1/", supervision_router)
api.add_router("/v1/", "petitiondesk.routing.api.router")  # reply assistance
