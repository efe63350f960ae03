"""Fill a database with N realistic petitions for the page benchmarks (by hand only).

    .venv/bin/petitiondesk migrate
    .venv/bin/python bench/generate.py --cases 100000 [--seed 1] [--batch 2000]

Writes into the database that DATABASE_URL / PETITIONDESK_DATA_DIR select, after `petitiondesk
migrate`. When it has no organisations, the demo org tree, divisions and staff accounts of
`petitiondesk.core.demo` are loaded first (password `petition-demo-2026`, accounts such as
`yx-xf-clerk`, `yx-housing-handler`, `qh-gov-supervisor`).

Every case is planned by the demo's own planner (`demo.random_plan`, `demo.schedule`, its themes,
texts, petitioners and opinions), then its life is replayed in memory with the rules of
`cases.services` — which verb settles, voids and starts which clock, the overdue sweep at every
step (`supervision.services`), the events and their payloads — and written with `bulk_create`, a
batch per transaction. Nothing goes through the per-request services: at 1M cases they would take
hours. `tests/test_bench_generate.py` reads generated cases back through the API and the services.

Received dates are spread from --start (2023-01-01) to today. Open cases are recent (their clocks
still running) except the overdue ones, some of which are months old; older cases are closed, final,
diverted or not accepted. Given --seed the rows are the same on every run (tracking numbers and
access keys come from the seed; `created_at` columns are the time of the run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402
from django.apps import apps  # noqa: E402

if not apps.ready:
    django.setup()

from django.db import connection, transaction  # noqa: E402

from petitiondesk.accounts.models import Organisation, User  # noqa: E402
from petitiondesk.accounts.services import orgs_load  # noqa: E402
from petitiondesk.calendar.engine import ClockSpec, Due, Method, compute_due  # noqa: E402
from petitiondesk.calendar.profiles import Profile, profile_for_received  # noqa: E402
from petitiondesk.cases.deadlines import WINDOW_RULES  # noqa: E402
from petitiondesk.cases.models import Case, CaseEvent, CaseLink, Deadline, Petitioner  # noqa: E402
from petitiondesk.cases.services import CLAIM_ROUTES  # noqa: E402
from petitiondesk.core import clock, demo  # noqa: E402
from petitiondesk.intake.services import (  # noqa: E402
    TRACKING_ALPHABET,
    content_fingerprint,
    hash_access_key,
)
from petitiondesk.reference.models import Division  # noqa: E402
from petitiondesk.reference.services import divisions_load  # noqa: E402
from petitiondesk.supervision.models import SupervisionRecord  # noqa: E402

S = Case.Status
START = dt.date(2023, 1, 1)
# Demo stages after which nothing is owed any more; every other stage is a case still in hand.
TERMINAL = frozenset(
    {"closed", "reviewed_closed", "final", "diverted", "declined_intake", "declined_organ"}
)
# The demo's planner shows every stage about equally often (it is a five-month snapshot). Over
# years most matters are done: an open plan is kept with this chance (a late one 3x as often), so
# about 8 % of the cases are open and 2-3 % overdue.
KEEP_OPEN = 0.07
LONG_STUCK = 0.3  # share of overdue cases left for up to STUCK_DAYS instead of a few weeks
STUCK_DAYS = 400
ASSIGN_SHARE = 0.3  # open cases at an organ with a named handler (承办人)
PEOPLE_POOL = 3000  # repeat petitioners are drawn from this many recent ones per place


@dataclass
class Rows:
    """The rows of one case, before they have ids."""

    case: Case
    petitioners: list[Petitioner] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)
    overdue: list[tuple[CaseEvent, Deadline]] = field(default_factory=list)  # payload needs the id
    accused: list[int] = field(default_factory=list)
    duplicate_of: Case | int | None = None


class Life:
    """One case replayed step by step with the rules of `cases.services` (see its verbs)."""

    def __init__(self, gen: Generator, rows: Rows, profile: Profile) -> None:
        self.gen = gen
        self.rows = rows
        self.case = rows.case
        self.profile = profile

    # clocks (cases.deadlines + the sweep)

    def start(
        self,
        rule: str,
        on: dt.date,
        *,
        org_id: int | None = None,
        spec: ClockSpec | None = None,
        statutory: bool = True,
    ) -> Deadline:
        spec = spec or self.profile.clock(rule)
        due = self.gen.due(on, spec, 0, 0)
        d = Deadline(
            case=self.case,
            rule=rule,
            org_id=org_id if org_id is not None else self.case.org_id,
            start_on=on,
            days=spec.days,
            due_on=due.due_on,
            method=due.method.value,
            calendar_version=due.calendar_version,
            provisional=due.provisional,
            statutory=statutory,
            duty=rule not in WINDOW_RULES,
            state=Deadline.State.OPEN,
        )
        self.rows.deadlines.append(d)
        return d

    def recompute(self, d: Deadline) -> None:
        spec = ClockSpec(days=d.days, method=Method(d.method))
        due = self.gen.due(d.start_on, spec, d.extension_days, d.hearing_days)
        d.due_on, d.calendar_version, d.provisional = (
            due.due_on,
            due.calendar_version,
            due.provisional,
        )

    def sweep(self, upto: dt.date) -> None:
        """What the daily sweep did before `upto`: open clocks due earlier are missed; a duty
        clock missed is a breach (an `overdue` event and a supervision record)."""
        for d in self.rows.deadlines:
            if d.state == Deadline.State.OPEN and d.due_on < upto:
                d.state = Deadline.State.MISSED
                if d.duty:
                    self.case.is_overdue = True
                    event = self.event(
                        "overdue",
                        d.due_on + dt.timedelta(days=1),
                        actor=None,
                        payload={"rule": d.rule, "due_on": d.due_on.isoformat()},
                        status=False,
                    )
                    self.rows.overdue.append((event, d))

    def owed(self, *rules: str) -> list[Deadline]:
        return [
            d
            for d in self.rows.deadlines
            if d.rule in rules
            and (
                d.state == Deadline.State.OPEN
                or (d.state == Deadline.State.MISSED and d.done_on is None)
            )
        ]

    def settle(self, on: dt.date, *rules: str) -> None:
        for d in self.owed(*rules):
            d.done_on = on
            if d.state == Deadline.State.OPEN:
                d.state = Deadline.State.MET  # the sweep ran first: an open clock is on time

    def void(self, on: dt.date, *rules: str) -> None:
        for d in self.owed(*rules):
            if d.state == Deadline.State.OPEN:
                d.state = Deadline.State.VOID
            else:
                d.done_on = on

    def open_of(self, rule: str) -> Deadline | None:
        return next(
            (d for d in self.rows.deadlines if d.rule == rule and d.state == Deadline.State.OPEN),
            None,
        )

    # events

    def event(
        self,
        verb: str,
        on: dt.date,
        *,
        actor: tuple[int, int] | None,
        payload: dict[str, Any],
        by_petitioner: bool = False,
        status: bool = True,
        from_status: str | None = None,
    ) -> CaseEvent:
        case = self.case
        e = CaseEvent(
            case=case,
            verb=verb,
            actor_id=actor[0] if actor else None,
            actor_org_id=actor[1] if actor else None,
            by_petitioner=by_petitioner,
            effective_on=on,
            from_status=(from_status if from_status is not None else case.status) if status else "",
            to_status=case.status if status else "",
            payload=payload,
        )
        self.rows.events.append(e)
        return e

    def step(self, verb: str, on: dt.date, actor: tuple[int, int] | None, **payload: Any) -> None:
        """Record a step already applied to the case (status set by the caller)."""
        self.rows.events.append(
            CaseEvent(
                case=self.case,
                verb=verb,
                actor_id=actor[0] if actor else None,
                actor_org_id=actor[1] if actor else None,
                by_petitioner=actor is None,
                effective_on=on,
                from_status=self._from,
                to_status=self.case.status,
                payload=payload,
            )
        )
        self.case.version += 1
        if verb not in ("link", "assign", "attach", "rate", "add_material"):
            self.case.last_effective_on = max(self.case.last_effective_on, on)

    def begin(self, on: dt.date) -> None:
        self.sweep(on)
        self._from = self.case.status


class Generator:
    def __init__(
        self,
        *,
        seed: int,
        start: dt.date,
        end: dt.date,
        progress: Callable[[str], None] = print,
    ) -> None:
        self.seed = seed
        self.start = start
        self.end = end
        self.progress = progress
        self.loader = demo.Loader(random.Random(seed), progress)
        self.loader.today = end
        self.calendar = self.loader.calendar
        self.org_id = dict(Organisation.objects.values_list("code", "id"))
        missing = {r["code"] for r in demo.org_records()} - set(self.org_id)
        if missing:
            raise SystemExit(f"the demo org tree is incomplete here (missing {sorted(missing)})")
        self.code_of = {v: k for k, v in self.org_id.items()}
        wanted = {demo.username(code, role): (code, role) for code, role in demo.staff_plan()}
        self.user: dict[tuple[str, str], tuple[int, int]] = {}
        self.username: dict[int, str] = {}
        for uid, name, org_id in User.objects.filter(username__in=wanted).values_list(
            "id", "username", "org_id"
        ):
            self.user[wanted[name]] = (uid, org_id)
            self.username[uid] = name
        if len(self.user) != len(wanted):
            raise SystemExit("the demo staff accounts are missing: generate into a fresh database")
        self._due: dict[tuple[dt.date, int, str, int, int], Due] = {}
        self.seen: dict[int, int] = {}  # content fingerprint (64 bits) -> case id
        self.batch_seen: dict[int, Case] = {}

    # --- dates ------------------------------------------------------------------------------

    def due(self, start: dt.date, spec: ClockSpec, ext: int, hearing: int) -> Due:
        key = (start, spec.days, spec.method.value, ext, hearing)
        found = self._due.get(key)
        if found is None:
            found = self._due[key] = compute_due(
                start=start,
                spec=spec,
                calendar=self.calendar,
                extension_days=ext,
                hearing_days=hearing,
            )
        return found

    # --- planning: the same draws in both passes --------------------------------------------

    def case_rng(self, index: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + index)

    def plan(self, rng: random.Random) -> tuple[demo.Plan, list[demo.Act], dt.date]:
        """Stage, steps and received date of case `index` (its rng), as the demo plans them."""
        while True:
            plan = demo.random_plan(rng)
            if plan.stage in TERMINAL and not plan.public:
                break
            if rng.random() < KEEP_OPEN * (3 if plan.late else 1):
                break
        self.loader.rng = rng
        self.loader.complete(plan)
        acts, anchor, (lo, hi) = demo.schedule(plan, rng)
        last = max([0] + [a.offset for a in acts] + [a.delivered or 0 for a in acts])
        if plan.stage in TERMINAL:
            span = max(0, (self.end - self.start).days - last - 20)
            received = self.start + dt.timedelta(days=rng.randint(0, span))
        else:
            if plan.late and rng.random() < LONG_STUCK:
                hi = rng.randint(hi, STUCK_DAYS)
            received = self.end - dt.timedelta(days=rng.randint(lo, hi) + anchor)
            received = max(received, self.start)
        if plan.channel == "visit":
            received = self.loader.snap(received, received - dt.timedelta(days=2))
        return plan, acts, received

    def order(self, n: int) -> list[int]:
        """Case indexes in received order, so that ids grow with time as in a real ledger."""
        keys = []
        for i in range(n):
            _plan, _acts, received = self.plan(self.case_rng(i))
            keys.append(received.toordinal() << 32 | i)
        keys.sort()
        return [k & 0xFFFFFFFF for k in keys]

    # --- one case ---------------------------------------------------------------------------

    def who(self, code: str, role: str) -> tuple[int, int]:
        return self.user[(code, role)]

    def staff_of(self, holder: str) -> tuple[int, int]:
        return self.who(holder, "clerk" if holder.endswith("-XF") else "handler")

    def build(self, index: int) -> Rows:
        rng = self.case_rng(index)
        plan, acts, received = self.plan(rng)
        loader = self.loader
        loader.rng = rng
        theme, place = plan.theme, plan.place
        assert theme is not None and place is not None
        responsible = loader.responsible(plan)
        registrar = f"{plan.level}-XF" if not plan.direct else responsible

        # Text: avoid exact repeats; a repeat that remains is linked like intake does.
        fp = 0
        for _attempt in range(4):
            ctx = demo.text_context(rng, place, received)
            title, content = demo.compose(rng, theme, ctx)
            fingerprint = content_fingerprint(title, content)
            fp = int(fingerprint[:16], 16)
            if fp not in self.seen and fp not in self.batch_seen:
                break
        petitioners = loader.petitioners_of(plan, ctx)
        classify = plan.kind != "consult" and (plan.kind != "claim" or rng.random() < 0.85)
        category = "claim" if plan.kind in ("litigation", "party") else plan.kind
        people = len(petitioners) or 1
        reps = 0
        if plan.group:
            people = rng.randint(max(8, people), 60)
            reps = len(petitioners)
        holder = registrar
        profile = profile_for_received(received)
        access_key = None if plan.anonymous else "".join(rng.choices(TRACKING_ALPHABET, k=12))
        registered_by = None if plan.public else self.staff_of(registrar)
        case = Case(
            tracking_number=f"XF{received:%Y%m%d}" + "".join(rng.choices(TRACKING_ALPHABET, k=10)),
            access_key_hash=hash_access_key(access_key) if access_key else "",
            title=title,
            content=content,
            content_hash=fingerprint,
            category=category if classify else "",
            topic=theme.topic if classify else "",
            division_code=place.division,
            channel=plan.channel,
            status=S.REGISTERED,
            profile=profile.name,
            received_on=received,
            last_effective_on=received,
            org_id=self.org_id[holder],
            registered_by_org_id=self.org_id[holder],
            registered_by_id=registered_by[0] if registered_by else None,
            anonymous=plan.anonymous,
            confidential=plan.confidential,
            people_count=people,
            representatives=reps,
            version=1,
        )
        rows = Rows(case=case)
        if fp in self.seen:
            rows.duplicate_of = self.seen[fp]
        elif fp in self.batch_seen:
            rows.duplicate_of = self.batch_seen[fp]
        else:
            self.batch_seen[fp] = case
        for p in petitioners:
            email = p.email
            if plan.channel == "email" and not email:
                email = f"petitioner{rng.randint(100, 9999)}@example.com"
            rows.petitioners.append(
                Petitioner(
                    case=case,
                    name=p.name,
                    phone=p.phone,
                    id_number=p.id_number,
                    address=p.address,
                    email=email,
                )
            )
        if theme.accused:
            rows.accused.append(self.org_id[f"{plan.level}-{theme.accused}"])

        life = Life(self, rows, profile)
        # register (intake.services.petition_submit)
        is_department = holder.endswith("-XF")
        first = ["routing"] if is_department else ([] if plan.anonymous else ["notice"])
        if plan.urgent:
            first.append("urgent_report")
        for rule in first:
            life.start(rule, received)
        hour = rng.randint(8, 17)
        life.event(
            "register",
            received,
            actor=registered_by,
            by_petitioner=registered_by is None,
            payload={
                "channel": plan.channel,
                "org": holder,
                "registered_at": f"{received.isoformat()}T{hour:02d}:{rng.randint(0, 59):02d}:"
                f"{rng.randint(0, 59):02d}.000000+00:00",
            },
            from_status="",
        )
        self.replay(life, plan, acts, received, registrar, responsible, holder)
        life.sweep(self.end)  # today's sweep
        case.is_overdue = any(
            d.duty and d.state == Deadline.State.MISSED and d.done_on is None
            for d in rows.deadlines
        )
        return rows

    def replay(
        self,
        life: Life,
        plan: demo.Plan,
        acts: list[demo.Act],
        received: dt.date,
        registrar: str,
        responsible: str,
        holder: str,
    ) -> None:
        """The steps of the plan, as `demo.Loader.run` takes them, with the services' clock rules."""
        loader, case, oid = self.loader, life.case, self.org_id
        rng = loader.rng
        theme = plan.theme
        assert theme is not None
        decider = ""
        prev = received
        outcome = ""
        last_delivered: dt.date | None = None
        appeals = demo.REACH[plan.stage] >= 4
        label = case.title
        for act in acts:
            on = received + dt.timedelta(days=act.offset)
            if act.verb != "close":
                on = loader.snap(on, prev)
            on = max(on, case.last_effective_on) if act.verb != "hearing" else on
            delivered = None
            if act.delivered is not None:
                delivered = max(received + dt.timedelta(days=act.delivered), on)
            staff = self.staff_of(holder)
            verb = act.verb
            if verb in ("route", "route_wrong"):
                to, mode = demo.route_target(plan, verb, responsible, rng)
                life.begin(on)
                life.settle(on, "routing", "urgent_report")
                life.void(on, "notice", "objection", "assignment")
                case.status, case.routed_by_org_id, case.org_id = S.ROUTED, oid[holder], oid[to]
                case.assignee_id = None
                if not case.anonymous:
                    life.start("notice", on, org_id=oid[to])
                life.start("objection", on, org_id=oid[to])
                payload: dict[str, Any] = {"to_org": to, "mode": mode}
                if mode == "assign":
                    due = on + dt.timedelta(days=30)
                    life.start(
                        "assignment",
                        on,
                        spec=ClockSpec(days=30, method=Method.CALENDAR_STRICT),
                        statutory=False,
                        org_id=oid[to],
                    )
                    payload["assign_due_on"] = due.isoformat()
                life.step("route", on, self.who(holder, "clerk"), **payload)
                holder = to
            elif verb == "object":
                life.begin(on)
                router = self.code_of[case.routed_by_org_id]
                life.settle(on, "objection")
                life.void(on, "notice", "assignment")
                case.status, case.org_id = S.REGISTERED, oid[router]
                life.start("routing", on, org_id=oid[router])
                reason = demo.OBJECT_REASON.format(org=loader.names[responsible])
                life.step("object", on, staff, reason=reason, back_to=router)
                holder = router
            elif verb == "accept":
                life.begin(on)
                kind_category = "claim" if plan.kind in ("litigation", "party") else plan.kind
                case.category, case.topic = kind_category, theme.topic
                claim_route = None
                if kind_category == "claim":
                    claim_route = plan.divert if plan.stage == "diverted" else 6
                life.settle(on, "notice", "routing", "assignment", "urgent_report")
                life.void(on, "objection")
                payload = {"category": kind_category}
                if claim_route is not None:
                    payload["claim_route"] = claim_route
                    payload["procedure"] = CLAIM_ROUTES[claim_route]
                    case.claim_route = claim_route
                if claim_route is not None and claim_route <= 5:
                    case.status = S.DIVERTED
                else:
                    case.status = S.ACCEPTED
                    handling = life.profile.handling_clock(kind_category)
                    if handling is not None:
                        life.start("handling", on, spec=handling[0], statutory=handling[1])
                life.step("accept", on, staff, **payload)
                if (
                    case.status == S.ACCEPTED
                    and plan.stage == "accepted"
                    and rng.random() < ASSIGN_SHARE
                ):
                    case.assignee_id = staff[0]
                    life.begin(on)
                    life.step("assign", on, staff, assignee=self.username[staff[0]])
            elif verb == "decline":
                code, reason = loader.decline_reason(plan, holder)
                actor = self.who(holder, "clerk") if holder.endswith("-XF") else staff
                life.begin(on)
                life.settle(on, "notice", "routing", "assignment", "urgent_report")
                life.void(on, "objection")
                case.status = S.NOT_ACCEPTED
                life.step("decline", on, actor, reason_code=code, reason=reason)
            elif verb == "extend":
                life.begin(on)
                row = life.open_of("handling")
                if row is None:  # the clock ran out first: the demo plan cannot extend it
                    continue
                row.extension_days += plan.extend
                life.recompute(row)
                case.extension_days += plan.extend
                notified = None if plan.anonymous else min(self.end, on + dt.timedelta(days=1))
                life.step(
                    "extend",
                    on,
                    staff,
                    days=plan.extend,
                    reason=rng.choice(demo.EXTEND_REASONS),
                    approved_by=demo.username(holder, "head"),
                    petitioner_notified_on=notified.isoformat() if notified else None,
                    due_on=row.due_on.isoformat(),
                )
            elif verb in ("reply", "decide_review", "decide_rereview"):
                assert delivered is not None
                life.begin(on)
                if verb == "reply":
                    outcome = loader.outcome(appeals)
                    opinion = loader.opinion(plan, outcome, label, holder, "复查")
                    life.settle(on, "handling")
                    case.status = S.REPLIED
                    windows = ["review_request"] if case.category == "claim" else []
                else:
                    further = verb == "decide_review" and demo.REACH[plan.stage] >= 6
                    outcome = loader.outcome(further, review=True)
                    what = "复核" if verb == "decide_review" else ""
                    opinion = loader.opinion(plan, outcome, label, holder, what, review=True)
                    rule = "review_decision" if verb == "decide_review" else "rereview_decision"
                    life.settle(on, rule)
                    case.status = S.REVIEWED if verb == "decide_review" else S.FINAL
                    windows = ["rereview_request"] if verb == "decide_review" else []
                case.outcome, case.handled_by_org_id = outcome, oid[holder]
                for rule in [*windows, "rating"]:
                    life.start(rule, delivered)
                life.step(
                    verb,
                    on,
                    staff,
                    outcome=outcome,
                    opinion=opinion,
                    delivered_on=delivered.isoformat(),
                )
                case.last_effective_on = max(case.last_effective_on, delivered)
                decider, last_delivered = holder, delivered
            elif verb in ("request_review", "request_rereview"):
                target = loader.parents[decider]
                assert target is not None
                window = "review_request" if verb == "request_review" else "rereview_request"
                decision = "review_decision" if verb == "request_review" else "rereview_decision"
                life.begin(on)
                life.settle(on, window)
                life.void(on, "rating")
                case.status = S.UNDER_REVIEW if verb == "request_review" else S.UNDER_REREVIEW
                case.org_id = oid[target]
                case.assignee_id = None
                life.start(decision, on, org_id=oid[target])
                life.step(verb, on, self.who(target, "handler"), to_org=target)
                holder = target
            elif verb == "hearing":
                first = received + dt.timedelta(days=act.extra["from"])
                last = received + dt.timedelta(days=act.extra["to"])
                life.begin(last)
                row = life.open_of("rereview_decision")
                if row is None:
                    continue
                days = (last - first).days + 1
                row.hearing_days += days
                life.recompute(row)
                life.step(
                    "hearing",
                    last,
                    staff,
                    **{
                        "from": first.isoformat(),
                        "to": last.isoformat(),
                        "days": days,
                        "due_on": row.due_on.isoformat(),
                    },
                )
                on = last
            elif verb == "close":
                window_rule = "review_request" if case.status == S.REPLIED else "rereview_request"
                window = life.open_of(window_rule)
                if window is not None and on <= window.due_on:
                    on = window.due_on + dt.timedelta(days=1)
                on = self.calendar.next_working_day_on_or_after(max(on, case.last_effective_on))
                if on > self.end:
                    break  # the window has not run out yet: it stays replied
                life.begin(on)  # the sweep: the unused window lapsed
                status = case.status if plan.kind == "claim" else "other"
                reason = demo.CLOSE_REASONS.get(status, "")
                case.status = S.CLOSED
                life.step("close", on, staff, reason=reason)
            prev = on
        if plan.rate and last_delivered is not None:
            window = life.open_of("rating")
            on = min(self.end, last_delivered + dt.timedelta(days=rng.randint(0, 20)))
            if window is not None and on <= window.due_on:
                rating = demo._weighted(rng, demo.RATING_WEIGHTS[outcome or "explain"])
                life.begin(on)
                life.settle(on, "rating")
                case.rating = rating
                life._from = case.status
                life.step(
                    "rate",
                    on,
                    None,
                    rating=rating,
                    comment=rng.choice(demo.RATING_COMMENTS[rating]),
                )

    # --- writing ------------------------------------------------------------------------------

    def write(self, batch: list[Rows]) -> int:
        """One transaction: cases, then the rows that point at them. Returns the rows written."""
        with transaction.atomic():
            Case.objects.bulk_create([r.case for r in batch], batch_size=1000)
            for fp, case in self.batch_seen.items():
                self.seen[fp] = case.pk
            self.batch_seen.clear()
            petitioners = [p for r in batch for p in r.petitioners]
            deadlines = [d for r in batch for d in r.deadlines]
            for r in batch:
                for obj in (*r.petitioners, *r.deadlines, *r.events):
                    obj.case_id = r.case.pk
            Petitioner.objects.bulk_create(petitioners, batch_size=2000)
            Deadline.objects.bulk_create(deadlines, batch_size=2000)
            records = []
            for r in batch:
                for event, d in r.overdue:
                    event.payload["deadline_id"] = d.pk
                    if d.org_id is not None:
                        records.append(
                            SupervisionRecord(
                                case_id=r.case.pk,
                                deadline_id=d.pk,
                                org_id=d.org_id,
                                reason=SupervisionRecord.Reason.OVERDUE,
                            )
                        )
            events = [e for r in batch for e in r.events]
            CaseEvent.objects.bulk_create(events, batch_size=2000)
            SupervisionRecord.objects.bulk_create(records, batch_size=2000)
            through = Case.accused_orgs.through
            accused = [
                through(case_id=r.case.pk, organisation_id=o) for r in batch for o in r.accused
            ]
            through.objects.bulk_create(accused, batch_size=2000)
            links = []
            for r in batch:
                if r.duplicate_of is not None:
                    other = r.duplicate_of
                    other_id = other if isinstance(other, int) else other.pk
                    links.append(
                        CaseLink(
                            case_id=r.case.pk,
                            other_id=other_id,
                            relation=CaseLink.Relation.DUPLICATE,
                        )
                    )
            CaseLink.objects.bulk_create(links, batch_size=2000)
        return (
            len(batch)
            + len(petitioners)
            + len(deadlines)
            + len(events)
            + len(records)
            + len(accused)
            + len(links)
        )

    def run(self, n: int, batch_size: int) -> dict[str, Any]:
        started = time.perf_counter()
        order = self.order(n)
        planned = time.perf_counter() - started
        self.progress(f"generate: planned {n:,} cases in {planned:.1f} s")
        done = rows = 0
        statuses: Counter[str] = Counter()
        overdue = 0
        for lo in range(0, n, batch_size):
            batch = [self.build(i) for i in order[lo : lo + batch_size]]
            rows += self.write(batch)
            done += len(batch)
            statuses.update(r.case.status for r in batch)
            overdue += sum(r.case.is_overdue for r in batch)
            for pool in self.loader.people.values():
                del pool[:-PEOPLE_POOL]
            elapsed = time.perf_counter() - started
            self.progress(
                f"generate: {done:,}/{n:,} cases, {rows:,} rows, {elapsed:.1f} s, "
                f"{done / elapsed:,.0f} cases/s, {rows / elapsed:,.0f} rows/s"
            )
        elapsed = time.perf_counter() - started
        return {
            "cases": done,
            "rows": rows,
            "seconds": round(elapsed, 1),
            "cases_per_s": round(done / elapsed) if elapsed else 0,
            "rows_per_s": round(rows / elapsed) if elapsed else 0,
            "statuses": dict(statuses),
            "overdue": overdue,
        }


