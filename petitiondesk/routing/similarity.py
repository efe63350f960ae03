"""The near-duplicate index of the deployment's cases, and what intake learns from it.

The index (MinHash LSH over character shingles, `routing/minhash.py`) is a cache of the database:
every process keeps one in memory, warm-started from the copy saved in the data dir, and catches up
with the cases registered since (by any process) at most once a second. The database stays the
truth: a candidate the index proposes is only used once the case is read back, so a stale entry
(a case since deleted, a test's rolled-back row) can never surface. `petitiondesk index rebuild`
builds it afresh from the cases; the scheduler saves it every PETITIONDESK_INDEX_SAVE_SECONDS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Q

from petitiondesk.cases.models import Case, CaseLink, Petitioner

from .minhash import LSHIndex, MinHasher, shingle_jaccard

log = logging.getLogger("petitiondesk.index")

# Estimated Jaccard similarity of the 3-character shingles of two petitions' normalised text.
# From 0.5 two texts are near-duplicates whoever wrote them (copies with edits, the same complaint
# forwarded twice); from 0.3 two texts of the *same petitioner* are taken as the same matter told
# again in other words (docs/intelligence.md gives the measurements behind both).
DUPLICATE_SCORE = 0.5
SAME_MATTER_SCORE = 0.3
CANDIDATES = 10  # the index's candidates considered per submission
PERSON_CASES = 50  # a petitioner's earlier cases considered (newest first)
CATCH_UP_SECONDS = 1.0
CATCH_UP_BATCH = 500  # ids looked at per catch-up in a request; the scheduler does the rest
CATCH_UP_PAGE = 5000  # ids per page when the scheduler or a rebuild catches up completely
# Ids just below the high-water mark are checked again by the scheduler: concurrent transactions
# commit out of id order, so a case may become visible after a higher id was already indexed.
CATCH_UP_MARGIN = 1000


def case_text(title: str, content: str) -> str:
    return f"{title}\n{content}"


@dataclass
class _State:
    index: LSHIndex
    database: str
    high_water: int = 0
    last_catch_up: float = float("-inf")
    last_save: float = field(default_factory=time.monotonic)
    dirty: bool = False


_lock = threading.RLock()
_state: _State | None = None
_hasher: MinHasher | None = None


def hasher() -> MinHasher:
    global _hasher
    if _hasher is None:
        _hasher = MinHasher()
    return _hasher


def index_dir() -> Path:
    return Path(settings.PETITIONDESK_INDEX_DIR)


def _database() -> str:
    """Which database the index describes, so that a copy saved for another one is not used."""
    return f"{connection.vendor}:{connection.settings_dict['NAME']}"


def reset() -> None:
    """Forget the in-memory index (tests; after a restore)."""
    global _state
    with _lock:
        _state = None


def _loaded() -> _State:
    """The process's index: the saved copy when it describes this database, else an empty one."""
    global _state
    with _lock:
        if _state is not None and _state.database == _database():
            return _state
        database = _database()
        state: _State | None = None
        directory = index_dir()
        if (directory / "meta.json").exists():
            try:
                index, meta = LSHIndex.load(directory)
                if meta.get("database") == database:
                    state = _State(index=index, database=database, high_water=meta["high_water"])
                else:
                    log.info("saved index describes %s, not %s: starting empty", meta, database)
            except Exception:  # a damaged copy is only a cold start, never an outage
                log.exception("could not load the saved index from %s; starting empty", directory)
        _state = state or _State(index=LSHIndex(), database=database)
        return _state


def _add_rows(state: _State, rows: list[tuple[int, str, str]]) -> None:
    if not rows:
        return
    keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    signatures = hasher().signatures([case_text(t, c) for _, t, c in rows])
    state.index.add_many(keys, signatures)
    state.high_water = max(state.high_water, int(keys.max()))
    state.dirty = True


def _catch_up_page(state: _State, since: int, size: int) -> tuple[int, int]:
    """Index the cases with ids above `since` not indexed yet, `size` ids at most; returns the
    last id looked at and how many ids the page had."""
    page = list(
        Case.objects.filter(pk__gt=since).order_by("pk").values_list("pk", flat=True)[:size]
    )
    wanted = [i for i in page if i not in state.index]
    if wanted:
        _add_rows(
            state, list(Case.objects.filter(pk__in=wanted).values_list("pk", "title", "content"))
        )
    return (page[-1] if page else since), len(page)


def _catch_up(state: _State) -> None:
    """In a request: the next CATCH_UP_BATCH ids above the high-water mark."""
    _catch_up_page(state, state.high_water, CATCH_UP_BATCH)


def fresh_index() -> LSHIndex:
    """The index, caught up with the database (at most once a second per process)."""
    with _lock:
        state = _loaded()
        now = time.monotonic()
        if now - state.last_catch_up >= CATCH_UP_SECONDS:
            state.last_catch_up = now
            _catch_up(state)
        return state.index


def remember(case_id: int, signature: np.ndarray) -> None:
    """Add a case just registered by this process (its signature was computed for the lookup)."""
    with _lock:
        state = _loaded()
        if case_id not in state.index:
            state.index.add(case_id, signature)
            state.high_water = max(state.high_water, case_id)
            state.dirty = True


