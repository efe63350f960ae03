"""Desk pages of analytics (mounted under /desk/analytics/)."""

from django.urls import path

from . import report_views, views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<str:name>.<str:fmt>", views.export, name="export"),
    path("boundaries.json", views.boundaries, name="boundaries"),
    path("report/<str:kind>.<str:fmt>", report_views.report_download, name="report"),
]