def ensure_reference(progress: Callable[[str], None], seed: int) -> None:
    """The demo org tree, divisions and staff accounts when the database has no organisations."""
    if Organisation.objects.exists():
        return
    with transaction.atomic():
        orgs_load(records=demo.org_records())
        if not Division.objects.exists():
            divisions_load(records=demo.division_records())
        users = demo.create_staff(random.Random(seed))
    progress(f"generate: loaded {len(demo.org_records())} organisations, {len(users)} staff")


def generate(
    *,
    cases: int,
    seed: int = 1,
    batch: int = 2000,
    start: dt.date = START,
    end: dt.date | None = None,
    analyze: bool = True,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Generate `cases` cases into the default database; returns counts and throughput."""
    ensure_reference(progress, seed)
    gen = Generator(seed=seed, start=start, end=end or clock.today(), progress=progress)
    result = gen.run(cases, batch)
    if analyze:
        # Fresh planner statistics, as autovacuum (PostgreSQL) or the app's hourly
        # `PRAGMA optimize` (SQLite, core/background.py) would soon give after a bulk load.
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        progress(f"generate: ANALYZE in {time.perf_counter() - t0:.1f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cases", type=int, default=100_000, help="how many cases (default 100000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--batch", type=int, default=2000, help="cases per transaction (default 2000)")
    p.add_argument("--start", type=dt.date.fromisoformat, default=START, help="first received date")
    p.add_argument("--no-analyze", action="store_true", help="skip ANALYZE after the load")
    args = p.parse_args(argv)
    if args.cases < 1 or args.batch < 1:
        p.error("--cases and --batch must be positive")
    existing = Case.objects.count()
    if existing:
        print(f"generate: note: the database already holds {existing:,} cases; adding more")
    result = generate(
        cases=args.cases,
        seed=args.seed,
        batch=args.batch,
        start=args.start,
        analyze=not args.no_analyze,
    )
    order = [s for s in S.values if result["statuses"].get(s)]
    print(
        f"generate: {result['cases']:,} cases and {result['rows']:,} rows in {result['seconds']} s "
        f"({result['cases_per_s']:,} cases/s, {result['rows_per_s']:,} rows/s) on "
        f"{connection.vendor}"
    )
    print("  by status: " + ", ".join(f"{s} {result['statuses'][s]:,}" for s in order))
    print(f"  overdue: {result['overdue']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
