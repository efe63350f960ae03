"""The demo loader (`petitiondesk demo`): a small demo shows every stage and obeys the rules."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django_otp.oath import totp

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.cases.models import Case, CaseEvent, CaseLink, Deadline
from petitiondesk.cli import main
from petitiondesk.core import clock
from petitiondesk.core.demo import (
    DEMO_PASSWORD,
    DEMO_TOTP_KEY,
    DEMO_URL,
    HIGHLIGHTS,
    demo_load,
    demo_needed,
    demo_totp_base32,
)
from petitiondesk.core.errors import DomainError
from petitiondesk.supervision.models import SupervisionRecord
from tests.conftest import FROZEN_NOW

pytestmark = pytest.mark.django_db

LIFECYCLE = {
    "registered",
    "routed",
    "accepted",
    "diverted",
    "not_accepted",
    "replied",
    "under_review",
    "reviewed",
    "under_rereview",
    "final",
    "closed",
}


@pytest.fixture(scope="class")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """One 60-petition demo shared by the read-only tests of a class, rolled back after it."""
    messages: list[str] = []
    with (
        django_db_blocker.unblock(),
        time_machine.travel(FROZEN_NOW, tick=False),
        transaction.atomic(),
    ):
        summary = demo_load(progress=messages.append, petitions=60)
        assert any("60/60" in m for m in messages), messages
        yield summary
        transaction.set_rollback(True)


class TestSmallDemo:
    def test_a_small_demo_shows_every_stage_of_the_lifecycle(self, demo: str) -> None:
        assert Case.objects.count() == 60
        statuses = Counter(Case.objects.values_list("status", flat=True))
        assert set(statuses) >= LIFECYCLE, LIFECYCLE - set(statuses)
        diverted_routes = set(
            Case.objects.filter(status="diverted").values_list("claim_route", flat=True)
        )
        assert diverted_routes >= {1, 2, 3, 4, 5}
        assert CaseEvent.objects.filter(verb="hearing", case__status="under_rereview").exists()
        assert Case.objects.exclude(rating="").exists()
        assert Case.objects.filter(category="suggestion").exists()
        assert Case.objects.filter(anonymous=True).exists()
        assert Case.objects.filter(confidential=True).exists()
        assert len(set(Case.objects.values_list("channel", flat=True))) >= 5

    def test_the_sweep_finds_overdue_matters_and_opens_supervision(self, demo: str) -> None:
        overdue = Case.objects.filter(is_overdue=True)
        assert overdue.exists()
        missed = set(
            Deadline.objects.filter(duty=True, state="missed", case__is_overdue=True).values_list(
                "rule", flat=True
            )
        )
        assert {"routing", "handling"} <= missed
        assert SupervisionRecord.objects.filter(case__in=overdue).exists()

    def test_extensions_are_approved_by_a_head_and_notified(self, demo: str) -> None:
        extended = Case.objects.filter(extension_days__gt=0)
        assert extended.exists()
        for event in CaseEvent.objects.filter(verb="extend"):
            approver = User.objects.get(username=event.payload["approved_by"])
            assert approver.role == "head" and approver.org_id == event.actor_org_id
            assert event.payload["petitioner_notified_on"] or event.case.anonymous
        handling = Deadline.objects.filter(case__in=extended, rule="handling", extension_days__gt=0)
        assert handling.exists()

    def test_accusations_go_to_discipline_and_never_to_the_accused(self, demo: str) -> None:
        accusations = Case.objects.filter(
            category="accusation", accused_orgs__isnull=False
        ).distinct()
        routed = accusations.exclude(routed_by_org=None)
        assert routed.filter(org__kind=Organisation.Kind.DISCIPLINE).exists()
        for case in accusations:
            assert case.org_id not in set(case.accused_orgs.values_list("id", flat=True))

    SWEEP_VERBS = frozenset({"overdue", "remind", "supervise", "list_supervision", "backlog_flag"})

    def test_every_case_starts_with_its_registration_and_no_date_is_in_the_future(
        self, demo: str
    ) -> None:
        today = clock.today()
        for case in Case.objects.prefetch_related("events"):
            events = list(case.events.all())
            assert events[0].verb == "register"
            assert events[0].effective_on == case.received_on
            # The case's own steps; what the sweep records (overdue clocks, the supervision
            # ladder) is dated when the breach is found, which a back-dated demo step precedes.
            steps = [e.effective_on for e in events if e.verb not in self.SWEEP_VERBS]
            assert steps == sorted(steps)
            assert steps[-1] <= today
        oldest = Case.objects.order_by("received_on").first()
        assert oldest is not None
        assert today - oldest.received_on <= dt.timedelta(days=200)
        assert Case.objects.filter(received_on__lt=today - dt.timedelta(days=100)).exists()

    def test_groups_duplicates_and_appeal_ladder(self, demo: str) -> None:
        groups = Case.objects.filter(representatives__gt=0)
        assert groups.exists()
        assert all(0 < g.representatives <= min(5, g.people_count) for g in groups)
        assert CaseLink.objects.filter(relation="duplicate").exists()
        # A county bureau's reply is reviewed by the county government and re-reviewed by the city.
        for event in CaseEvent.objects.filter(verb="request_rereview"):
            review = event.case.events.filter(verb="request_review").get()
            reviewer = Organisation.objects.get(code=review.payload["to_org"])
            assert event.payload["to_org"] == reviewer.parent.code

    def test_the_summary_names_the_url_and_a_working_login_per_role(self, demo: str) -> None:
        assert not demo_needed()
        assert DEMO_URL in demo
        roles = {role for _, role, _ in HIGHLIGHTS}
        assert roles == set(User.Role.values)
        for code, role, _ in HIGHLIGHTS:
            user = User.objects.get(org__code=code, role=role)
            assert user.username in demo
        # Every account shares the demo password; check one of each kind of hash path, through
        # the login page. Supervisors also need the one-time code of the printed demo key.
        assert demo_totp_base32() in demo

        def log_in(name: str, password: str, code: str = "") -> int:
            form = {"username": name, "password": password, "otp_token": code}
            return Client().post("/accounts/login/", form).status_code

        assert log_in("yx-xf-clerk", DEMO_PASSWORD) == 302
        assert log_in("qh-gov-supervisor", DEMO_PASSWORD) == 400
        code = f"{totp(bytes.fromhex(DEMO_TOTP_KEY)):06d}"
        assert log_in("qh-gov-supervisor", DEMO_PASSWORD, code) == 302
        assert log_in("qh-gov-supervisor", "wrong", code) == 400


def test_the_cli_loads_the_demo_only_into_an_empty_database(capsys: pytest.CaptureFixture) -> None:
    assert demo_needed()
    demo_load(progress=lambda _msg: None, petitions=60)
    before = (Case.objects.count(), CaseEvent.objects.count(), User.objects.count())

    assert main(["demo"]) == 2
    assert "not empty" in capsys.readouterr().err

    assert main(["demo", "--if-empty"]) == 0
    assert "already has data" in capsys.readouterr().out
    assert (Case.objects.count(), CaseEvent.objects.count(), User.objects.count()) == before


def test_demo_load_refuses_a_database_with_organisations(org_tree: None) -> None:
    assert not demo_needed()
    with pytest.raises(DomainError):
        demo_load(progress=lambda _msg: None, petitions=20)
    assert not Case.objects.exists()


def test_the_demo_loads_on_another_day_too() -> None:
    """The plan is relative to the day it is loaded; on 2026-12-02 one planned rating fell after
    its window and the whole load stopped (`make run` on a fresh clone failed)."""
    later = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with time_machine.travel(later, tick=False):
        demo_load(progress=lambda _msg: None)
    assert Case.objects.count() == 300
    assert Case.objects.exclude(rating="").exists()
