"""The staff workbench: work lists, registration, the case page, the board and the export."""

from django.urls import include, path

from . import views

app_name = "desk"
urlpatterns = [
    path("", views.home, name="home"),
    path("export.csv", views.export_csv, name="export"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("board/", views.board_page, name="board"),
    path("register/", views.register, name="register"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("cases/<int:case_id>/act/<str:verb>/", views.act, name="act"),
    path(
        "cases/<int:case_id>/attachments/<int:attachment_id>/",
        views.attachment,
        name="attachment",
    ),
    path("mail/", include("petitiondesk.mail.urls")),
    path("suggestions/", include("petitiondesk.web.suggestions.desk")),
    path("routing/", include("petitiondesk.routing.urls")),
    path("analytics/", include("petitiondesk.analytics.urls")),
    path("supervision/", include("petitiondesk.supervision.urls")),
    path("cases/<int:case_id>/notices/", include("petitiondesk.notices.urls")),
]
