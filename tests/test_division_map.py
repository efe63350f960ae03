"""The dashboard's map of divisions, drawn only where the deployment holds boundary data offline
(petitiondesk/analytics/boundaries.py; tests/fixtures/divisions-test.geojson is made-up squares)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from petitiondesk.analytics import boundaries
from petitiondesk.analytics.rollup import counts_rollup
from tests.conftest import login_verified
from tests.test_kpis import build

FIXTURE = Path(__file__).parent / "fixtures" / "divisions-test.geojson"
PAGE = "/desk/analytics/?date_from=2026-11-01&date_to=2026-11-27"


def dashboard_data(html: str) -> dict:
    start = html.index('id="dashboard-data"')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return json.loads(body)


def test_features_are_named_by_their_division_code_and_codeless_ones_left_out():
    geo = boundaries.parse_boundaries(json.loads(FIXTURE.read_text()))
    assert [f["properties"] for f in geo["features"]] == [
        {"name": "990101"},  # properties.adcode, a number in DataV files
        {"name": "990102"},
        {"name": "990100"},
    ]
    with pytest.raises(boundaries.BoundaryError):
        boundaries.parse_boundaries({"type": "Feature"})
    with pytest.raises(boundaries.BoundaryError):
        boundaries.parse_boundaries({"type": "FeatureCollection", "features": []})


@pytest.mark.django_db
def test_without_boundaries_there_is_no_map_and_no_boundary_url(client, supervisor_carol):
    login_verified(client, supervisor_carol)
    html = client.get(PAGE).content.decode()
    assert 'id="chart-division_map"' not in html
    assert dashboard_data(html)["boundaries"] is None
    assert client.get("/desk/analytics/boundaries.json").status_code == 404


@pytest.mark.django_db
def test_with_boundaries_the_dashboard_maps_every_division_counted(
    client, settings, clerk_alice, handler_bob, supervisor_carol
):
    settings.PETITIONDESK_DIVISION_BOUNDARIES = str(FIXTURE)
    build(clerk_alice, handler_bob)
    counts_rollup(lag_seconds=0)
    login_verified(client, supervisor_carol)
    html = client.get(PAGE).content.decode()
    assert 'id="chart-division_map"' in html
    data = dashboard_data(html)
    assert data["boundaries"] == "/desk/analytics/boundaries.json"
    rows = {code: n for code, _name, n in data["tables"]["division_map"]["rows"]}
    # test_kpis counts by hand 4 cases of 990101 registered in November (its response rate's
    # denominator for that division) and none of another division.
    assert rows == {"990101": 4}
    geo = client.get("/desk/analytics/boundaries.json").json()
    assert {f["properties"]["name"] for f in geo["features"]} == {"990100", "990101", "990102"}


@pytest.mark.django_db
def test_a_broken_boundary_file_leaves_the_map_out_not_the_dashboard(
    client, settings, tmp_path, supervisor_carol, caplog
):
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    settings.PETITIONDESK_DIVISION_BOUNDARIES = str(broken)
    login_verified(client, supervisor_carol)
    r = client.get(PAGE)
    assert r.status_code == 200
    assert 'id="chart-division_map"' not in r.content.decode()
    assert "not used" in caplog.text
