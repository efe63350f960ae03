"""Desk pages of routing assistance (mounted under /desk/routing/)."""

from django.urls import path

from . import desk, views

app_name = "routing"
urlpatterns: list = [
    path("suggest/", views.suggest, name="suggest"),
    # Reply assistance (routing/desk.py)
    path("cases/<int:case_id>/similar-replies/", desk.similar, name="similar_replies"),
    path("cases/<int:case_id>/opinion-check/", desk.opinion_check, name="opinion_check"),
]
