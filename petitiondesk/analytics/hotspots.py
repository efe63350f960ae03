"""Hotspots (source governance, docs/governance.md): clusters of similar petitions about one place
in one period, ranked by a documented heat score.

Pure functions over plain records (`Message`), so the same code serves the CLI on a file and the
deployment's cases (`case_messages`).

Clustering. Near-copies are only part of a hotspot: forty residents of one estate write forty
different messages about the same parking-space bundling. So the similarity is topical, not
MinHash near-duplicate detection: TF-IDF over character 2–3-grams (no word segmentation needed;
jieba splits the anonymised and uncommon place names of petitions badly) of the title twice plus
the start of the body, cosine similarity, and average-linkage agglomerative clustering cut at
cosine distance `threshold`. Average linkage cannot merge two groups unless some pair between
them is within the threshold, so the clustering runs separately inside each connected component
of the "within threshold" graph: exact, and memory grows with the largest component instead of
with the square of the number of messages. Clusters whose main place is the same and whose
centroids are close (`PLACE_MERGE_COSINE`) are then merged: the same estate's problem told in
different words.

Heat score (documented in docs/governance.md):

    heat = ln(1 + petitioners)                 distinct people: the strongest signal
         + 0.5 · ln(1 + messages − petitioners) repeated messages add, but little
         + 0.5 · ln(1 + likes)                  public support (点赞) where the source has it
         + 0.5 · growth                          more recent messages than a steady rate predicts
         + 0.25 · ln(places)                     the same matter in several named places

    growth = clip(ln((recent + 1) / (expected + 1)), 0, 2), where `recent` counts the cluster's
    messages in the last quarter of the window (at most 30 days) and `expected` is the count a
    uniform rate over the window would put there.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 0.8  # cosine distance at which average-linkage merging stops
PLACE_MERGE_COSINE = 0.2  # clusters about the same place merge when their centroids are this close
BODY_CHARS = 300  # the start of the body carries the matter; the rest is narrative
MIN_PETITIONERS = 2  # one person's repeated messages are a repeat petition, not a hotspot
RECENT_DAYS_MAX = 30
MAX_CASES = 20_000  # the newest cases of a period clustered from the database (an annual report)


@dataclass(frozen=True)
class Message:
    """One petition or message as the hotspot analysis needs it."""

    id: str
    title: str
    body: str = ""
    at: dt.datetime | None = None
    petitioner: str = ""  # an identity for counting distinct people; "" = unknown (counted apart)
    support: int = 0  # public support (likes) where the source has it
    against: int = 0  # public disagreement (反对数) where the source has it; reported only
    place: str = ""  # a location field when the source has one (Case.location)
    division: str = ""  # a division code or name when the source has one
    topic: str = ""  # a topic code when the source has one (Case.topic)


@dataclass
class Hotspot:
    rank: int
    heat: float
    place: str
    district: str
    topic: str  # the members' most frequent topic, "" when none has one
    titles: list[str]  # representative titles, closest to the cluster's centre first
    messages: list[Message]
    petitioners: int
    support: int
    places: list[str]
    growth: float
    first: dt.datetime | None
    last: dt.datetime | None
    components: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "heat": round(self.heat, 3),
            "components": {k: round(v, 3) for k, v in self.components.items()},
            "place": self.place,
            "district": self.district,
            "topic": self.topic,
            "places": self.places,
            "titles": self.titles,
            "count": len(self.messages),
            "petitioners": self.petitioners,
            "support": self.support,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "messages": [
                {
                    "id": m.id,
                    "title": m.title,
                    "at": m.at.isoformat() if m.at else None,
                    "petitioner": m.petitioner,
                    "support": m.support,
                    "against": m.against,
                }
                for m in self.messages
            ],
        }


# --- places -------------------------------------------------------------------------------------

# Districts and counties: the anonymised codes of the TipDM data (A3区, A7县) and two-to-four
# character names (岳麓区, 长沙县); words that end in 区 but are not districts are left out.
_DISTRICT = re.compile(r"[A-Z]\d{1,2}(?:区|县)|(?:(?<=\|)|^)[\u4e00-\u9fa5]{2,3}(?:区|县)")
_NOT_DISTRICT = re.compile(
    r"(?:小|社|片|园|景|校|城|辖|地|市|郊|山|库|厂|营|街|新|开|民|住|商|学|工|业|政|战|禁|灾|矿)区$"
)
# A city: the anonymised code (A市) or a name before 市 that is not 市场, 市民, 市区, 市政…
_CITY = re.compile(r"[A-Z]市|[\u4e00-\u9fa5]{2,3}市(?=[\u4e00-\u9fa5A-Z])(?![场民区政委级容长])")
# Words around a place name in a title: verbs of petitioning, question words, particles.
_BREAK = re.compile(
    r"[，,。.！!？?；;：:、\s“”\"'（）()《》【】\[\]]+|关于|反映|投诉|举报|请问|咨询|建议|请求|要求|"
    r"希望|恳请|解决|为何|为什么|何时|能否|是否|什么|怎么|如何|有关|附近|周边|旁边|门口|"
    r"经开区|高新区|开发区|新区|严重|存在|没有|不能|问题|收回|的|在|对|和|与|及|被|给|了|请"
)
# A place name: two to eight characters before a place word, longest place words first.
_PLACE_WORDS = (
    "国际城|小区|花园|家园|公寓|社区|街道|大道|广场|新城|大厦|市场|中学|小学|学校|医院|公园|"
    "村|镇|乡|路|街|苑|园|城|组"
)
_PLACE = re.compile(
    rf"[\u4e00-\u9fa5A-Za-z0-9·]{{2,8}}?(?:{_PLACE_WORDS})(?:小区|[一二三四五六]期)?"
)


def district_of(text: str) -> str:
    """The first district or county named in `text`, or ""."""
    for m in _DISTRICT.finditer(_CITY.sub("|", text)):
        if not _NOT_DISTRICT.search(m.group()):
            return m.group()
    return ""


# Words that end like a place but are not one (跑路 "absconded", 线路 "line", 道路 "road").
_NOT_PLACE = re.compile(r"(?:跑|出|道|线|思|马|走|退|网|套)路$")


def places_in(text: str) -> list[str]:
    """Named places below the district (estates, streets, villages, roads…) in `text`, in order.

    A heuristic: the text is cut at punctuation, petitioning verbs and particles, cities and
    districts are removed, and in each piece a place is 2–8 characters followed by a place word
    (小区, 路, 村, 街道, …). It finds estate and road names well and misses names without such
    a word (e.g. "伊景园滨河苑" is found through 苑, "梅溪湖" is not)."""
    cleaned = _CITY.sub("|", text)
    cleaned = _DISTRICT.sub(
        lambda m: m.group() if _NOT_DISTRICT.search(m.group()) else "|", cleaned
    )
    found: list[str] = []
    for piece in _BREAK.split(cleaned):
        for part in piece.split("|"):
            for m in _PLACE.finditer(part):
                name = m.group()
                if name not in found and not _NOT_PLACE.search(name):
                    found.append(name)
    return found


def main_place(message: Message) -> str:
    """The message's location field, else the first place its title (or body's start) names."""
    return message.place or _first_place(message.title, message.body[:120])


def _place_keys(title: str) -> set[str]:
    """The places of a title as keys: 丽发新城小区 and 丽发新城 are one place."""
    return {re.sub(r"(?:小区|社区|[一二三四五六]期)+$", "", p) for p in places_in(title)}


@functools.lru_cache(maxsize=65536)
def _first_place(title: str, head: str) -> str:
    places = places_in(title) or places_in(head)
    return places[0] if places else ""


# --- clustering ---------------------------------------------------------------------------------


def _texts(messages: Sequence[Message]) -> list[str]:
    return [f"{m.title}。{m.title}。{m.body[:BODY_CHARS]}" for m in messages]


def _vectorise(messages: Sequence[Message]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    # max_df drops the n-grams of every other message (市, 区, 问题, 请问): they join unrelated
    # matters. A tiny set has no "common" n-grams to drop.
    vectoriser = TfidfVectorizer(
        analyzer="char",
        ngram_range=(2, 3),
        sublinear_tf=True,
        max_df=0.2 if len(messages) >= 50 else 1.0,
        min_df=2 if len(messages) >= 50 else 1,  # an n-gram of one message links it to none
        dtype=np.float32,
    )
    return vectoriser.fit_transform(_texts(messages))


def cluster_labels(
    messages: Sequence[Message], *, threshold: float = DEFAULT_THRESHOLD, vectors: Any = None
) -> Any:
    """A cluster label per message (numpy int array); `vectors` from `_vectorise` when at hand."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.cluster import AgglomerativeClustering

    n = len(messages)
    if n == 0:
        return np.zeros(0, dtype=int)
    if vectors is None:
        vectors = _vectorise(messages)
    similar = (vectors @ vectors.T).tocsr()
    similar.data[similar.data < 1 - threshold] = 0
    similar.eliminate_zeros()
    count, component = connected_components(similar, directed=False)
    labels = np.full(n, -1, dtype=int)
    next_label = 0
    for c in range(count):
        members = np.flatnonzero(component == c)
        if len(members) == 1:
            labels[members] = next_label
            next_label += 1
            continue
        sub = vectors[members]
        distance = np.clip(1 - (sub @ sub.T).toarray(), 0, None)
        np.fill_diagonal(distance, 0)
        local = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=threshold
        ).fit_predict(distance)
        labels[members] = local + next_label
        next_label += int(local.max()) + 1
    return _merge_same_place(messages, vectors, labels)


