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


@pytest.mark.django_db
def test_sqlite_planner_statistics_are_refreshed(org_tree):
    from django.db import connection

    from petitiondesk.core.background import refresh_planner_statistics

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its own statistics (autovacuum)")
    refresh_planner_statistics()
    with connection.cursor() as cur:
        # The org tree's table has rows, so it now has statistics the planner reads.
        cur.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'accounts_organisation'")
        assert cur.fetchone()[0] > 0
