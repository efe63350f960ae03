"""The citizen portal: no account needed. Views stay thin: every rule lives in the services."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from petitiondesk.calendar.profiles import default_profile
from petitiondesk.core import clock


def home(request: HttpRequest) -> HttpResponse:
    profile = default_profile()
    return render(request, "web/portal/home.html", {"profile": profile, "today": clock.today()})


app_name = "portal"
urlpatterns = [
    path("", home, name="home"),
    # Filled in by the portal pages: submit, receipt, track.
    path("submit/", home, name="submit"),
    path("track/", home, name="track"),
]
