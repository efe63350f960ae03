from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.defaults import page_not_found

from petitiondesk.api.errors import error_response
from petitiondesk.api.urls import api

urlpatterns = [
    path("", include("petitiondesk.web.portal")),
    path("suggestions/", include("petitiondesk.web.suggestions.public")),
    path("desk/", include("petitiondesk.web.desk")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("petitiondesk.accounts.urls")),
    path("api/", api.urls),
    path("open311/v2/", include("petitiondesk.open311.urls")),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    # API clients get the API's error format for unknown URLs too (api.md "Errors").
    if request.path.startswith("/api/"):
        return error_response(
            404, "not_found", f"no such endpoint: {request.method} {request.path}"
        )
    return page_not_found(request, exception)