def _groups(labels: Any) -> dict[int, Any]:
    """Label → the indices of its members."""
    order = np.argsort(labels, kind="stable")
    keys, starts = np.unique(labels[order], return_index=True)
    return {int(k): idx for k, idx in zip(keys, np.split(order, starts[1:]), strict=True)}


def _unit_centroid(vectors: Any) -> Any:
    c = np.asarray(vectors.mean(axis=0)).ravel()
    return c / (np.linalg.norm(c) or 1.0)


def _merge_same_place(messages: Sequence[Message], vectors: Any, labels: Any) -> Any:
    """Merge clusters that share a frequent place (named by at least a third of the members)
    and whose centroids are close: one estate's problem told in different words."""
    places = [{m.place} if m.place else _place_keys(m.title) for m in messages]
    groups = _groups(labels)
    by_place: dict[str, list[int]] = {}
    for k, members in groups.items():
        votes = Counter(p for i in members for p in places[i])
        for place, n in votes.items():
            if n * 3 >= len(members):
                by_place.setdefault(place, []).append(k)
    parent: dict[int, int] = {}

    def root(k: int) -> int:
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    centres: dict[int, Any] = {}
    for keys in by_place.values():
        for k in keys:
            if k not in centres:
                centres[k] = _unit_centroid(vectors[groups[k]])
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if root(a) != root(b) and float(centres[a] @ centres[b]) >= PLACE_MERGE_COSINE:
                    parent[root(b)] = root(a)
    merged = labels.copy()
    for k in parent:
        merged[groups[k]] = root(k)
    return merged


