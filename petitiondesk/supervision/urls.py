"""Desk pages of supervision notices and backlog cases (mounted under /desk/supervision/)."""

from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("notices/", views.notice_list, name="notices"),
    path("notices/<int:record_id>/", views.notice_detail, name="notice"),
    path("notices/<int:record_id>/answer/", views.notice_answer, name="answer"),
    path("notices/<int:record_id>/close/", views.notice_close, name="close"),
    path("backlog/", views.backlog_board, name="backlog"),
    path("backlog/<int:backlog_id>/", views.backlog_detail, name="backlog_case"),
    path("backlog/<int:backlog_id>/<str:step>/", views.backlog_step, name="backlog_step"),
]
