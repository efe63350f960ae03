from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.defaults import page_not_found

from petitiondesk.api.errors import error_response
from petitiondesk.api.urls import api
from petitiondesk.core import health, metrics

urlpatterns = [
    path("", include("petitiondesk.web.portal")),
    path("suggestions/", include("petitiondesk.web.suggestions.public")),
    path("desk/", include("petitiondesk.web.desk")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("petitiondesk.accounts.urls")),
    path("api/", api.urls),
    path("open311/v2/", include("petitiondesk.open311.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
]

# A database that does not answer is a 503, not a 500 (petitiondesk/core/unavailable.py).
handler500 = "petitiondesk.core.unavailable.handler500"


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    # API clients get the API's error format for unknown URLs too (api.md "Errors").
    if request.path.startswith("/api/"):
        return error_response(
            404, "not_found", f"no such endpoint: {request.method} {request.path}"
        )
    return page_not_found(request, exception)
