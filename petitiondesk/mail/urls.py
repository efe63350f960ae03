"""Quarantine review pages, included by the workbench under /desk/mail/ (namespace desk:mail)."""

from django.urls import path

from . import views

app_name = "mail"
urlpatterns = [
    path("", views.quarantine, name="quarantine"),
    path("<int:message_id>/", views.message_page, name="message"),
    path("<int:message_id>/release/", views.release, name="release"),
    path("<int:message_id>/dismiss/", views.dismiss, name="dismiss"),
]