def save(*, force: bool = False) -> bool:
    """Write the index to the data dir when it changed (and, unless forced, when it is due). The
    engine writes without blocking lookups, so this process's lock is not held meanwhile."""
    with _lock:
        state = _loaded()
        due = time.monotonic() - state.last_save >= settings.PETITIONDESK_INDEX_SAVE_SECONDS
        if not force and not (state.dirty and due):
            return False
        meta = {"database": state.database, "high_water": state.high_water}
        state.dirty = False
        state.last_save = time.monotonic()
    try:
        state.index.save(index_dir(), meta=meta)
    except BaseException:
        state.dirty = True
        raise
    return True


def maintain() -> None:
    """The scheduler's step: catch up completely (the CATCH_UP_MARGIN ids below the mark looked at
    again for late commits), a page at a time so that lookups in between never wait long, then
    save when due."""
    with _lock:
        state = _loaded()
        state.last_catch_up = time.monotonic()
        since = max(0, state.high_water - CATCH_UP_MARGIN)
    while True:
        with _lock:
            since, looked_at = _catch_up_page(state, since, CATCH_UP_PAGE)
        if looked_at < CATCH_UP_PAGE:
            break
    save()


def rebuild(*, progress: Callable[[int, int], None] | None = None, chunk: int = 5000) -> int:
    """Build the index afresh from every case, save it, and make it this process's index."""
    global _state
    total = Case.objects.count()
    state = _State(index=LSHIndex(), database=_database())
    done = 0
    last = 0
    while True:
        rows = list(
            Case.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "title", "content")[:chunk]
        )
        if not rows:
            break
        _add_rows(state, rows)
        last = rows[-1][0]
        done += len(rows)
        if progress:
            progress(done, total)
    state.index.save(index_dir(), meta={"database": state.database, "high_water": state.high_water})
    state.dirty = False
    state.last_catch_up = time.monotonic()
    with _lock:
        _state = state
    return done


def status() -> dict[str, Any]:
    with _lock:
        state = _loaded()
        return {
            "cases": len(state.index),
            "high_water": state.high_water,
            "memory_bytes": state.index.memory_bytes(),
            "directory": str(index_dir()),
            "saved": (index_dir() / "meta.json").exists(),
        }


# --- what intake learns -----------------------------------------------------------------------


@dataclass
class Match:
    """An earlier case a new submission resembles, and why."""

    case_id: int
    score: float
    relation: str  # CaseLink.Relation: duplicate (anyone's near-copy) or same_matter (same person)
    basis: list[str]


def _person_cases(petitioners: Iterable[Petitioner]) -> set[int]:
    """Earlier cases of anyone with the same phone, ID number or e-mail (by their keys)."""
    cond = Q()
    for p in petitioners:
        for name in ("phone_key", "id_key", "email_key"):
            value = getattr(p, name)
            if value:
                cond |= Q(**{name: value})
    if not cond:
        return set()
    return set(
        Petitioner.objects.filter(cond)
        .order_by("-case_id")
        .values_list("case_id", flat=True)[:PERSON_CASES]
    )


def intake_matches(
    *,
    title: str,
    content: str,
    petitioners: Iterable[Petitioner],
    holder_id: int,
    signature: np.ndarray,
) -> list[Match]:
    """The earlier cases a new submission repeats: near-duplicates by anyone (text similarity at
    least DUPLICATE_SCORE), and the same petitioner's cases on the same matter (at least
    SAME_MATTER_SCORE), best first."""
    scores = dict(fresh_index().query(signature, limit=CANDIDATES, min_score=SAME_MATTER_SCORE))
    people = _person_cases(petitioners)
    unscored = [i for i in people if i not in scores]
    if unscored:
        text = case_text(title, content)
        for pk, t, c in Case.objects.filter(pk__in=unscored).values_list("pk", "title", "content"):
            score = shingle_jaccard(text, case_text(t, c))
            if score >= SAME_MATTER_SCORE:
                scores[pk] = score
    if not scores:
        return []
    matches = []
    for pk, org_id in Case.objects.filter(pk__in=scores).values_list("pk", "org_id"):
        score = round(float(scores[pk]), 3)
        same_person = pk in people
        if not same_person and score < DUPLICATE_SCORE:
            continue
        basis = ["same_text" if score >= 0.999 else "similar_text"]
        if same_person:
            basis.append("same_petitioner")
        if org_id == holder_id:
            basis.append("same_org")
        relation = CaseLink.Relation.SAME_MATTER if same_person else CaseLink.Relation.DUPLICATE
        matches.append(Match(pk, score, relation, basis))
    matches.sort(key=lambda m: (-m.score, -m.case_id))
    return matches


def similar_cases(case: Case, *, limit: int = 5) -> list[tuple[int, float]]:
    """Cases whose text resembles this one's (for the case page), best first, itself excluded."""
    signature = hasher().signature(case_text(case.title, case.content))
    hits = fresh_index().query(signature, limit=limit + 1, min_score=SAME_MATTER_SCORE)
    return [(pk, round(float(s), 3)) for pk, s in hits if pk != case.pk][:limit]
