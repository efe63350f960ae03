from django.urls import path

from . import views

# `<fmt>` is the format extension (xml or json); views answer 404 for any other.
urlpatterns = [
    path("discovery.<str:fmt>", views.DiscoveryView.as_view(), name="open311-discovery"),
    path("services.<str:fmt>", views.ServicesView.as_view(), name="open311-services"),
    path(
        # Topic codes of deeper levels contain "/" (docs/api.md "topics load").
        "services/<path:service_code>.<str:fmt>",
        views.ServiceDefinitionView.as_view(),
        name="open311-service",
    ),
    path("requests.<str:fmt>", views.RequestsView.as_view(), name="open311-requests"),
    path(
        "requests/<str:service_request_id>.<str:fmt>",
        views.RequestView.as_view(),
        name="open311-request",
    ),
    path("tokens/<str:token>.<str:fmt>", views.TokenView.as_view(), name="open311-token"),
    path("<path:rest>", views.not_found, name="open311-not-found"),
]
