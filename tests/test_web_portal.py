"""The citizen portal's pages, through Django's test client (the browser journeys are in
tests/browser/test_journeys_portal.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from petitiondesk.cases import services
from petitiondesk.cases.models import Case
from petitiondesk.cases.selectors import appeal_target, petitioner_options
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from petitiondesk.reference.services import divisions_load
from tests.test_access_matrix import PNG

pytestmark = pytest.mark.django_db

DIVISIONS = [
    {"code": "990000", "name": "示范省", "level": "province", "parent": None},
    {"code": "990100", "name": "示范市", "level": "city", "parent": "990000"},
    {"code": "990101", "name": "示范县", "level": "county", "parent": "990100"},
]
AFTER_THE_WINDOWS = dt.datetime(2027, 1, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def divisions(org_tree: None) -> None:
    divisions_load(records=DIVISIONS)


@pytest.fixture(autouse=True)
def _uploads(settings: Any, tmp_path: Any) -> None:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"


def claim_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "孩子入学学位分配问题",
        "content": "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。",
        "category": "claim",
        "topic": "",
        "province": "990000",
        "city": "990100",
        "county": "990101",
        "name": "王小明",
        "phone": "13800000000",
        "id_number": "",
        "address": "",
        "email": "",
        "people_count": "1",
        "representatives": "0",
        "other_people": "",
    }
    data.update(overrides)
    return data


def submit(client: Client, **overrides: Any) -> Any:
    """POST the submit form (in English)."""
    return client.post("/submit/", claim_form(**overrides), HTTP_ACCEPT_LANGUAGE="en")


def public_claim(**overrides: Any) -> tuple[Case, str]:
    body: dict[str, Any] = {
        "title": "学位分配问题",
        "content": "户籍在本学区却被分配到十公里外的学校。",
        "category": "claim",
        "division_code": "990101",
        "petitioners": [PetitionerData(name="王小明", phone="13800000000")],
        **overrides,
    }
    receipt = petition_submit(submission=Submission(**body), actor=None)
    assert receipt.access_key
    return receipt.case, receipt.access_key


def replied_claim(alice: Any, bob: Any) -> tuple[Case, str]:
    """A public claim, routed to K-EDU, accepted and replied to today (2026-11-27)."""
    case, key = public_claim()
    services.case_route(case_id=case.pk, actor=alice, to_org="K-EDU")
    services.case_accept(case_id=case.pk, actor=bob, claim_route=6)
    services.case_reply(
        case_id=case.pk, actor=bob, outcome="explain", opinion="经核查，学位分配符合政策。"
    )
    case.refresh_from_db()
    return case, key


def tracking(client: Client, case: Case, key: str) -> Any:
    return client.post("/track/", {"tracking_number": case.tracking_number, "access_key": key})


# --- home ---------------------------------------------------------------------------------------


def test_the_home_page_states_the_clocks_and_the_limits(client: Client, org_tree: None) -> None:
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "15 days" in page  # routing and notice
    assert "60 days" in page  # handling
    assert "30 days" in page  # review, re-review, rating
    assert "PDF, JPEG, PNG, DOCX" in page
    assert "/submit/" in page and "/track/" in page


# --- submitting ---------------------------------------------------------------------------------


def test_the_submit_form_shows_the_limits_up_front(client: Client, divisions: None) -> None:
    page = client.get("/submit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Up to 10 files" in page
    assert "10 MiB" in page
    assert "at most 5" in page  # representatives (Art. 20)
    assert 'hx-get="/divisions/"' in page


def test_a_submission_without_a_title_is_refused_inline_and_keeps_the_input(
    client: Client, divisions: None
) -> None:
    r = submit(client, title="")

    assert r.status_code == 200
    page = r.content.decode()
    assert 'aria-invalid="true"' in page
    assert "户籍在本学区却被分配到十公里外的学校" in page  # the content is kept
    assert 'value="王小明"' in page
    assert Case.objects.count() == 0


def test_a_submission_shows_the_receipt_once(client: Client, divisions: None) -> None:
    r = submit(client)

    assert r.status_code == 302 and r["Location"] == "/receipt/"
    case = Case.objects.get()
    shown = client.get("/receipt/")
    first = shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    assert case.tracking_number in first
    assert 'id="access-key"' in first
    again = client.get("/receipt/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case.tracking_number not in again
    assert 'id="access-key"' not in again
    assert case.division_code == "990101"
    assert case.org.code == "K-XF"  # the county petition bureau
    assert case.channel == "web" and case.registered_by is None


def test_the_anonymity_and_confidentiality_choices_are_stored(
    client: Client, divisions: None
) -> None:
    submit(client, confidential="on")
    submit(client, anonymous="on", content="另一件事：匿名反映。")

    confidential, anonymous = Case.objects.order_by("id")
    assert confidential.confidential and not confidential.anonymous
    assert anonymous.anonymous and not anonymous.petitioners.exists()
    assert anonymous.access_key_hash == ""


def test_an_anonymous_receipt_says_it_cannot_be_tracked(client: Client, divisions: None) -> None:
    submit(client, anonymous="on")

    page = client.get("/receipt/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "no access key" in page
    assert 'id="access-key"' not in page


def test_a_group_with_too_many_representatives_gets_the_limit_inline(
    client: Client, divisions: None
) -> None:
    r = submit(client, people_count="20", representatives="6")

    page = r.content.decode()
    assert r.status_code == 422
    assert "at most 5 representatives" in page
    assert Case.objects.count() == 0


def test_a_group_lists_its_representatives(client: Client, divisions: None) -> None:
    submit(client, people_count="12", representatives="2", other_people="李四, 13900000000")

    case = Case.objects.get()
    assert (case.people_count, case.representatives) == (12, 2)
    assert sorted(case.petitioners.values_list("name", "phone")) == [
        ("李四", "13900000000"),
        ("王小明", "13800000000"),
    ]


def test_a_submission_with_an_attachment_stores_it_with_the_case(
    client: Client, divisions: None
) -> None:
    scan = SimpleUploadedFile("scan.png", PNG, content_type="image/png")

    r = submit(client, attachments=[scan])

    assert r.status_code == 302
    attachment = Case.objects.get().attachments.get()
    assert attachment.filename == "scan.png" and attachment.by_petitioner


def test_a_bad_attachment_creates_no_case_and_says_so(client: Client, divisions: None) -> None:
    good = SimpleUploadedFile("scan.png", PNG, content_type="image/png")
    page_as_pdf = SimpleUploadedFile("letter.pdf", b"<html><script>x</script>", "application/pdf")

    r = submit(client, attachments=[good, page_as_pdf])

    page = r.content.decode()
    assert r.status_code == 400
    assert "a web page or markup" in page
    assert "choose your files again" in page
    assert Case.objects.count() == 0


def test_too_many_attachments_create_no_case(
    client: Client, divisions: None, settings: Any
) -> None:
    settings.PETITIONDESK_UPLOAD_MAX_FILES = 1
    files = [SimpleUploadedFile(f"s{i}.png", PNG, content_type="image/png") for i in range(2)]

    r = submit(client, attachments=files)

    assert r.status_code == 422
    assert Case.objects.count() == 0


def test_the_form_stays_usable_without_the_later_division_levels(
    client: Client, org_tree: None
) -> None:
    divisions_load(records=DIVISIONS[:1])

    r = submit(client, city="", county="")

    assert r.status_code == 302
    assert Case.objects.get().division_code == "990000"


def test_the_division_picker_answers_the_cities_of_a_province(
    client: Client, divisions: None
) -> None:
    cities = client.get("/divisions/", {"province": "990000"}).content.decode()
    counties = client.get("/divisions/", {"city": "990100"}).content.decode()

    assert 'value="990100"' in cities and 'hx-swap-oob="innerHTML"' in cities
    assert 'value="990101"' in counties and "hx-swap-oob" not in counties


# --- tracking -----------------------------------------------------------------------------------


def test_tracking_with_number_and_key_shows_the_case(client: Client, org_tree: None) -> None:
    case, key = public_claim()

    r = tracking(client, case, key)

    assert r.status_code == 302 and r["Location"] == "/track/case/"
    page = client.get("/track/case/").content.decode()
    assert case.tracking_number in page and case.title in page


def test_tracking_is_never_done_from_the_query_string(client: Client, org_tree: None) -> None:
    case, key = public_claim()

    r = client.get("/track/", {"tracking_number": case.tracking_number, "access_key": key})

    assert r.status_code == 200
    assert case.title not in r.content.decode()
    assert client.get("/track/case/")["Location"] == "/track/"


def test_a_wrong_key_is_told_without_saying_which_part_is_wrong(
    client: Client, org_tree: None
) -> None:
    case, _key = public_claim()

    r = client.post(
        "/track/",
        {"tracking_number": case.tracking_number, "access_key": "WRONGKEY"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert r.status_code == 200
    assert "No petition matches this tracking number and access key" in r.content.decode()


def test_too_many_guesses_get_a_clear_message(
    client: Client, org_tree: None, settings: Any
) -> None:
    settings.PETITIONDESK_TRACK_MAX_FAILURES = 2
    case, key = public_claim()
    for _ in range(2):
        client.post("/track/", {"tracking_number": case.tracking_number, "access_key": "X"})

    r = client.post(
        "/track/",
        {"tracking_number": case.tracking_number, "access_key": key},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert r.status_code == 429
    assert "Too many attempts from here" in r.content.decode()
    assert client.get("/track/case/")["Location"] == "/track/"


def test_leaving_forgets_the_case_in_this_browser(client: Client, org_tree: None) -> None:
    case, key = public_claim()
    tracking(client, case, key)

    client.post("/track/leave/")

    assert client.get("/track/case/")["Location"] == "/track/"


def test_the_petitioner_adds_material_with_a_file(client: Client, org_tree: None) -> None:
    case, key = public_claim()
    tracking(client, case, key)
    scan = SimpleUploadedFile("proof.png", PNG, content_type="image/png")

    r = client.post("/track/case/material/", {"text": "补充户籍证明", "attachments": [scan]})

    assert r.status_code == 302
    assert case.events.filter(verb="add_material", by_petitioner=True).count() == 2
    assert case.attachments.get().filename == "proof.png"


def test_empty_material_is_refused_inline(client: Client, org_tree: None) -> None:
    case, key = public_claim()
    tracking(client, case, key)

    r = client.post("/track/case/material/", {"text": "  "}, HTTP_ACCEPT_LANGUAGE="en")

    assert r.status_code == 400
    assert "write something or choose a file" in r.content.decode()
    assert not case.events.filter(verb="add_material").exists()


def test_the_replied_case_shows_the_reply_and_the_open_windows(
    client: Client, clerk_alice: Any, handler_bob: Any
) -> None:
    case, key = replied_claim(clerk_alice, handler_bob)
    tracking(client, case, key)

    page = client.get("/track/case/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "经核查，学位分配符合政策。" in page
    assert "Dec. 28, 2026" in page  # 30 days from 11-27 is a Sunday: rolled to Monday
    assert 'action="/track/case/rate/"' in page
    assert 'action="/track/case/appeal/"' in page
    assert "示范县人民政府" in page  # the review goes to the county government


def test_the_petitioner_rates_and_requests_a_review_to_the_organ_above(
    client: Client, clerk_alice: Any, handler_bob: Any
) -> None:
    case, key = replied_claim(clerk_alice, handler_bob)
    tracking(client, case, key)

    assert client.post("/track/case/rate/", {"rating": "dissatisfied"}).status_code == 302
    assert client.post("/track/case/appeal/", {"verb": "request_review"}).status_code == 302

    case.refresh_from_db()
    assert case.rating == "dissatisfied"
    assert (case.status, case.org.code) == ("under_review", "K")


def test_after_the_window_the_controls_are_gone_and_a_direct_post_is_refused(
    client: Client, clerk_alice: Any, handler_bob: Any
) -> None:
    case, key = replied_claim(clerk_alice, handler_bob)

    with time_machine.travel(AFTER_THE_WINDOWS, tick=False):
        tracking(client, case, key)  # back weeks later: the session has long ended
        page = client.get("/track/case/").content.decode()
        r = client.post(
            "/track/case/appeal/", {"verb": "request_review"}, HTTP_ACCEPT_LANGUAGE="en"
        )
        rated = client.post("/track/case/rate/", {"rating": "satisfied"})

    assert 'action="/track/case/appeal/"' not in page
    assert 'action="/track/case/rate/"' not in page
    assert r.status_code == 422
    assert "the request window ended on 2026-12-28" in r.content.decode()
    assert rated.status_code == 422
    case.refresh_from_db()
    assert case.status == "replied" and case.rating == ""


def test_the_petitioners_options_follow_the_windows(clerk_alice: Any, handler_bob: Any) -> None:
    case, _key = replied_claim(clerk_alice, handler_bob)

    now = petitioner_options(case)
    with time_machine.travel(AFTER_THE_WINDOWS, tick=False):
        later = petitioner_options(case)

    assert now.appeal_verb == "request_review"
    assert now.appeal_until == now.rate_until == dt.date(2026, 12, 28)
    assert now.appeal_to is not None and now.appeal_to.code == "K"
    assert (later.appeal_verb, later.rate_until) == (None, None)


def test_the_appeal_target_is_the_organ_above_the_decider(
    clerk_alice: Any, handler_bob: Any
) -> None:
    case, _key = replied_claim(clerk_alice, handler_bob)
    unreplied, _ = public_claim(content="另一件事")

    target = appeal_target(case)

    assert target is not None and target.code == "K"
    assert appeal_target(unreplied) is None


def test_a_review_request_without_an_organ_goes_to_the_appeal_target(
    clerk_alice: Any, handler_bob: Any
) -> None:
    case, _key = replied_claim(clerk_alice, handler_bob)

    services.case_request_review(case_id=case.pk, actor=None, by_petitioner=True)

    case.refresh_from_db()
    assert case.org.code == "K"


# --- language -----------------------------------------------------------------------------------


def test_chinese_is_the_default_and_english_is_remembered(client: Client, org_tree: None) -> None:
    assert 'lang="zh-hans"' in client.get("/").content.decode()

    r = client.post("/i18n/setlang/", {"language": "en", "next": "/track/"})

    assert r.status_code == 302 and r["Location"] == "/track/"
    assert client.cookies["django_language"].value == "en"
    assert 'lang="en"' in client.get("/submit/").content.decode()


def test_staff_see_no_case_page_without_the_key(client: Client, clerk_alice: Any) -> None:
    """A staff login is no key: the portal's case pages belong to the session that gave it."""
    public_claim()
    client.force_login(clerk_alice)

    assert client.get("/track/case/")["Location"] == "/track/"
    assert client.post("/track/case/rate/", {"rating": "satisfied"})["Location"] == "/track/"


def test_the_procedure_of_an_accepted_claim_is_shown_in_the_pages_language() -> None:
    from django.utils import translation

    from petitiondesk.cases.services import CLAIM_ROUTES
    from petitiondesk.web.portal.present import _detail

    with translation.override("zh-hans"):
        text = _detail("accept", {"procedure": CLAIM_ROUTES[6]}, {})
    assert "信访程序" in text and "petition handling" not in text
