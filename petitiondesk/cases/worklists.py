"""The staff work lists: selectors over `visible_cases`, with their counts in one query.

Each list is a condition on the cases a user may read (docs/user-guide.md "Work lists"):

- `to_route`: registered and held by the user's organisation (a petition department routes them);
- `to_accept`: registered or routed, held by the user's organisation (accept, decline or object);
- `in_handling`: accepted, held by the user's organisation (the handling opinion is owed);
- `to_reply`: under review or re-review, held by the user's organisation (a decision is owed);
- `extensions`: with a pending extension request, held by the user's organisation (heads decide);
- `due_soon`: an organ owes a step whose clock runs out within `DUE_SOON_DAYS` calendar days;
- `overdue`: a statutory clock ran out with its step undone (`Case.is_overdue`);
- `all`: every case the user may read.

Filters and the search apply to every list, and so do the counts: the count of the list shown is
the total its pages are cut from, so a page costs one count query for all lists and one page query.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import User
from petitiondesk.core import clock
from petitiondesk.reference.selectors import TopicNode, topic_tree

from .models import Case, Deadline, ExtensionRequest
from .selectors import visible_cases

S = Case.Status
R = User.Role
DUE_SOON_DAYS = 3
PAGE_SIZE = 50
SEARCH_MAX_TOKENS = 12

LIST_LABELS = {
    "to_route": _("To route"),
    "to_accept": _("To accept"),
    "in_handling": _("In handling"),
    "to_reply": _("Decisions owed"),
    "extensions": _("Extensions to approve"),
    "due_soon": _("Due within 3 days"),
    "overdue": _("Overdue"),
    "all": _("All cases"),
}
SHARED_LISTS = ("due_soon", "overdue", "all")
LISTS_BY_ROLE: dict[str, tuple[str, ...]] = {
    R.CLERK: ("to_route", "to_accept", *SHARED_LISTS),
    R.HANDLER: ("to_accept", "in_handling", "to_reply", *SHARED_LISTS),
    R.HEAD: ("to_accept", "in_handling", "to_reply", "extensions", *SHARED_LISTS),
    R.SUPERVISOR: SHARED_LISTS,
    R.ANALYST: SHARED_LISTS,
}
# Sort keys offered on the list (and in the export): the name in the URL → the ordering.
SORTS: dict[str, tuple[str, ...]] = {
    "-received_on": ("-received_on", "-id"),
    "received_on": ("received_on", "id"),
    "due": ("next_due", "-received_on", "-id"),
    "-due": ("-next_due", "-received_on", "-id"),
    "status": ("status", "-received_on", "-id"),
    "org": ("org__code", "-received_on", "-id"),
    "title": ("title", "id"),
}
DEFAULT_SORT = "-received_on"


def lists_for(user: User) -> tuple[str, ...]:
    return LISTS_BY_ROLE.get(user.role, ())


def default_list(user: User) -> str:
    return lists_for(user)[0] if lists_for(user) else "all"


@dataclass
class ListFilters:
    status: str = ""
    category: str = ""
    topic: str = ""
    org: str = ""
    channel: str = ""
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    q: str = ""


def topic_subtree(code: str) -> list[str]:
    """The topic and its subtopics (a filter on a topic takes in its subtopics)."""

    def find(nodes: list[TopicNode]) -> TopicNode | None:
        for node in nodes:
            if node.code == code:
                return node
            found = find(node.children)
            if found is not None:
                return found
        return None

    node = find(topic_tree())
    if node is None:
        return [code]
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current.code)
        stack.extend(current.children)
    return out


def _due_soon_q(today: dt.date) -> Q:
    """Cases with an owed step due within DUE_SOON_DAYS. The few case ids are read first through
    the partial index of open clocks, so each list query then looks them up by primary key instead
    of hashing the clocks against a scan of every visible case."""
    ids = (
        Deadline.objects.filter(
            state=Deadline.State.OPEN,
            duty=True,
            due_on__lte=today + dt.timedelta(days=DUE_SOON_DAYS),
        )
        .order_by()
        .values_list("case_id", flat=True)
    )
    # Deduplicated here: with DISTINCT, SQLite walks the case index instead of the partial one.
    return Q(pk__in=sorted(set(ids)))


def list_conditions(user: User) -> dict[str, Q]:
    """The condition of each list of the user's role (on top of `visible_cases`)."""
    held = Q(org_id=user.org_id)
    pending = Q(
        pk__in=ExtensionRequest.objects.filter(state=ExtensionRequest.State.PENDING).values(
            "case_id"
        )
    )
    every = {
        "to_route": held & Q(status=S.REGISTERED),
        "to_accept": held & Q(status__in=[S.REGISTERED, S.ROUTED]),
        "in_handling": held & Q(status=S.ACCEPTED),
        "to_reply": held & Q(status__in=[S.UNDER_REVIEW, S.UNDER_REREVIEW]),
        "extensions": held & pending,
        "due_soon": _due_soon_q(clock.today()),
        "overdue": Q(is_overdue=True),
        "all": Q(),
    }
    return {name: every[name] for name in lists_for(user)}


