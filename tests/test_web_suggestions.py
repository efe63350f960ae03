"""The people's suggestions pages, public and staff, through Django's test client (the browser
journey is tests/browser/test_journey_suggestions.py). The rules themselves are tested in
tests/test_suggestions*.py; here: what each page shows and sends to the services."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import user_add
from petitiondesk.core.errors import RateLimited
from petitiondesk.suggestions import services
from petitiondesk.suggestions.models import Solicitation, Suggestion
from petitiondesk.suggestions.services import SuggestionSubmission
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 27)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _outbox(settings: Any, tmp_path: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PETITIONDESK_SMS_FILE = tmp_path / "sms.jsonl"
    settings.PETITIONDESK_SMS_BACKEND = "petitiondesk.notices.sms.FileBackend"


def publish(actor: User, **overrides: Any) -> Solicitation:
    fields: dict[str, Any] = {
        "title": "老旧小区加装电梯",
        "description": "本市正在制定老旧小区加装电梯的办法。",
        "question": "加装电梯的费用应当如何分担？",
        "opens_on": TODAY - dt.timedelta(days=7),
        "closes_on": TODAY + dt.timedelta(days=30),
        "support_threshold": 2,
        **overrides,
    }
    return services.solicitation_publish(actor=actor, **fields)


def suggestion_form(**overrides: Any) -> dict[str, str]:
    return {
        "title": "按楼层分担电梯费用",
        "reasons": "高层住户受益多，低层住户受益少。",
        "proposal": "按楼层设定分担系数，一楼免缴。",
        "proposer_name": "李建国",
        "proposer_phone": "13900001111",
        "proposer_email": "li@example.cn",
        "proposer_address": "",
        "public_consent": "on",
        **overrides,
    }


def submitted(solicitation: Solicitation | None = None, **overrides: Any) -> Suggestion:
    data = {
        "title": "按楼层分担电梯费用",
        "reasons": "高层住户受益多，低层住户受益少。",
        "proposal": "按楼层设定分担系数，一楼免缴。",
        "proposer_name": "李建国",
        "proposer_phone": "13900001111",
        "public_consent": True,
        "solicitation_id": solicitation.pk if solicitation else None,
        **overrides,
    }
    return services.suggestion_submit(data=SuggestionSubmission(**data), actor=None).suggestion


def staff_client(user: User) -> Client:
    client = Client()
    login_verified(client, user)
    return client


def last_code() -> str:
    match = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def support(client: Client, suggestion: Suggestion, contact: str, capture: Any) -> Any:
    """Ask for a code (the mail is sent after commit) and confirm it; a refused request is
    returned as it is."""
    url = f"/suggestions/{suggestion.pk}/support/"
    with capture(execute=True):
        asked = client.post(url, {"step": "request", "contact": contact}, **EN)
    if asked.status_code != 200:
        return asked
    return client.post(
        f"/suggestions/{suggestion.pk}/support/",
        {"step": "confirm", "code": last_code()},
        **EN,
    )


# --- public pages -------------------------------------------------------------------------------


def test_the_public_page_lists_open_solicitations_only(clerk_alice: User) -> None:
    publish(clerk_alice)
    closed = publish(clerk_alice, title="已结束的征集")
    services.solicitation_close(actor=clerk_alice, solicitation_id=closed.pk)
    publish(clerk_alice, title="下月开始的征集", opens_on=TODAY + dt.timedelta(days=5))
    body = Client().get("/suggestions/").content.decode()
    assert "老旧小区加装电梯" in body
    assert "已结束的征集" not in body and "下月开始的征集" not in body


def test_answering_a_solicitation_shows_the_receipt_once(clerk_alice: User) -> None:
    solicitation = publish(clerk_alice)
    client = Client()
    response = client.post(f"/suggestions/solicitations/{solicitation.pk}/", suggestion_form())
    assert response.status_code == 302 and response["Location"] == "/suggestions/receipt/"
    suggestion = Suggestion.objects.get()
    assert suggestion.solicitation == solicitation and suggestion.public_consent
    receipt = client.get("/suggestions/receipt/", **EN).content.decode()
    assert suggestion.tracking_number in receipt and 'id="access-key"' in receipt
    again = client.get("/suggestions/receipt/", **EN).content.decode()
    assert "already shown" in again and suggestion.tracking_number not in again


def test_a_closed_solicitation_refuses_answers_on_the_form(clerk_alice: User) -> None:
    solicitation = publish(clerk_alice)
    services.solicitation_close(actor=clerk_alice, solicitation_id=solicitation.pk)
    response = Client().post(
        f"/suggestions/solicitations/{solicitation.pk}/", suggestion_form(), **EN
    )
    assert response.status_code == 422
    assert 'id="form-errors"' in response.content.decode()
    assert not Suggestion.objects.exists()


def test_a_stand_alone_suggestion_needs_its_texts(org_tree: None) -> None:
    response = Client().post("/suggestions/new/", suggestion_form(proposal=""), **EN)
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not Suggestion.objects.exists()
    response = Client().post("/suggestions/new/", suggestion_form())
    assert response.status_code == 302
    assert Suggestion.objects.get().solicitation is None


def test_a_suggestion_without_consent_cannot_be_supported(clerk_alice: User) -> None:
    suggestion = submitted(publish(clerk_alice), public_consent=False)
    assert Client().get(f"/suggestions/{suggestion.pk}/support/").status_code == 404
    assert suggestion.title not in Client().get("/suggestions/").content.decode()


def test_a_confirmed_code_counts_one_support(
    clerk_alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    suggestion = submitted(publish(clerk_alice))
    client = Client()
    assert suggestion.title in client.get("/suggestions/").content.decode()
    response = support(client, suggestion, "wang@example.cn", django_capture_on_commit_callbacks)
    body = response.content.decode()
    assert response.status_code == 200 and 'id="supported"' in body
    assert "1 supporter" in body


def test_the_same_person_cannot_support_twice(
    clerk_alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    suggestion = submitted(publish(clerk_alice))
    support(Client(), suggestion, "wang@example.cn", django_capture_on_commit_callbacks)
    sent = len(mail.outbox)
    response = support(Client(), suggestion, "Wang@Example.cn", django_capture_on_commit_callbacks)
    body = response.content.decode()
    assert response.status_code == 409 and len(mail.outbox) == sent
    assert "you already support this suggestion" in body and 'id="supported"' not in body
    assert "1 supporter" in body


def test_an_unconfirmed_support_does_not_count(
    clerk_alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    suggestion = submitted(publish(clerk_alice))
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/suggestions/{suggestion.pk}/support/",
            {"step": "request", "contact": "wang@example.cn"},
        )
    wrong = "000000" if last_code() != "000000" else "111111"
    response = client.post(
        f"/suggestions/{suggestion.pk}/support/", {"step": "confirm", "code": wrong}, **EN
    )
    assert response.status_code == 422
    assert "0 supporters" in response.content.decode()
    assert 'name="code"' in response.content.decode()  # the code can be entered again


def test_a_throttled_request_is_explained(
    clerk_alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    suggestion = submitted(publish(clerk_alice))

    def refuse(**kwargs: Any) -> None:
        raise RateLimited("too many requests; try again later", retry_after=600)

    monkeypatch.setattr("petitiondesk.web.suggestions.public.support_request", refuse)
    response = Client().post(
        f"/suggestions/{suggestion.pk}/support/",
        {"step": "request", "contact": "wang@example.cn"},
        **EN,
    )
    assert response.status_code == 429
    assert "Please try again in 10 minutes." in response.content.decode()


# --- staff pages --------------------------------------------------------------------------------


def act(client: Client, suggestion: Suggestion, verb: str, **fields: str) -> Any:
    data = {f"{verb}-{name}": value for name, value in fields.items()}
    return client.post(f"/desk/suggestions/{suggestion.pk}/act/{verb}/", data, **EN)


@pytest.fixture
def xf_handler(clerk_alice: User) -> User:
    """A handler of the county petition bureau (K-XF), where the clerk publishes."""
    return user_add(username="xavier", org_code="K-XF", role="handler")


def test_the_holding_office_adopts_replies_and_converts(
    clerk_alice: User, xf_handler: User
) -> None:
    suggestion = submitted(publish(clerk_alice))
    client = staff_client(xf_handler)
    page = client.get(f"/desk/suggestions/{suggestion.pk}/", **EN).content.decode()
    assert 'id="action-assess"' in page and 'id="action-decide"' not in page
    assert "李建国" in page  # the holding office sees the proposer
    assert act(client, suggestion, "assess", note="有价值").status_code == 302
    assert act(client, suggestion, "decide", decision="adopted", reason="可行").status_code == 302
    response = act(client, suggestion, "reply", reply="您的建议已被采纳。", publish="on")
    assert response.status_code == 302
    response = act(
        client,
        suggestion,
        "convert",
        kind="policy",
        reference="沪府办〔2026〕12号",
        on="2026-11-27",
    )
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.status == "converted" and suggestion.published
    page = client.get(f"/desk/suggestions/{suggestion.pk}/", **EN).content.decode()
    assert "沪府办〔2026〕12号" in page
    public = Client().get("/suggestions/").content.decode()
    assert "您的建议已被采纳。" in public and "李建国" not in public


def test_a_refused_action_is_shown_on_its_form(clerk_alice: User, xf_handler: User) -> None:
    suggestion = submitted(publish(clerk_alice))
    response = act(staff_client(xf_handler), suggestion, "decide", decision="adopted", reason="好")
    assert response.status_code == 409
    assert "cannot decide a suggestion that is received" in response.content.decode()
    suggestion.refresh_from_db()
    assert suggestion.status == "received"


def test_a_role_without_the_verb_is_refused(clerk_alice: User) -> None:
    suggestion = submitted(publish(clerk_alice))
    client = staff_client(clerk_alice)  # clerks assess but do not decide
    act(client, suggestion, "assess", note="有价值")
    response = act(client, suggestion, "decide", decision="adopted", reason="好")
    assert response.status_code == 403
    suggestion.refresh_from_db()
    assert suggestion.status == "assessed"


def test_another_office_does_not_see_the_suggestion(clerk_alice: User, handler_bob: User) -> None:
    suggestion = submitted(publish(clerk_alice))
    outsider = staff_client(handler_bob)  # the education bureau, beside the petition bureau
    assert outsider.get(f"/desk/suggestions/{suggestion.pk}/").status_code == 404
    assert act(outsider, suggestion, "assess", note="x").status_code == 404
    assert suggestion.tracking_number not in outsider.get("/desk/suggestions/").content.decode()


def test_reclassifying_leads_to_the_new_petition(clerk_alice: User) -> None:
    suggestion = submitted(publish(clerk_alice), title="我家的拆迁补偿问题")
    holder = User.objects.filter(org=suggestion.org, role__in=("clerk", "handler", "head")).first()
    assert holder is not None
    response = act(staff_client(holder), suggestion, "reclassify", reason="个人诉求")
    suggestion.refresh_from_db()
    assert suggestion.status == "reclassified" and suggestion.case_id
    assert response["Location"] == f"/desk/cases/{suggestion.case_id}/"


def test_a_clerk_publishes_and_closes_a_solicitation(clerk_alice: User) -> None:
    client = staff_client(clerk_alice)
    response = client.post(
        "/desk/suggestions/solicitations/",
        {
            "title": "公交线路优化",
            "description": "征集公交线路优化建议。",
            "question": "哪条线路最需要调整？",
            "opens_on": "2026-11-27",
            "closes_on": "2026-12-31",
            "support_threshold": "100",
        },
    )
    assert response.status_code == 302
    solicitation = Solicitation.objects.get(title="公交线路优化")
    assert "公交线路优化" in Client().get("/suggestions/").content.decode()
    client.post(f"/desk/suggestions/solicitations/{solicitation.pk}/close/")
    assert "公交线路优化" not in Client().get("/suggestions/").content.decode()


def test_an_analyst_reads_but_does_not_publish(org_tree: None) -> None:
    analyst = user_add(username="hank", org_code="C", role="analyst")
    client = staff_client(analyst)
    page = client.get("/desk/suggestions/solicitations/", **EN).content.decode()
    assert 'id="publish-form"' not in page
    response = client.post("/desk/suggestions/solicitations/", {"title": "x"})
    assert response.status_code == 403
    assert client.get("/desk/suggestions/stats/").status_code == 200


def test_the_statistics_page_counts_per_solicitation(clerk_alice: User) -> None:
    solicitation = publish(clerk_alice)
    submitted(solicitation)
    submitted(solicitation, title="另一条建议")
    page = staff_client(clerk_alice).get("/desk/suggestions/stats/", **EN).content.decode()
    assert "老旧小区加装电梯" in page


def test_the_desk_nav_links_the_suggestions(clerk_alice: User) -> None:
    page = staff_client(clerk_alice).get("/desk/", **EN).content.decode()
    assert 'href="/desk/suggestions/"' in page


def test_the_proposer_sees_the_reply_with_the_access_key(
    clerk_alice: User, xf_handler: User
) -> None:
    solicitation = publish(clerk_alice)
    receipt = services.suggestion_submit(
        data=SuggestionSubmission(
            title="按楼层分担电梯费用",
            reasons="高层住户受益多。",
            proposal="按楼层设定分担系数。",
            solicitation_id=solicitation.pk,
            proposer_name="李建国",
            proposer_phone="13900001111",
        ),
        actor=None,
    )
    suggestion = receipt.suggestion
    services.suggestion_assess(suggestion_id=suggestion.pk, actor=xf_handler, note="可行")
    services.suggestion_decide(
        suggestion_id=suggestion.pk, actor=xf_handler, decision="not_adopted", reason="已有规定"
    )
    services.suggestion_reply(suggestion_id=suggestion.pk, actor=xf_handler, reply="感谢您的建议。")
    client = Client()
    wrong = client.post(
        "/suggestions/track/",
        {"tracking_number": suggestion.tracking_number, "access_key": "wrong"},
        **EN,
    )
    assert "No suggestion matches" in wrong.content.decode()
    assert "感谢您的建议。" not in wrong.content.decode()
    right = client.post(
        "/suggestions/track/",
        {"tracking_number": suggestion.tracking_number, "access_key": receipt.access_key},
        **EN,
    )
    body = right.content.decode()
    assert right.status_code == 200 and "感谢您的建议。" in body and 'id="tracked"' in body
    # Not published (no consent): the public page does not show it.
    assert "感谢您的建议。" not in Client().get("/suggestions/").content.decode()
