"""The staff workbench. Views stay thin: every rule lives in the services and selectors."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from petitiondesk.cases.selectors import READ_ROLES

from .auth import staff_page


@staff_page(*READ_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/desk/home.html", {})


app_name = "desk"
urlpatterns = [
    path("", home, name="home"),
]
