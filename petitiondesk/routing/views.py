"""Desk views of the routing suggestions (the registration form asks them as the clerk types)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from petitiondesk.cases.worklists import REGISTERING_ROLES
from petitiondesk.web.auth import staff_page

from .advice import suggestions_for


@staff_page(*REGISTERING_ROLES)
def suggest(request: HttpRequest) -> HttpResponse:
    """The top suggestions for the title and content being registered (htmx partial)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    title = request.POST.get("title", "")[:200]
    content = request.POST.get("content", "")[:20000]
    suggested = suggestions_for(title, content)[0] if (title + content).strip() else {}
    return render(request, "routing/_suggestions.html", {"suggestions": suggested, "pick": True})
