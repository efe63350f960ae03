"""The Open311 GeoReport v2 endpoints (api.md "Open311"): thin adapters over selectors.py and
services.py. Reads are public and use no session; POST authenticates by `api_key`, not CSRF."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from petitiondesk.core.errors import DomainError
from petitiondesk.core.ratelimit import client_ip

from . import render, selectors
from .services import PostedRequest, open311_request_create

log = logging.getLogger(__name__)
POST_FIELDS = tuple(f for f in PostedRequest.__dataclass_fields__ if f != "attributes")


@method_decorator(csrf_exempt, name="dispatch")
class Open311View(View):
    """Answers in the format named by the URL's extension; domain errors become the spec's
    error list with their HTTP status; an unknown format is a 404 (in XML)."""

    in_jurisdiction = True  # reads check the configured jurisdiction_id (POST: the service)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        fmt = kwargs.pop("fmt")
        if fmt not in render.CONTENT_TYPES:
            return render.errors("xml", 404, _("unknown format %s: use xml or json") % fmt)
        self.fmt = fmt
        try:
            if self.in_jurisdiction and request.method != "POST":
                selectors.check_jurisdiction(request.GET.get("jurisdiction_id"))
            return super().dispatch(request, *args, **kwargs)
        except DomainError as exc:
            return render.errors(fmt, exc.status, exc.message)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = render.errors(self.fmt, 405, _("method %s not allowed") % request.method)
        response["Allow"] = ", ".join(m.upper() for m in self._allowed_methods())  # type: ignore[attr-defined]
        return response


class DiscoveryView(Open311View):
    in_jurisdiction = False  # the discovery document is where a client learns of the endpoint

    def get(self, request: HttpRequest) -> HttpResponse:
        base = request.build_absolute_uri(request.path.rsplit("/", 1)[0] + "/")
        return render.document(self.fmt, "discovery", selectors.discovery(base))


class ServicesView(Open311View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render.document(self.fmt, "services", selectors.service_list())


class ServiceDefinitionView(Open311View):
    def get(self, request: HttpRequest, service_code: str) -> HttpResponse:
        definition = selectors.service_definition(service_code)
        return render.document(self.fmt, "service_definition", definition)


class RequestsView(Open311View):
    def get(self, request: HttpRequest) -> HttpResponse:
        filters = selectors.RequestFilters(
            **{k: request.GET.get(k) for k in selectors.RequestFilters.__dataclass_fields__}
        )
        return render.document(self.fmt, "service_requests", selectors.request_list(filters))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = request.POST
        attributes: dict[str, list[str]] = {}
        for key in form:
            if key.startswith("attribute[") and key.endswith("]"):
                code = key[len("attribute[") : -1].removesuffix("][")  # attribute[CODE][]
                attributes.setdefault(code, []).extend(form.getlist(key))
        posted = PostedRequest(**{f: form.get(f, "") for f in POST_FIELDS}, attributes=attributes)
        receipt = open311_request_create(posted=posted, client_ip=client_ip(request))
        answer = {
            "service_request_id": receipt.service_request_id,
            "token": receipt.token,
            "service_notice": "",
            "account_id": None,
        }
        return render.document(self.fmt, "service_requests", [answer], status=201)


class RequestView(Open311View):
    def get(self, request: HttpRequest, service_request_id: str) -> HttpResponse:
        rows = selectors.request_detail(service_request_id)
        return render.document(self.fmt, "service_requests", rows)


class TokenView(Open311View):
    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        return render.document(self.fmt, "service_requests", selectors.token_lookup(token))


@csrf_exempt
def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    fmt = "json" if rest.endswith(".json") else "xml"
    return render.errors(fmt, 404, _("no such endpoint: %s") % request.path)
