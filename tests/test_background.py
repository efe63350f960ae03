"""The periodic jobs loop that `serve` (in-process) and `worker` run."""

import threading

import pytest

from petitiondesk.cases.models import CaseEvent
from petitiondesk.core.background import run_scheduler
from tests.conftest import letter


class OneRound(threading.Event):
    """Stops the loop after its first round instead of sleeping."""

    def wait(self, timeout: float | None = None) -> bool:
        self.set()
        return True


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_loop_runs_the_overdue_sweep(api_as, clerk_alice):
    r = api_as(clerk_alice).post("/petitions", letter(received_on="2026-09-01"))
    assert r.status_code == 201
    run_scheduler(OneRound())
    assert CaseEvent.objects.filter(case_id=r.json()["id"], verb="overdue").count() == 1
