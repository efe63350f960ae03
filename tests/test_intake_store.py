"""The one-statement intake write (PostgreSQL) stores exactly what the ORM path stores."""

from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from petitiondesk.cases.models import Case, CaseEvent, CaseLink, Deadline, Petitioner
from petitiondesk.intake import store
from tests.conftest import letter

pytestmark = pytest.mark.django_db

IGNORED = {"id", "case", "tracking_number", "access_key_hash", "created_at", "updated_at"}


def snapshot(case_id: int) -> dict[str, Any]:
    def rows(model: Any) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in model_to_dict(r).items() if k not in IGNORED}
            for r in model.objects.filter(case_id=case_id).order_by("id")
        ]

    case = Case.objects.get(pk=case_id)
    events = rows(CaseEvent)
    for e in events:
        e["payload"].pop("registered_at")
    return {
        "case": {k: v for k, v in model_to_dict(case).items() if k not in IGNORED},
        "petitioners": rows(Petitioner),
        "deadlines": rows(Deadline),
        "events": events,
        "links": sorted(
            (link.relation, Case.objects.get(pk=link.other_id).title, link.score, link.basis)
            for link in CaseLink.objects.filter(case_id=case_id)
        ),
    }


def submit_twice(api_as, clerk, body: dict[str, Any], monkeypatch) -> tuple[dict, dict]:
    api = api_as(clerk)
    first = api.post("/petitions", body)
    assert first.status_code == 201, first.content
    # The same submission again, through the ORM writer this time.
    monkeypatch.setattr(connection, "vendor", "orm-path-forced", raising=False)
    second = api.post("/petitions", body)
    monkeypatch.undo()
    assert second.status_code == 201, second.content
    return snapshot(first.json()["id"]), snapshot(second.json()["id"])


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the one-statement path runs on PostgreSQL only: set PETITIONDESK_TEST_DATABASE_URL",
)
@pytest.mark.postgres
def test_both_writers_store_identical_rows(api_as, clerk_alice, monkeypatch):
    body = letter(
        urgent=True,
        confidential=True,
        petitioners=[
            {"name": "王小明", "phone": "13800000000", "id_number": "990101198001010011"},
            {"name": "李红", "address": "示范县幸福路1号", "email": "li@example.org"},
        ],
        people_count=7,
        representatives=2,
    )
    via_statement, via_orm = submit_twice(api_as, clerk_alice, body, monkeypatch)
    anonymous = submit_twice(api_as, clerk_alice, letter(anonymous=True, title="匿名"), monkeypatch)
    assert anonymous[0]["petitioners"] == anonymous[1]["petitioners"] == []
    assert anonymous[0]["case"] == anonymous[1]["case"]
    assert via_statement["deadlines"] and via_statement["petitioners"]
    # The second submission repeats the first: it alone carries a duplicate link, and the same
    # petitioner's same matter.
    title = body["title"]
    assert via_orm.pop("links") == [
        ("duplicate", title, 1.0, ["same_text"]),
        ("same_matter", title, 1.0, ["same_text", "same_petitioner", "same_org"]),
    ]
    assert via_statement.pop("links") == []
    assert via_statement == via_orm
    # A third one, through the statement: its links to identical texts carry the same grounds.
    third = api_as(clerk_alice).post("/petitions", body).json()["id"]
    exact = snapshot(third)["links"]
    assert [link for link in exact if link[0] == "duplicate" and link[1] == title] == [
        ("duplicate", title, 1.0, ["same_text"])
    ] * 2


def test_an_exact_repeat_is_linked_to_the_earlier_cases(api_as, clerk_alice):
    api = api_as(clerk_alice)
    first = api.post("/petitions", letter()).json()
    # Spacing and full-width forms do not make a different text.
    second = api.post("/petitions", letter(content=letter()["content"].replace("，", ", ") + "  "))
    assert second.status_code == 201
    assert second.json()["duplicates"] == [
        {
            "id": first["id"],
            "score": 1.0,
            "relation": "same_matter",  # the same petitioner, too
            "basis": ["same_text", "same_petitioner", "same_org"],
        }
    ]
    assert CaseLink.objects.filter(
        case_id=second.json()["id"], other_id=first["id"], relation="duplicate"
    ).exists()


def test_the_statement_is_built_once_per_shape():
    store._statement.cache_clear()
    store._statement(True, False)
    store._statement(True, False)
    store._statement(False, False)
    store._statement(True, True)
    store._statement(True, True)
    assert store._statement.cache_info().misses == 3
