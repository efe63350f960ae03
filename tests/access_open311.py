"""Access-matrix entries of the Open311 GeoReport v2 server (merged by tests/test_access_matrix.py).

Reads are public and the same for everyone: sessions and bearer tokens count for nothing. A POST
authenticates by its `api_key` form field (the persona's API token; the public sends none): the
roles that register petitions (clerks, handlers, heads) may post, others get 403.
tests/test_open311.py checks what each endpoint answers.
"""

from typing import Any

from petitiondesk.cases.models import ExternalRef
from petitiondesk.reference.models import Topic
from tests.test_access_matrix import Probe, World, everyone

OPEN311 = "/open311/v2"
XML = {"fmt": "xml"}


def _claim(w: World) -> dict[str, Any]:
    return {**XML, "service_request_id": w.claim_tn}


def _token(w: World) -> dict[str, Any]:
    ExternalRef.objects.create(case_id=w.claim, source="open311-token", external_id="tok-claim")
    return {**XML, "token": "tok-claim"}


def _service(w: World) -> dict[str, Any]:
    Topic.objects.get_or_create(code="road", defaults={"name": "道路"})
    return {**XML, "service_code": "road"}


# The staff roles that register petitions (as the intake service allows).
POSTERS = ("clerk", "handler", "housing_handler", "head", "county_handler", "city_handler")

MATRIX_ENTRIES = {
    ("GET", f"{OPEN311}/discovery.{{fmt}}"): everyone("ok"),
    ("GET", f"{OPEN311}/services.{{fmt}}"): everyone("ok"),
    ("GET", f"{OPEN311}/services/{{service_code}}.{{fmt}}"): everyone("ok"),
    ("GET", f"{OPEN311}/requests.{{fmt}}"): everyone("ok"),
    ("POST", f"{OPEN311}/requests.{{fmt}}"): {**everyone("403"), **dict.fromkeys(POSTERS, "ok")},
    ("GET", f"{OPEN311}/requests/{{service_request_id}}.{{fmt}}"): everyone("ok"),
    ("GET", f"{OPEN311}/tokens/{{token}}.{{fmt}}"): everyone("ok"),
    ("*", f"{OPEN311}/{{rest}}"): everyone("404"),
}

PROBE_ENTRIES = {
    ("GET", f"{OPEN311}/discovery.{{fmt}}"): Probe(setup=lambda w: XML),
    ("GET", f"{OPEN311}/services.{{fmt}}"): Probe(setup=lambda w: {"fmt": "json"}),
    ("GET", f"{OPEN311}/services/{{service_code}}.{{fmt}}"): Probe(setup=_service),
    ("GET", f"{OPEN311}/requests.{{fmt}}"): Probe(setup=lambda w: {"fmt": "json"}),
    ("POST", f"{OPEN311}/requests.{{fmt}}"): Probe(
        setup=_service,
        body=lambda ctx: {
            "service_code": "road",
            "lat": "31.2",
            "long": "121.4",
            "description": "路面塌陷",
        },
    ),
    ("GET", f"{OPEN311}/requests/{{service_request_id}}.{{fmt}}"): Probe(setup=_claim),
    ("GET", f"{OPEN311}/tokens/{{token}}.{{fmt}}"): Probe(setup=_token),
    ("*", f"{OPEN311}/{{rest}}"): Probe(
        setup=lambda w: {"rest": "requests"}, methods=("GET", "POST")
    ),
}