# --- heat ---------------------------------------------------------------------------------------


def heat_components(
    messages: Sequence[Message], *, window: tuple[dt.datetime, dt.datetime] | None
) -> dict[str, float]:
    """The terms of the heat score (module docstring) for one cluster."""
    people = {m.petitioner or f"#{m.id}" for m in messages}
    n, u = len(messages), len(people)
    likes = sum(max(0, m.support) for m in messages)
    places = {p for m in messages if (p := main_place(m))}
    growth = 0.0
    if window is not None:
        start, end = window
        span = max((end - start).total_seconds(), 1.0)
        recent_span = min(span / 4, RECENT_DAYS_MAX * 86400.0)
        recent_from = end - dt.timedelta(seconds=recent_span)
        recent = sum(1 for m in messages if m.at is not None and m.at >= recent_from)
        expected = n * recent_span / span
        growth = min(2.0, max(0.0, math.log((recent + 1) / (expected + 1))))
    return {
        "petitioners": math.log1p(u),
        "repeats": 0.5 * math.log1p(n - u),
        "support": 0.5 * math.log1p(likes),
        "growth": 0.5 * growth,
        "spread": 0.25 * math.log(max(1, len(places))),
    }


def _representative_titles(messages: Sequence[Message], vectors: Any, limit: int = 3) -> list[str]:
    centre = np.asarray(vectors.mean(axis=0)).ravel()
    order = np.argsort(-(vectors @ centre))
    titles: list[str] = []
    for i in order:
        title = messages[int(i)].title.strip()
        if title and title not in titles:
            titles.append(title)
        if len(titles) == limit:
            break
    return titles


