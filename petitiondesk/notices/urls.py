"""The Notices section's actions on the desk's case page (mounted under /desk/cases/<id>/notices/)."""

from django.urls import path

from . import desk

app_name = "notices"
urlpatterns = [
    path("", desk.issue, name="issue"),
    path("deliveries/<int:delivery_id>/confirm/", desk.confirm, name="confirm"),
]
