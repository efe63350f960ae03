"""The 500 real San Francisco Open311 requests go in through the bulk import and come back out of
`/open311/v2/requests.json` with their service, status and dates intact (issue 5 acceptance)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from petitiondesk.cases.models import ExternalRef
from petitiondesk.intake.imports import import_file
from petitiondesk.intake.mapping import load_mapping

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
SF = ROOT.parent / "shared" / "data" / "open311-sf-2011" / "requests-fixture.json"
LA = ZoneInfo("America/Los_Angeles")


def _instant(value: str | None) -> dt.datetime | None:
    """The fixture writes SF's naive local times."""
    return dt.datetime.fromisoformat(value).replace(tzinfo=LA) if value else None


def test_the_sf_requests_come_back_out_of_requests_json_intact(clerk_alice, client):
    if not SF.exists():
        pytest.skip(f"the shared data set is not at {SF}")
    source = [
        r["fields"]
        for r in json.loads(SF.read_text(encoding="utf-8"))
        if r["model"] == "dashboard.request"
    ]
    assert len(source) == 500
    summary = import_file(
        path=SF,
        mapping=load_mapping(ROOT / "docs" / "mappings" / "open311-sf.yaml"),
        actor=clerk_alice,
    )
    assert (summary.created, len(summary.refused)) == (500, 0)

    r = client.get(
        "/open311/v2/requests.json",
        {"start_date": "2011-06-01T00:00:00Z", "end_date": "2011-08-01T00:00:00Z"},
    )
    assert r.status_code == 200, r.content
    out = {row["service_request_id"]: row for row in r.json()}
    assert len(out) == 500

    tracking = dict(
        ExternalRef.objects.filter(source="open311-sf").values_list(
            "external_id", "case__tracking_number"
        )
    )
    checked = {"requested": 0, "updated": 0, "expected": 0}
    for req in source:
        row = out[tracking[req["service_request_id"]]]
        assert row["service_code"] == req["service_code"]
        assert row["service_name"] == req["service_name"]
        assert row["status"] == req["status"].lower()
        assert dt.datetime.fromisoformat(row["requested_datetime"]) == _instant(
            req["requested_datetime"]
        )
        checked["requested"] += 1
        for field, key in (("updated_datetime", "updated"), ("expected_datetime", "expected")):
            if req[field]:
                assert dt.datetime.fromisoformat(row[field]) == _instant(req[field]), (
                    req["service_request_id"],
                    field,
                )
                checked[key] += 1
        assert (float(row["lat"]), float(row["long"])) == (req["lat"], req["long"])
    # Every date the source gave was compared (the fixture leaves some updated/expected empty).
    assert checked == {"requested": 500, "updated": 371, "expected": 322}
