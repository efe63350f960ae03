from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("submit/", views.submit, name="submit"),
    path("divisions/", views.divisions, name="divisions"),
    path("receipt/", views.receipt, name="receipt"),
    path("track/", views.track, name="track"),
    path("track/case/", views.tracked, name="tracked"),
    path("track/case/material/", views.add_material, name="add_material"),
    path("track/case/rate/", views.rate, name="rate"),
    path("track/case/appeal/", views.appeal, name="appeal"),
    path("track/leave/", views.leave, name="leave"),
]
