"""A third-party GeoReport v2 client (`georeport` from PyPI) reads a live server."""

from __future__ import annotations

from typing import Any

import pytest
from georeport import GeoReport

from petitiondesk.accounts.models import User
from petitiondesk.intake.services import Submission, petition_submit
from petitiondesk.reference.models import Topic


@pytest.fixture
def served(live_server: Any, clerk_alice: User) -> dict[str, Any]:
    # Two services at least: a flush by an earlier transactional test removes the seeded topics,
    # and xmltodict (inside the client) turns a single <service> into a dict, not a list.
    Topic.objects.get_or_create(code="road", defaults={"name": "道路坑洼", "name_en": "Pothole"})
    Topic.objects.get_or_create(
        code="light", defaults={"name": "路灯损坏", "name_en": "Streetlight"}
    )
    cases = [
        petition_submit(
            submission=Submission(
                title=f"路面坑洼{i}",
                content=f"人民路第{i}个坑",
                topic="road",
                channel="letter",
                anonymous=True,
                location=f"人民路{i}号",
                lat=31.2 + i / 100,
                lng=121.4,
            ),
            actor=clerk_alice,
        ).case
        for i in range(3)
    ]
    return {"url": f"{live_server.url}/open311/v2", "cases": cases}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_the_georeport_client_reads_services_requests_and_one_request(
    served: dict[str, Any], fmt: str
) -> None:
    client = GeoReport(served["url"], output_format=fmt)
    services = {s["service_code"]: s for s in client.get_service_list()}
    assert services["road"]["service_name"] == "道路坑洼"
    definition = client.get_service_definition("road")
    assert definition["service_code"] == "road"

    numbers = {c.tracking_number for c in served["cases"]}
    rows = client.get_service_requests()
    assert {r["service_request_id"] for r in rows} == numbers
    assert {r["status"] for r in rows} == {"open"}
    only = client.get_service_requests(service_request_id=served["cases"][0].tracking_number)
    if fmt == "xml":  # xmltodict gives one element as a dict, not a list
        only = [only]
    assert [r["service_request_id"] for r in only] == [served["cases"][0].tracking_number]

    one = client.get_service_request(served["cases"][1].tracking_number)
    assert one["service_request_id"] == served["cases"][1].tracking_number
    assert one["address"] == "人民路1号"
    assert float(one["lat"]) == pytest.approx(31.21)
    assert one["service_code"] == "road"
    assert one["requested_datetime"] == "2026-11-27T10:00:00+08:00"
