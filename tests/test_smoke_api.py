from tests.conftest import letter


def test_a_registered_letter_gets_a_routing_clock(api_as, clerk_alice):
    r = api_as(clerk_alice).post("/petitions", letter())
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "registered"
    assert body["deadlines"][0]["rule"] == "routing"
    assert body["deadlines"][0]["due_on"] == "2026-10-13"
