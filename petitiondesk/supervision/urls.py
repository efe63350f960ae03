"""Desk pages of supervision notices and backlog cases (mounted under /desk/supervision/)."""

from django.urls import path  # noqa: F401

app_name = "supervision"
urlpatterns: list = []