def find_hotspots(
    messages: Sequence[Message],
    *,
    top: int = 5,
    threshold: float = DEFAULT_THRESHOLD,
    min_petitioners: int = MIN_PETITIONERS,
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> list[Hotspot]:
    """The `top` clusters by heat. `window` is the analysed period (for growth); by default the
    span of the messages' times."""
    messages = list(messages)
    if not messages:
        return []
    times = [m.at for m in messages if m.at is not None]
    if window is None and times:
        window = (min(times), max(times))
    vectors = _vectorise(messages)
    labels = cluster_labels(messages, threshold=threshold, vectors=vectors)
    ranked: list[Hotspot] = []
    for idx in _groups(labels).values():
        members = [messages[int(i)] for i in idx]
        petitioners = len({m.petitioner or f"#{m.id}" for m in members})
        if petitioners < min_petitioners:
            continue
        comps = heat_components(members, window=window)
        places = Counter(p for m in members if (p := main_place(m)))
        districts = Counter(
            d for m in members if (d := m.division or district_of(m.title) or district_of(m.body))
        )
        at = [m.at for m in members if m.at is not None]
        topics = Counter(m.topic for m in members if m.topic)
        ranked.append(
            Hotspot(
                rank=0,
                heat=sum(comps.values()),
                place=places.most_common(1)[0][0] if places else "",
                district=districts.most_common(1)[0][0] if districts else "",
                topic=topics.most_common(1)[0][0] if topics else "",
                titles=_representative_titles(members, vectors[idx]),
                messages=sorted(members, key=lambda m: (m.at or dt.datetime.min, m.id)),
                petitioners=petitioners,
                support=sum(max(0, m.support) for m in members),
                places=[p for p, _n in places.most_common(5)],
                growth=comps["growth"] / 0.5,
                first=min(at) if at else None,
                last=max(at) if at else None,
                components=comps,
            )
        )
    ranked.sort(key=lambda h: (-h.heat, -len(h.messages), h.titles[0] if h.titles else ""))
    for rank, hotspot in enumerate(ranked[:top], start=1):
        hotspot.rank = rank
    return ranked[:top]


# --- sources ------------------------------------------------------------------------------------


def parse_time(value: Any) -> dt.datetime | None:
    """A cell as a datetime: datetime/date cells, ISO text and the 2019/2/28 11:25:05 form."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    text = str(value).strip().replace("/", "-")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _tidy(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


@dataclass(frozen=True)
class Columns:
    title: str = "留言主题"
    body: str = "留言详情"
    time: str = "留言时间"
    support: str = "点赞数"
    against: str = "反对数"
    petitioner: str = "留言用户"
    id: str = "留言编号"
    place: str = ""


def messages_from_rows(rows: Iterable[tuple[int, dict[str, Any]]], cols: Columns) -> list[Message]:
    out = []
    for line, row in rows:
        title = _tidy(row.get(cols.title))
        body = _tidy(row.get(cols.body))
        if not title and not body:
            continue
        out.append(
            Message(
                id=_tidy(row.get(cols.id)) or str(line),
                title=title or body[:40],
                body=body,
                at=parse_time(row.get(cols.time)),
                petitioner=_tidy(row.get(cols.petitioner)),
                support=_int(row.get(cols.support)),
                against=_int(row.get(cols.against)),
                place=_tidy(row.get(cols.place)) if cols.place else "",
            )
        )
    return out


def in_window(
    messages: Iterable[Message], start: dt.date | None, end: dt.date | None
) -> list[Message]:
    """The messages from `start` to `end` inclusive (messages without a time are kept only when
    no bound is given)."""
    if start is None and end is None:
        return list(messages)
    lo = dt.datetime.combine(start, dt.time()) if start else dt.datetime.min
    hi = dt.datetime.combine(end, dt.time.max) if end else dt.datetime.max
    return [m for m in messages if m.at is not None and lo <= m.at <= hi]


def case_messages(
    date_from: dt.date, date_to: dt.date, org_ids: Collection[int] | None = None
) -> list[Message]:
    """The deployment's cases received in the period (held by `org_ids`, None: all; the newest
    `MAX_CASES`) as messages:
    title and content, the case's location and division, the first petitioner's ID number or
    phone as the identity (anonymous and confidential cases count as one person each)."""
    from petitiondesk.cases.models import Case, Petitioner

    cases = Case.objects.filter(received_on__gte=date_from, received_on__lte=date_to)
    if org_ids is not None:
        cases = cases.filter(org_id__in=list(org_ids))
    rows = list(
        cases.order_by("-received_on", "-id")[:MAX_CASES].values_list(
            "id",
            "tracking_number",
            "title",
            "content",
            "received_on",
            "location",
            "division_code",
            "topic",
            "anonymous",
            "confidential",
        )
    )
    identity: dict[int, str] = {}
    for case_id, id_number, phone in (
        Petitioner.objects.filter(case_id__in=[r[0] for r in rows])
        .order_by("id")
        .values_list("case_id", "id_number", "phone")
    ):
        identity.setdefault(case_id, id_number or phone)
    return [
        Message(
            id=number,
            title=title,
            body=content,
            at=dt.datetime.combine(received, dt.time()),
            petitioner="" if anonymous or confidential else identity.get(case_id, ""),
            place=location,
            division=division,
            topic=topic,
        )
        for (
            case_id,
            number,
            title,
            content,
            received,
            location,
            division,
            topic,
            anonymous,
            confidential,
        ) in rows
    ]
