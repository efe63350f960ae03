from tests.conftest import letter


def test_a_registered_letter_gets_a_routing_clock(api_as, clerk_alice):
    r = api_as(clerk_alice).post("/petitions", letter())
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "registered"
    assert body["deadlines"][0]["rule"] == "routing"
    assert body["deadlines"][0]["due_on"] == "2026-10-13"


def test_api_docs_are_served_without_a_cdn(client):
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert "cdn" not in html.lower()
    assert "swagger-ui-bundle.js" in html


def test_openapi_lists_every_action_verb(client):
    from petitiondesk.cases.transitions import VERBS

    paths = client.get("/api/openapi.json").json()["paths"]
    for verb in VERBS:
        assert f"/api/v1/petitions/{{case_id}}/actions/{verb}" in paths