# --- search -----------------------------------------------------------------------------------


@cache
def _jieba() -> Any:
    """jieba, initialised once per process, quietly, from the dictionary in its package."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _is_noise(token: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PZSC" for ch in token)


def search_tokens(query: str) -> list[str]:
    """The words of a search, Chinese included: jieba's search-engine cut, without punctuation
    and whitespace; a word made of other words of the query gives way to them, so that "学位分配"
    finds "学位的分配" too. At most SEARCH_MAX_TOKENS words."""
    query = unicodedata.normalize("NFKC", query).strip()
    if not query:
        return []
    words = list(dict.fromkeys(t.strip() for t in _jieba().cut_for_search(query)))
    words = [w for w in words if w and not _is_noise(w)]
    kept = [w for w in words if not any(o != w and o in w for o in words)]
    return kept[:SEARCH_MAX_TOKENS]


def _search_q(query: str) -> Q:
    condition = Q()
    for token in search_tokens(query):
        condition &= Q(title__icontains=token) | Q(content__icontains=token)
    return condition


# --- the lists --------------------------------------------------------------------------------


def filtered_cases(user: User, filters: ListFilters) -> QuerySet[Case]:
    """The cases the user may read, narrowed by the filters and the search."""
    qs = visible_cases(user)
    exact = {
        "status": filters.status,
        "category": filters.category,
        "org__code": filters.org,
        "channel": filters.channel,
    }
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if filters.topic:
        qs = qs.filter(topic__in=topic_subtree(filters.topic))
    if filters.received_from:
        qs = qs.filter(received_on__gte=filters.received_from)
    if filters.received_to:
        qs = qs.filter(received_on__lte=filters.received_to)
    if filters.q:
        qs = qs.filter(_search_q(filters.q))
    return qs


# Lists are counted up to this many cases ("1000+" beyond): an exact count of a city's whole
# history would scan every case it may read on every page view, for a figure nobody acts on.
COUNT_CAP = 1000


def capped_count(qs: QuerySet[Case]) -> int:
    """The number of rows, or COUNT_CAP + 1 when there are more (the query stops there)."""
    return qs.values("pk")[: COUNT_CAP + 1].count()


def worklist_counts(
    user: User, filters: ListFilters, conditions: dict[str, Q] | None = None
) -> dict[str, int]:
    """How many cases each list of the user's role holds under the filters, up to COUNT_CAP + 1:
    one small query a list, each able to use its own index (held lists: org and status; overdue:
    the partial index; due soon: the open clocks) and to stop early."""
    base = filtered_cases(user, filters)
    conditions = list_conditions(user) if conditions is None else conditions
    return {name: capped_count(base.filter(cond)) for name, cond in conditions.items()}


def _owed() -> Q:
    """Clocks whose step an organ still owes (one that ran out with its step undone included: it
    shows how long the case is overdue)."""
    return Q(duty=True) & (
        Q(state=Deadline.State.OPEN) | Q(state=Deadline.State.MISSED, done_on__isnull=True)
    )


def _next_due() -> Subquery:
    """The earliest due date of the steps an organ still owes on the case."""
    return Subquery(
        Deadline.objects.filter(_owed(), case=OuterRef("pk"))
        .values("case")
        .annotate(first=Min("due_on"))
        .values("first")[:1]
    )


def worklist(
    user: User,
    name: str,
    filters: ListFilters,
    sort: str = DEFAULT_SORT,
    *,
    with_next_due: bool = False,
    conditions: dict[str, Q] | None = None,
) -> QuerySet[Case]:
    """The cases of list `name` (one of `lists_for(user)`), with the holder. `next_due` is
    computed in the query only when sorting by it or `with_next_due` (the export); a page gets it
    from `worklist_page` for its own rows, so that it is not computed for every case of the list."""
    conditions = list_conditions(user) if conditions is None else conditions
    if name not in conditions:
        return Case.objects.none()
    qs = filtered_cases(user, filters).filter(conditions[name])
    if with_next_due or sort in ("due", "-due"):
        qs = qs.annotate(next_due=_next_due())
    return (
        qs.select_related("org")
        .defer("content", "access_key_hash")
        .order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))
    )


@dataclass
class Page:
    rows: list[Case]
    number: int
    count: int
    size: int = PAGE_SIZE

    @property
    def capped(self) -> bool:
        """More cases than were counted: the pages go up to COUNT_CAP cases."""
        return self.count > COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.count, COUNT_CAP) // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def worklist_page(qs: QuerySet[Case], *, number: int, count: int) -> Page:
    """One page of a list whose size is already known (from `worklist_counts`): no second count."""
    pages = max(1, -(-min(count, COUNT_CAP) // PAGE_SIZE))
    number = min(max(1, number), pages)
    start = (number - 1) * PAGE_SIZE
    rows = list(qs[start : min(start + PAGE_SIZE, COUNT_CAP)])
    # The next due date of the page's rows, in one query (none for an empty page).
    due = dict(
        Deadline.objects.filter(_owed(), case_id__in=[c.pk for c in rows])
        .values("case_id")
        .annotate(first=Min("due_on"))
        .values_list("case_id", "first")
    )
    for case in rows:
        case.next_due = due.get(case.pk)  # type: ignore[attr-defined]
    return Page(rows, number, count, PAGE_SIZE)


def worklist_rows(qs: QuerySet[Case]) -> Iterator[Case]:
    """Every row of a list, fetched in chunks (for the export)."""
    return qs.iterator(chunk_size=1000)


# --- the supervisor board ---------------------------------------------------------------------

# Who opens the board: those who watch over a jurisdiction and the heads who answer for an organ.
BOARD_ROLES = frozenset({R.SUPERVISOR, R.ANALYST, R.HEAD})
# Who registers petitions (as `petition_submit` allows).
REGISTERING_ROLES = frozenset({R.CLERK, R.HANDLER, R.HEAD})
BOARD_CASES = 100


def board(user: User) -> tuple[list[dict[str, Any]], list[Case]]:
    """Overdue and due-soon cases across what the user may read, counted by holding organ (one
    query), and the overdue cases themselves, longest overdue first (at most BOARD_CASES)."""
    # Two small grouped counts (overdue through its partial index, due soon through the open
    # clocks) rather than one scan of everything visible.
    visible = visible_cases(user)
    per_org: dict[str, dict[str, Any]] = {}
    for kind, cond in (
        ("overdue", Q(is_overdue=True)),
        ("due_soon", _due_soon_q(clock.today()) & Q(is_overdue=False)),
    ):
        for code, name, n in (
            visible.filter(cond)
            .values("org__code", "org__name")
            .annotate(n=Count("id"))
            .values_list("org__code", "org__name", "n")
        ):
            row = per_org.setdefault(
                code, {"org__code": code, "org__name": name, "overdue": 0, "due_soon": 0}
            )
            row[kind] = n
    by_org = sorted(per_org.values(), key=lambda r: (-r["overdue"], -r["due_soon"], r["org__code"]))
    # The longest overdue first: the first missed clock of each overdue case (the partial index
    # finds them), the wide text columns left out.
    first_missed = Subquery(
        Deadline.objects.filter(
            case=OuterRef("pk"), state=Deadline.State.MISSED, duty=True, done_on__isnull=True
        )
        .values("case")
        .annotate(first=Min("due_on"))
        .values("first")[:1]
    )
    overdue: list[Case] = list(
        visible.filter(is_overdue=True)
        .annotate(missed_on=first_missed)
        .select_related("org")
        .defer("content", "access_key_hash")
        .order_by("missed_on", "id")[:BOARD_CASES]
    )
    return by_org, overdue
