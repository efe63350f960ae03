"""Public support of suggestions: one support per verified person, codes, rate limits per address
and per network, the threshold that requires an official answer, and exact counts under
concurrency (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection

from petitiondesk.core.errors import Conflict, NotFound, RateLimited, RuleRefusal
from petitiondesk.suggestions import selectors as sel
from petitiondesk.suggestions import services as svc
from petitiondesk.suggestions.models import Suggestion, SuggestionEvent, Support
from tests.conftest import FROZEN_NOW
from tests.test_sweep_and_concurrency import needs_postgres, run_together


@pytest.fixture
def sms_file(settings: Any, tmp_path: Path) -> Path:
    settings.PETITIONDESK_SMS_BACKEND = "petitiondesk.notices.sms.FileBackend"
    settings.PETITIONDESK_SMS_FILE = tmp_path / "sms.jsonl"
    return tmp_path / "sms.jsonl"


@pytest.fixture
def solicitation(clerk_alice: Any) -> Any:
    return svc.solicitation_publish(
        actor=clerk_alice,
        title="优化城区停车管理",
        description="征集停车建议",
        question="如何缓解停车难？",
        opens_on=dt.date(2026, 11, 1),
        closes_on=dt.date(2026, 12, 31),
        support_threshold=3,
    )


@pytest.fixture
def suggestion(solicitation: Any) -> Suggestion:
    return svc.suggestion_submit(
        data=svc.SuggestionSubmission(
            title="错时开放停车场",
            reasons="车位紧张",
            proposal="夜间开放机关停车场",
            solicitation_id=solicitation.pk,
            proposer_name="李明",
            proposer_phone="13900001111",
            public_consent=True,
        ),
        actor=None,
    ).suggestion


def last_sms_code(sms_file: Path, to: str) -> str:
    for line in reversed(sms_file.read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        if record["to"] == to:
            return re.search(r"\d{6}", record["text"]).group(0)  # type: ignore[union-attr]
    raise AssertionError(f"no SMS to {to}")


def last_mail_code(to: str) -> str:
    for message in reversed(mail.outbox):
        if to in message.to:
            return re.search(r"\d{6}", message.body).group(0)  # type: ignore[union-attr]
    raise AssertionError(f"no mail to {to}")


def support_by_phone(sug: Suggestion, sms_file: Path, phone: str, ip: str = "10.0.0.1") -> int:
    svc.support_request(suggestion_id=sug.pk, contact=phone, client_ip=ip)
    code = last_sms_code(sms_file, svc.normalise_contact(phone)[1])
    return svc.support_confirm(suggestion_id=sug.pk, contact=phone, code=code, client_ip=ip)


def test_a_confirmed_support_counts(suggestion, sms_file):
    assert support_by_phone(suggestion, sms_file, "13700000001") == 1
    assert sel.support_count(suggestion.pk) == 1


def test_support_by_email_is_confirmed_with_the_mailed_code(suggestion):
    svc.support_request(
        suggestion_id=suggestion.pk, contact="Wang@Example.com", client_ip="10.0.0.1"
    )
    code = last_mail_code("wang@example.com")
    count = svc.support_confirm(
        suggestion_id=suggestion.pk, contact="wang@example.com", code=code, client_ip="10.0.0.1"
    )
    assert count == 1
    row = Support.objects.get()
    assert row.channel == "email" and "wang" not in row.identity_hash


def test_an_unconfirmed_support_does_not_count(suggestion, sms_file):
    svc.support_request(suggestion_id=suggestion.pk, contact="13700000002", client_ip="10.0.0.1")
    assert Support.objects.count() == 1
    assert sel.support_count(suggestion.pk) == 0
    assert sel.public_suggestions()[0]["supports"] == 0


def test_the_same_person_cannot_support_twice(suggestion, sms_file):
    support_by_phone(suggestion, sms_file, "13700000003")
    with pytest.raises(Conflict) as exc:
        svc.support_request(
            suggestion_id=suggestion.pk, contact="13700000003", client_ip="10.0.0.2"
        )
    assert exc.value.code == "already_supported"
    assert sel.support_count(suggestion.pk) == 1


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("13700000004", "+86 137-0000-0004"),
        ("13700000004", "0086 137 0000 0004"),
        ("13700000004", "１３７０００００００４"),  # full-width digits
        ("zhao@example.com", " ZHAO@Example.COM "),
        ("zhao@example.com", "zhao+again@example.com"),
    ],
)
def test_the_same_person_written_differently_cannot_support_twice(
    suggestion, sms_file, first, again
):
    channel, normalised = svc.normalise_contact(first)
    svc.support_request(suggestion_id=suggestion.pk, contact=first, client_ip="10.0.0.1")
    code = last_sms_code(sms_file, normalised) if channel == "sms" else last_mail_code(normalised)
    svc.support_confirm(suggestion_id=suggestion.pk, contact=first, code=code, client_ip="10.0.0.1")
    with pytest.raises(Conflict):
        svc.support_request(suggestion_id=suggestion.pk, contact=again, client_ip="10.0.0.9")
    with pytest.raises(Conflict):
        svc.support_confirm(
            suggestion_id=suggestion.pk, contact=again, code=code, client_ip="10.0.0.9"
        )
    assert sel.support_count(suggestion.pk) == 1


def test_a_wrong_code_does_not_confirm_and_five_wrong_codes_lock_the_request(suggestion, sms_file):
    svc.support_request(suggestion_id=suggestion.pk, contact="13700000005", client_ip="10.0.0.1")
    good = last_sms_code(sms_file, "13700000005")
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(RuleRefusal) as exc:
            svc.support_confirm(
                suggestion_id=suggestion.pk, contact="13700000005", code=wrong, client_ip="1.1.1.1"
            )
        assert exc.value.code == "wrong_code"
    with pytest.raises(RuleRefusal) as exc:
        svc.support_confirm(
            suggestion_id=suggestion.pk, contact="13700000005", code=good, client_ip="1.1.1.1"
        )
    assert exc.value.code == "too_many_attempts"
    assert sel.support_count(suggestion.pk) == 0


def test_an_expired_code_does_not_confirm(suggestion, sms_file):
    svc.support_request(suggestion_id=suggestion.pk, contact="13700000006", client_ip="10.0.0.1")
    code = last_sms_code(sms_file, "13700000006")
    later = FROZEN_NOW + dt.timedelta(minutes=16)
    with time_machine.travel(later, tick=False), pytest.raises(RuleRefusal) as exc:
        svc.support_confirm(
            suggestion_id=suggestion.pk, contact="13700000006", code=code, client_ip="1.1.1.1"
        )
    assert exc.value.code == "code_expired"
    assert sel.support_count(suggestion.pk) == 0


def test_a_new_code_replaces_the_old_one_after_a_minute(suggestion, sms_file):
    svc.support_request(suggestion_id=suggestion.pk, contact="13700000007", client_ip="10.0.0.1")
    old = last_sms_code(sms_file, "13700000007")
    with pytest.raises(RateLimited):  # not again within the minute
        svc.support_request(
            suggestion_id=suggestion.pk, contact="13700000007", client_ip="10.0.0.1"
        )
    with time_machine.travel(FROZEN_NOW + dt.timedelta(seconds=61), tick=False):
        svc.support_request(
            suggestion_id=suggestion.pk, contact="13700000007", client_ip="10.0.0.1"
        )
        new = last_sms_code(sms_file, "13700000007")
        if old != new:
            with pytest.raises(RuleRefusal):
                svc.support_confirm(
                    suggestion_id=suggestion.pk, contact="13700000007", code=old, client_ip="x"
                )
        count = svc.support_confirm(
            suggestion_id=suggestion.pk, contact="13700000007", code=new, client_ip="1.1.1.1"
        )
    assert count == 1


def test_one_person_gets_at_most_five_codes(suggestion, sms_file):
    for minute in range(5):
        with time_machine.travel(FROZEN_NOW + dt.timedelta(minutes=2 * minute), tick=False):
            svc.support_request(
                suggestion_id=suggestion.pk, contact="13700000017", client_ip="10.0.0.1"
            )
    with (
        time_machine.travel(FROZEN_NOW + dt.timedelta(minutes=30), tick=False),
        pytest.raises(RateLimited),
    ):
        svc.support_request(
            suggestion_id=suggestion.pk, contact="13700000017", client_ip="10.0.0.1"
        )
    assert len(sms_file.read_text().splitlines()) == 5


def test_a_burst_from_one_address_is_throttled(suggestion, sms_file, settings):
    settings.PETITIONDESK_SUPPORT_IP_MAX = 5
    for i in range(5):
        svc.support_request(
            suggestion_id=suggestion.pk, contact=f"1370000010{i}", client_ip="203.0.113.7"
        )
    with pytest.raises(RateLimited):
        svc.support_request(
            suggestion_id=suggestion.pk, contact="13700000199", client_ip="203.0.113.7"
        )
    # Another network is not affected.
    svc.support_request(
        suggestion_id=suggestion.pk, contact="13700000198", client_ip="198.51.100.1"
    )


def test_a_burst_from_one_network_is_throttled_across_addresses(suggestion, sms_file, settings):
    settings.PETITIONDESK_SUPPORT_IP_MAX = 100
    settings.PETITIONDESK_SUPPORT_NETWORK_MAX = 8
    for i in range(8):
        svc.support_request(
            suggestion_id=suggestion.pk, contact=f"1370000020{i}", client_ip=f"203.0.113.{i + 1}"
        )
    with pytest.raises(RateLimited):
        svc.support_request(
            suggestion_id=suggestion.pk, contact="13700000299", client_ip="203.0.113.200"
        )
    # IPv6: one /48 is one network.
    settings.PETITIONDESK_SUPPORT_NETWORK_MAX = 2
    for i in range(2):
        svc.support_request(
            suggestion_id=suggestion.pk, contact=f"1370000030{i}", client_ip=f"2001:db8:1:{i}::1"
        )
    with pytest.raises(RateLimited):
        svc.support_request(
            suggestion_id=suggestion.pk, contact="13700000399", client_ip="2001:db8:1:ffff::9"
        )


def test_the_api_throttles_a_burst_with_429(api_as, suggestion, sms_file, settings):
    settings.PETITIONDESK_SUPPORT_IP_MAX = 3
    public = api_as()
    codes = [
        public.post(
            f"/suggestions/{suggestion.pk}/supports", {"contact": f"1370000040{i}"}
        ).status_code
        for i in range(4)
    ]
    assert codes == [202, 202, 202, 429]


def test_support_needs_the_proposers_consent(solicitation, sms_file):
    sug = svc.suggestion_submit(
        data=svc.SuggestionSubmission(
            title="t",
            reasons="r",
            proposal="p",
            solicitation_id=solicitation.pk,
            proposer_name="n",
            proposer_phone="13900001111",
            public_consent=False,
        ),
        actor=None,
    ).suggestion
    with pytest.raises(NotFound):
        svc.support_request(suggestion_id=sug.pk, contact="13700000008", client_ip="10.0.0.1")


def test_reaching_the_threshold_requires_an_answer_exactly_once(suggestion, sms_file):
    for i in range(5):
        support_by_phone(suggestion, sms_file, f"1370000050{i}")
    suggestion.refresh_from_db()
    assert suggestion.answer_required
    assert suggestion.answer_due_on == dt.date(2026, 11, 27) + dt.timedelta(days=30)
    reached = SuggestionEvent.objects.filter(suggestion=suggestion, verb="threshold_reached")
    assert reached.count() == 1
    assert reached.get().payload["supports"] == 3


def test_support_over_the_api_counts_after_the_code(api_as, suggestion, sms_file):
    public = api_as()
    url = f"/suggestions/{suggestion.pk}/supports"
    assert public.post(url, {"contact": "13700000009"}).status_code == 202
    r = public.post(f"{url}/confirm", {"contact": "13700000009", "code": "000000x"})
    assert r.status_code in (400, 422)
    code = last_sms_code(sms_file, "13700000009")
    r = public.post(f"{url}/confirm", {"contact": "13700000009", "code": code})
    assert r.status_code == 200 and r.json() == {"supports": 1}
    r = public.post(f"{url}/confirm", {"contact": "13700000009", "code": code})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_supported"


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_give_an_exact_count_and_one_threshold_event(
    clerk_alice, sms_file, settings
):
    settings.PETITIONDESK_SUPPORT_IP_MAX = 0
    settings.PETITIONDESK_SUPPORT_NETWORK_MAX = 0
    sol = svc.solicitation_publish(
        actor=clerk_alice,
        title="t",
        description="d",
        question="q",
        opens_on=dt.date(2026, 11, 1),
        closes_on=dt.date(2026, 12, 31),
        support_threshold=10,
    )
    sug = svc.suggestion_submit(
        data=svc.SuggestionSubmission(
            title="t",
            reasons="r",
            proposal="p",
            solicitation_id=sol.pk,
            proposer_name="n",
            proposer_phone="13900001111",
            public_consent=True,
        ),
        actor=None,
    ).suggestion
    phones = [f"1360000{i:04d}" for i in range(24)]
    codes = {}
    for phone in phones:
        svc.support_request(suggestion_id=sug.pk, contact=phone, client_ip="10.0.0.1")
        codes[phone] = last_sms_code(sms_file, phone)
    results = run_together(
        *(
            lambda p=p: svc.support_confirm(
                suggestion_id=sug.pk, contact=p, code=codes[p], client_ip="10.0.0.1"
            )
            for p in phones
        )
    )
    assert all(isinstance(r, int) for r in results)
    assert max(results) == len(phones)
    assert sel.support_count(sug.pk) == len(phones)
    assert SuggestionEvent.objects.filter(suggestion=sug, verb="threshold_reached").count() == 1
    assert connection.vendor == "postgresql"
