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


def test_reading_a_case_costs_the_same_queries_however_long_its_timeline(
    api_as, clerk_alice, handler_bob
):
    from tests.conftest import letter

    clerk, bob = api_as(clerk_alice), api_as(handler_bob)
    short = clerk.post("/petitions", letter(title="一")).json()["id"]
    # Another petitioner (the same one would bring the same matter, pending at K-XF: refused).
    other = [{"name": "李四", "phone": "13911112222"}]
    long = clerk.post("/petitions", letter(title="二", petitioners=other)).json()["id"]
    assert clerk.act(long, "route", to_org="K-EDU").status_code == 200
    assert bob.act(long, "accept", claim_route=6).status_code == 200
    assert clerk.act(long, "link", other_id=short, relation="related").status_code == 200

    def queries_for(case_id: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert clerk.get(f"/petitions/{case_id}").status_code == 200
        return len(ctx.captured_queries)

    assert queries_for(long) == queries_for(short)
    assert queries_for(long) <= 12


def test_chinese_text_is_sent_as_characters(api_as, clerk_alice):
    from tests.conftest import letter

    r = api_as(clerk_alice).post("/petitions", letter(title="学位分配"))
    case_id = r.json()["id"]
    body = api_as(clerk_alice).get(f"/petitions/{case_id}").content.decode()
    assert "学位分配" in body
