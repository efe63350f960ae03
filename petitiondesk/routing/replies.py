"""Reply assistance for the handling opinion (docs/intelligence.md "Reply assistance").

Two tools for the staff member writing an opinion (reply, review or re-review decision):

- **Similar answered cases.** A TF-IDF model of character 1–2-grams over the title and content of
  every answered case (a case with a `reply`, `decide_review` or `decide_rereview` event), cosine
  top-k. The model is a file, `<data dir>/models/replies/index.npz`, built and extended by
  `refresh()` from the scheduler, never by a request: a request only reads it (reloaded when the
  file changes). Results are filtered through `visible_cases` and their opinion text is read from
  the database at query time, so the file holds no text and nobody sees a case they may not read.
- **Completeness check (Art. 32).** A handling opinion states the petitioner's request (诉求), the
  facts found (查明的事实), the opinion (处理意见) and its legal basis (法律依据). Each element is
  detected by the documented patterns of `ELEMENT_PATTERNS` (Chinese and English), with the text
  that matched as evidence. Pattern detection can only say a draft *looks* complete; it does not
  judge whether what it says is right.

The model and the check are pure (`ReplyIndex`, `check_opinion`); the database is touched only by
`refresh`, `similar_replies` and `opinion_of`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_tasks import task

log = logging.getLogger(__name__)

# --- the completeness check ---------------------------------------------------------------------

ELEMENTS = ("request", "facts", "opinion", "legal_basis")
ELEMENT_LABELS = {
    "request": _("The petitioner's request (诉求)"),
    "facts": _("The facts found (查明的事实)"),
    "opinion": _("The opinion (处理意见)"),
    "legal_basis": _("The legal basis (法律依据)"),
}

_S = r"[^。！？!?；;\n]"  # any character within one sentence
_NUM = r"[一二三四五六七八九十百千零〇两\d]+"
# A named legal instrument: 《…法》, 《…条例》, 《…规定》 …
_INSTRUMENT = (
    r"《[^》]{1,60}(?:法|条例|规定|办法|细则|规则|意见|通知|决定|标准|规范|方案|纲要|解释)》"
)

# The patterns, element by element; the first that matches gives the evidence. Chinese first, then
# English. Kept in one table so that docs/intelligence.md can quote it and the bench measure it.
ELEMENT_PATTERNS: dict[str, tuple[str, ...]] = {
    "request": (
        # The petitioner's request named: "您反映的学府铭邸有关问题", "你反映322国道…", "您建议将…";
        # not the bare acknowledgement "您反映的问题已收悉" / "关于您反映的问题，已转…", which
        # names nothing (the commonest false positive in the hand check).
        rf"(?:您|你们?|信访人|来信人|网友|贵单位)(?:所|在{_S}{{0,12}}?)?(?:反映|反应|提出|投诉|举报|"
        rf"请求|要求|建议|询问|质疑|咨询)(?!的?(?:问题|情况|事项|事宜|已|我|可以|时|，|,|。|$))",
        r"(?:您|你|信访人)的?(?:诉求|信访请求|请求事项)(?:是|为|：|:)|诉求如下|信访请求",
        # a quoted matter: 反映的“…”, 网帖“…”
        r"(?:反映|网帖|留言|来信)的?[“\"「『][^”\"」』]{2,80}[”\"」』]",
        rf"(?:关于|针对|对于|就)(?!(?:您|你)所?(?:反映|提出)的?(?:问题|情况))"
        rf"{_S}{{2,40}}?(?:的问题|问题|的诉求|的请求|的来信|的留言|的情况|一事)",
        r"\byou (?:asked|requested|complained|reported|raised|wrote|applied|petitioned|claimed|"
        r"asked for|request|ask|complain|report)\b",
        r"\byour (?:request|complaint|petition|letter|claim|application|message|concern)s? "
        r"(?:about|for|that|concerning|regarding|to)\b",
        r"\bthe petitioners? (?:asks?|asked|requests?|requested|complained|claims?|claimed)\b",
    ),
    "facts": (
        # Found facts, in the past: "经调查核实", "经A6区人社局核实", "据查", "进行了专门调查";
        # not a referral or a promise ("已转…调查处理", "我们进行调查核实").
        rf"经(?:过)?{_S}{{0,12}}?(?:调查|核实|核查|查实|查明|了解|走访|勘查|查看|复查|排查|检查|摸底)",
        r"经查|据查|据了解|据核实|查明|调查(?:发现|了解到|表明|显示)|(?:调查|核实|核查)(?:后|发现|表明)",
        rf"进行了{_S}{{0,8}}?(?:调查|核实|核查|勘查|检查|查看)|现场(?:查看|勘查|核实|检查|调查)|"
        r"实地(?:查看|调查|勘查|走访)",
        r"\b(?:we|it was|the bureau|the office|staff) (?:have |has )?(?:found|established|verified|"
        r"investigated|inspected|checked|confirmed)\b",
        r"\b(?:our|the) (?:investigation|inquiry|inspection|review) (?:found|showed|shows|"
        r"established|confirmed)\b",
        r"\b(?:on|after|upon) (?:investigation|inspection|checking|verification)\b",
        r"\bfacts? (?:found|established)\b",
    ),
    "opinion": (
        r"处理意见|答复如下|回复如下|答复意见|现答复|现回复|予以支持|不予支持|予以解释|解释说明",
        r"决定|我们认为|经研究|本机关认为|本局认为|建议",
        # a decision acted on; not a referral ("已转…处理")
        rf"(?:已(?!转)|将(?!{_S}{{0,3}}转)|要求|责令|责成|督促){_S}{{0,20}}?(?:整改|处理|解决|查处|落实|"
        r"拆除|清理|维修|退还|补发|办理|调解|停止)",
        r"下一步",
        r"\b(?:we|the bureau|the office) (?:have |has )?(?:decided|decide|conclude|concluded|"
        r"consider|recommend|will|shall|cannot|can not|agree|refuse|uphold|upheld)\b",
        r"\b(?:our|the) (?:opinion|decision|conclusion)\b",
        r"\b(?:is|are|was|were) (?:not )?(?:supported|upheld|granted|refused|rejected|dismissed)\b",
    ),
    "legal_basis": (
        rf"(?:根据|依据|依照|按照|遵照|参照|据){_S}{{0,20}}?{_INSTRUMENT}",
        _INSTRUMENT,
        rf"第{_NUM}条",
        # "根据有关规定", "按照…的规定": a rule named only vaguely still counts as a basis
        rf"(?:根据|依据|依照|按照|遵照){_S}{{0,30}}?(?:规定|法律|法规|政策规定|文件精神)",
        r"\b(?:under|pursuant to|in accordance with|according to|as required by|as provided by)"
        r" (?:the )?(?:[A-Z][\w'-]*[ ,]*){1,8}(?:Act|Law|Regulations?|Rules?|Code|Ordinance|"
        r"Measures)\b",
        r"\b(?:Article|Art\.|Section|Sec\.|§)\s*\d+",
    ),
}
_COMPILED = {k: tuple(re.compile(p, re.IGNORECASE) for p in v) for k, v in ELEMENT_PATTERNS.items()}
EVIDENCE_CONTEXT = 24  # characters shown either side of a match


@dataclass(frozen=True)
class ElementCheck:
    element: str
    present: bool
    evidence: str  # the matched text with some context, "" when absent


@dataclass(frozen=True)
class OpinionCheck:
    elements: tuple[ElementCheck, ...]

    @property
    def complete(self) -> bool:
        return all(e.present for e in self.elements)

    @property
    def missing(self) -> list[str]:
        return [e.element for e in self.elements if not e.present]

    def as_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "elements": [
                {"element": e.element, "present": e.present, "evidence": e.evidence}
                for e in self.elements
            ],
            "missing": self.missing,
        }


def _squeeze(text: str) -> str:
    """Whitespace runs (the scraped padding of the test bed, full-width spaces) to one space; the
    rest as written, so that evidence quotes the draft exactly."""
    return re.sub(r"\s+", " ", text).strip()


def _normalise(text: str) -> str:
    """For retrieval: full-width letters, digits and punctuation as ASCII, whitespace squeezed."""
    return _squeeze(unicodedata.normalize("NFKC", text))


def _evidence(text: str, match: re.Match[str]) -> str:
    start = max(0, match.start() - EVIDENCE_CONTEXT)
    end = min(len(text), match.end() + EVIDENCE_CONTEXT)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def find_element(text: str, element: str) -> str:
    """The evidence of `element` in (normalised) `text`, or "" when no pattern matches."""
    for pattern in _COMPILED[element]:
        match = pattern.search(text)
        if match:
            return _evidence(text, match)
    return ""


def check_opinion(text: str) -> OpinionCheck:
    """Which of the four elements of Art. 32 the draft `text` shows, with evidence."""
    clean = _squeeze(text)
    found = [(element, find_element(clean, element)) for element in ELEMENTS]
    return OpinionCheck(tuple(ElementCheck(e, bool(ev), ev) for e, ev in found))


def check_notice_fields(
    *, request: str, facts_found: str, opinion: str, legal_basis: str
) -> OpinionCheck:
    """The check of an opinion notice, whose form has a field per element: an element is present
    when its field has text (the notice prints each under its own heading); the evidence is the
    field's beginning."""

    def field_check(element: str, value: str) -> ElementCheck:
        clean = _squeeze(value)
        snippet = clean[: 2 * EVIDENCE_CONTEXT] + ("…" if len(clean) > 2 * EVIDENCE_CONTEXT else "")
        return ElementCheck(element, bool(clean), snippet)

    return OpinionCheck(
        (
            field_check("request", request),
            field_check("facts", facts_found),
            field_check("opinion", opinion),
            field_check("legal_basis", legal_basis),
        )
    )


# --- the retrieval model (pure) -----------------------------------------------------------------

NGRAMS = (1, 2)  # character n-grams: no word segmentation, robust to typos (bench/replies.py)
MIN_DF = 2  # a term must occur in two cases (from 1,000 fitted cases on)
MAX_FEATURES = 500_000
QUERY_TERMS = 96  # a query keeps its heaviest terms: rare n-grams decide, common ones cost
DOC_TERMS = 160  # so does a case: the model's size (and a query's time) grow with its terms
REFIT_FRACTION = 0.2  # refit once the cases added since the fit exceed this share of the fitted
FILE_FORMAT = 1  # of index.npz; a file of another format is fitted anew
_BASE = 0x110000  # code points: an n-gram is the number with its characters as base-_BASE digits


def case_text(title: str, content: str) -> str:
    return _normalise(f"{title} {content}").lower()


def ngram_keys(text: str) -> np.ndarray:
    """The character n-grams of `text` (spaces excluded) as int64 numbers: an n-gram of
    characters c1…cn is sum(ci·BASE^(n-i)), so n-grams of different lengths never collide (code
    points are ≥ 1) and a 3-gram still fits in int64. Vectorised: sklearn's char analyzer builds
    a Python string per n-gram, several times slower (docs/intelligence.md)."""
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    cps[cps == 0] = 1
    parts = []
    for n in range(NGRAMS[0], NGRAMS[1] + 1):
        if len(cps) < n:
            break
        keys = np.zeros(len(cps) - n + 1, dtype=np.int64)
        blank = np.zeros(len(keys), dtype=bool)
        for i in range(n):
            window = cps[i : len(cps) - n + 1 + i]
            keys = keys * _BASE + window
            blank |= window == 32
        parts.append(keys[~blank])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _counts(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, key, count) of every distinct n-gram of every text."""
    rows, keys, counts = [], [], []
    for i, text in enumerate(texts):
        k, c = np.unique(ngram_keys(text), return_counts=True)
        rows.append(np.full(len(k), i, dtype=np.int64))
        keys.append(k)
        counts.append(c)
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(rows), np.concatenate(keys), np.concatenate(counts)


def _weigh(
    rows: np.ndarray, columns: np.ndarray, counts: np.ndarray, n_rows: int, idf: np.ndarray
) -> sp.csr_matrix:
    """Sublinear tf × idf, each row cut to its `DOC_TERMS` heaviest terms and scaled to unit
    length (so a dot product is the cosine)."""
    values = (np.log1p(counts) * idf[columns]).astype(np.float32)
    if len(values):
        # By row, heaviest first within a row: one sort of row + (1 - weight/(max + 1)), a float
        # key with the row in its integer part (lexsort of the two is several times slower).
        order = np.argsort(rows + (1.0 - values / (float(values.max()) + 1.0)))
        rows, columns, values = rows[order], columns[order], values[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
        keep = rank < DOC_TERMS
        rows, columns, values = rows[keep], columns[keep], values[keep]
    norms = np.sqrt(np.bincount(rows, weights=values.astype(np.float64) ** 2, minlength=n_rows))
    norms[norms == 0] = 1.0
    values = (values / norms[rows]).astype(np.float32)
    return sp.csr_matrix((values, (rows, columns)), shape=(n_rows, len(idf)), dtype=np.float32)


@dataclass
class ReplyIndex:
    """TF-IDF rows of answered cases. `terms` are the n-gram keys (sorted), `case_ids[i]` is row
    i's case, `event_ids[i]` the opinion event it was indexed for. The matrix is kept column-major
    only: a query reads the columns of its terms, and one copy is what a web process holds."""

    terms: np.ndarray
    idf: np.ndarray
    matrix: sp.csc_matrix
    case_ids: np.ndarray
    event_ids: np.ndarray
    fitted_rows: int  # rows at the last fit (the idf and the terms are theirs)
    last_event_id: int = 0
    built_at: float = field(default_factory=time.time)

    @classmethod
    def fit(
        cls, texts: Sequence[str], case_ids: Sequence[int], event_ids: Sequence[int]
    ) -> ReplyIndex:
        n = len(texts)
        rows, keys, counts = _counts(texts)
        vocabulary, inverse, df = np.unique(keys, return_inverse=True, return_counts=True)
        keep = df >= (MIN_DF if n >= 1000 else 1)
        if keep.sum() > MAX_FEATURES:  # the most frequent terms
            keep &= df >= np.sort(df[keep])[-MAX_FEATURES]
        new_index = np.cumsum(keep) - 1
        kept = keep[inverse]
        idf = (np.log((1 + n) / (1 + df[keep])) + 1).astype(np.float32)
        return cls(
            terms=vocabulary[keep],
            idf=idf,
            matrix=_weigh(rows[kept], new_index[inverse[kept]], counts[kept], n, idf).tocsc(),
            case_ids=np.asarray(case_ids, dtype=np.int64),
            event_ids=np.asarray(event_ids, dtype=np.int64),
            fitted_rows=n,
            last_event_id=int(max(event_ids, default=0)),
        )

    def __len__(self) -> int:
        return int(self.case_ids.shape[0])

    def vectorize(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Rows for `texts` with the fitted terms and idf (unknown n-grams are dropped)."""
        rows, keys, counts = _counts(texts)
        if not len(self.terms):
            return sp.csr_matrix((len(texts), 0), dtype=np.float32)
        at = np.minimum(np.searchsorted(self.terms, keys), len(self.terms) - 1)
        known = self.terms[at] == keys
        return _weigh(rows[known], at[known], counts[known], len(texts), self.idf)

    def add(self, texts: Sequence[str], case_ids: Sequence[int], event_ids: Sequence[int]) -> None:
        """Append rows with the fitted terms and idf (new terms wait for the next fit); a case
        already indexed keeps its row."""
        known = set(self.case_ids.tolist())
        keep = [i for i, c in enumerate(case_ids) if c not in known]
        if len(event_ids):
            self.last_event_id = max(self.last_event_id, int(max(event_ids)))
        if not keep:
            return
        rows = self.vectorize([texts[i] for i in keep])
        self.matrix = sp.csc_matrix(sp.vstack([self.matrix, rows]))
        self.case_ids = np.concatenate([self.case_ids, [case_ids[i] for i in keep]]).astype(
            np.int64
        )
        self.event_ids = np.concatenate([self.event_ids, [event_ids[i] for i in keep]]).astype(
            np.int64
        )

    def needs_refit(self) -> bool:
        return len(self) - self.fitted_rows > REFIT_FRACTION * max(self.fitted_rows, 1)

    def scores(self, text: str) -> np.ndarray:
        """Cosine similarity of `text` with every row, over the query's `QUERY_TERMS` heaviest
        terms (the frequent characters, light by their idf, are what would cost: their posting
        lists span most rows). Reads only those terms' columns."""
        scores = np.zeros(len(self), dtype=np.float32)
        if not len(self) or not len(self.terms):
            return scores
        query = self.vectorize([text])
        if query.nnz == 0:
            return scores
        weights, columns = query.data, query.indices
        if len(weights) > QUERY_TERMS:
            heaviest = np.argpartition(-weights, QUERY_TERMS)[:QUERY_TERMS]
            weights, columns = weights[heaviest], columns[heaviest]
            weights = weights / np.linalg.norm(weights)  # the cosine with the shortened query
        m = self.matrix
        starts, ends = m.indptr[columns], m.indptr[columns + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return scores
        # The positions of every posting of the chosen columns, without a Python loop.
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = offsets + np.arange(total)
        values = m.data[positions] * np.repeat(weights, lengths)
        return np.bincount(m.indices[positions], weights=values, minlength=len(self)).astype(
            np.float32
        )

    def ranked(self, text: str, *, exclude: Iterable[int] = ()) -> Iterator[tuple[int, float]]:
        """(case id, score) best first, positive scores only, without the cases `exclude`."""
        scores = self.scores(text)
        positive = np.flatnonzero(scores > 0)
        if len(positive) > 2000:  # sorting every match costs more than the query at 100k rows
            positive = positive[np.argpartition(-scores[positive], 2000)[:2000]]
        order = positive[np.argsort(-scores[positive], kind="stable")]
        skip = set(exclude)
        for row in order:
            case_id = int(self.case_ids[row])
            if case_id not in skip:
                yield case_id, float(scores[row])

    def top(
        self,
        text: str,
        k: int,
        *,
        exclude: Iterable[int] = (),
        allowed: Callable[[list[int]], set[int]] | None = None,
    ) -> list[tuple[int, float]]:
        """The k best cases; with `allowed` (ids → the subset one may see), asked in growing
        batches, so a user who sees few cases costs a few more queries, not a scan of all ids."""
        if allowed is None:
            out = []
            for hit in self.ranked(text, exclude=exclude):
                out.append(hit)
                if len(out) == k:
                    break
            return out
        found: list[tuple[int, float]] = []
        batch: list[tuple[int, float]] = []
        size = max(4 * k, 20)
        for hit in self.ranked(text, exclude=exclude):
            batch.append(hit)
            if len(batch) >= size:
                found += _filtered(batch, allowed)
                if len(found) >= k:
                    return found[:k]
                batch, size = [], size * 4
        found += _filtered(batch, allowed)
        return found[:k]

    # Persistence: one .npz (no pickle), written to a temporary file and renamed into place, so a
    # reader never sees half a file.
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        os.close(fd)
        try:
            m = self.matrix
            np.savez(
                tmp,
                format=np.asarray([FILE_FORMAT], dtype=np.int64),
                ngrams=np.asarray(NGRAMS, dtype=np.int64),
                terms=self.terms,
                idf=self.idf,
                data=m.data,
                indices=m.indices,
                indptr=m.indptr,
                shape=np.asarray(m.shape, dtype=np.int64),
                case_ids=self.case_ids,
                event_ids=self.event_ids,
                meta=np.asarray(
                    [self.fitted_rows, self.last_event_id, int(self.built_at)], dtype=np.int64
                ),
            )
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: Path) -> ReplyIndex | None:
        """The model in `path`; None if it was made in another format or with other n-grams (it
        must be fitted anew)."""
        with np.load(path, allow_pickle=False) as f:
            if "format" not in f.files or int(f["format"][0]) != FILE_FORMAT:
                return None
            if tuple(f["ngrams"].tolist()) != NGRAMS:
                return None
            fitted_rows, last_event_id, built_at = (int(v) for v in f["meta"])
            return cls(
                terms=f["terms"],
                idf=f["idf"],
                matrix=sp.csc_matrix(
                    (f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"])
                ),
                case_ids=f["case_ids"],
                event_ids=f["event_ids"],
                fitted_rows=fitted_rows,
                last_event_id=last_event_id,
                built_at=float(built_at),
            )


def _filtered(
    batch: list[tuple[int, float]], allowed: Callable[[list[int]], set[int]]
) -> list[tuple[int, float]]:
    if not batch:
        return []
    ok = allowed([c for c, _s in batch])
    return [(c, s) for c, s in batch if c in ok]


# --- the model file -----------------------------------------------------------------------------


def index_path() -> Path:
    return Path(settings.DATA_DIR) / "models" / "replies" / "index.npz"


_loaded: dict[Path, tuple[int, ReplyIndex | None]] = {}
_load_lock = threading.Lock()


def load_index() -> ReplyIndex | None:
    """The model as last written by `refresh`, read again only when the file changed (one stat a
    call); None before the first refresh (or after a change of `NGRAMS`, until the next)."""
    path = index_path()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    with _load_lock:
        cached = _loaded.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
        index = ReplyIndex.load(path)
        _loaded[path] = (stamp, index)
        return index


# --- the database side --------------------------------------------------------------------------

OPINION_VERBS = ("reply", "decide_review", "decide_rereview")


def _answered_rows(after_event_id: int) -> list[tuple[int, int]]:
    """(event id, case id) of the opinion events after `after_event_id`, the latest per case."""
    from petitiondesk.cases.models import CaseEvent

    latest: dict[int, int] = {}
    rows = (
        CaseEvent.objects.filter(verb__in=OPINION_VERBS, id__gt=after_event_id)
        .order_by("id")
        .values_list("id", "case_id")
    )
    for event_id, case_id in rows.iterator(chunk_size=5000):
        latest[case_id] = event_id
    return [(e, c) for c, e in latest.items()]


def _texts(case_ids: list[int]) -> dict[int, str]:
    from petitiondesk.cases.models import Case

    out: dict[int, str] = {}
    for start in range(0, len(case_ids), 2000):  # bounded IN lists
        chunk = case_ids[start : start + 2000]
        for pk, title, content in Case.objects.filter(pk__in=chunk).values_list(
            "pk", "title", "content"
        ):
            out[pk] = case_text(title, content)
    return out


@dataclass(frozen=True)
class RefreshResult:
    action: str  # "fit", "add", "none", or "queued" (a refit task was enqueued, no model yet)
    cases: int  # rows in the model afterwards
    added: int
    seconds: float


INLINE_FIT_MAX = 5_000  # answered cases the scheduler fits itself (seconds); more: a task
REFIT_RETRY_SECONDS = 3600  # a requested refit is requested again after this long


def _stored_index() -> ReplyIndex | None:
    """The model file as stored, a private copy (the cached one is being read by requests), or
    None when there is none or the database no longer has the events it was built from."""
    from petitiondesk.cases.models import CaseEvent

    path = index_path()
    if not path.exists():
        return None
    index = ReplyIndex.load(path)
    if index is not None and index.last_event_id:
        newest = (
            CaseEvent.objects.filter(verb__in=OPINION_VERBS)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        if (newest or 0) < index.last_event_id:
            return None  # the database was reset or restored under the file: start again
    return index


def _answered_count() -> int:
    from petitiondesk.cases.models import CaseEvent

    return CaseEvent.objects.filter(verb__in=OPINION_VERBS).values("case_id").distinct().count()


def _fit_all() -> ReplyIndex:
    everything = _answered_rows(0)
    texts = _texts([c for _e, c in everything])
    everything = [(e, c) for e, c in everything if c in texts]
    return ReplyIndex.fit(
        [texts[c] for _e, c in everything],
        [c for _e, c in everything],
        [e for e, _c in everything],
    )


def _refit_marker() -> Path:
    return index_path().with_name("refit-requested")


def _request_refit() -> bool:
    """Enqueue `refit_task` unless one was requested within `REFIT_RETRY_SECONDS`."""
    marker = _refit_marker()
    try:
        if time.time() - marker.stat().st_mtime < REFIT_RETRY_SECONDS:
            return False
    except FileNotFoundError:
        pass
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    refit_task.enqueue()
    return True


def refresh(*, full: bool = False) -> RefreshResult:
    """Bring the model file up to date with the answered cases; called by the scheduler every
    sweep (core/background.py). Cheap when nothing was answered since the last call (one indexed
    query on the events). New answers are appended with the fitted terms and idf. The model is
    fitted afresh when `full`, when there is none, when the cases added since the fit exceed
    `REFIT_FRACTION` of the fitted ones, or when the database no longer has the events the file
    was built from: by this call up to `INLINE_FIT_MAX` answered cases, else by `refit_task` in a
    worker (a fit of 100,000 cases takes minutes, which the scheduler's sweeps must not wait)."""
    started = time.monotonic()
    path = index_path()
    index = None if full else _stored_index()
    added = 0
    if index is not None:
        rows = _answered_rows(index.last_event_id)
        if not rows:
            return RefreshResult("none", len(index), 0, time.monotonic() - started)
        texts = _texts([c for _e, c in rows])
        rows = [(e, c) for e, c in rows if c in texts]
        index.add([texts[c] for _e, c in rows], [c for _e, c in rows], [e for e, _c in rows])
        added = len(rows)
    if index is None or index.needs_refit():
        if full or _answered_count() <= INLINE_FIT_MAX:
            index = _fit_all()
            index.save(path)
            _refit_marker().unlink(missing_ok=True)
            return _done("fit", index, len(index), started)
        _request_refit()
        if index is None:
            return RefreshResult("queued", 0, 0, time.monotonic() - started)
    index.save(path)
    return _done("add", index, added, started)


def _done(action: str, index: ReplyIndex, added: int, started: float) -> RefreshResult:
    result = RefreshResult(action, len(index), added, time.monotonic() - started)
    log.info(
        "reply index %s: %d cases (%d new) in %.2fs", action, len(index), added, result.seconds
    )
    return result


@task()
def refit_task() -> str:
    """A full refit of the similar-replies model, in a worker."""
    result = refresh(full=True)
    return f"{result.action}: {result.cases} cases in {result.seconds:.1f} s"


@dataclass(frozen=True)
class SimilarReply:
    case_id: int
    tracking_number: str
    title: str
    score: float
    verb: str  # reply, decide_review, decide_rereview
    outcome: str
    outcome_label: str
    replied_on: dt.date
    org: str
    opinion: str


@dataclass(frozen=True)
class SimilarReplies:
    results: list[SimilarReply]
    indexed: int | None  # cases in the model; None when it has not been built yet
    built_at: dt.datetime | None


def similar_replies(*, user: Any, case: Any, k: int = 5) -> SimilarReplies:
    """The k answered cases most like `case` (title and content) among those `user` may see, each
    with its latest opinion. Reads of sensitive cases (confidential, accusations) shown here are
    recorded like any other read of their contents (security.md)."""
    from petitiondesk.cases.models import Case, CaseEvent, ReadAudit
    from petitiondesk.cases.selectors import is_sensitive, visible_cases

    index = load_index()
    if index is None:
        return SimilarReplies([], None, None)

    def allowed(ids: list[int]) -> set[int]:
        return set(visible_cases(user).filter(pk__in=ids).values_list("pk", flat=True))

    hits = index.top(case_text(case.title, case.content), k, exclude=[case.pk], allowed=allowed)
    scores = dict(hits)
    latest: dict[int, CaseEvent] = {}
    events = (
        CaseEvent.objects.filter(case_id__in=scores, verb__in=OPINION_VERBS)
        .select_related("case", "case__handled_by_org", "actor_org")
        .order_by("id")
    )
    for opinion_event in events:
        latest[opinion_event.case_id] = opinion_event
    results = []
    for case_id, score in hits:
        event = latest.get(case_id)
        if event is None:  # no longer answered (the file is older than a database restore)
            continue
        found: Case = event.case
        if is_sensitive(found):
            ReadAudit.objects.create(
                case=found, user=user, org_id=user.org_id, view="routing.similar_replies"
            )
        org = event.actor_org or found.handled_by_org
        outcome = event.payload.get("outcome", "")
        results.append(
            SimilarReply(
                case_id=case_id,
                tracking_number=found.tracking_number,
                title=found.title,
                score=round(score, 4),
                verb=event.verb,
                outcome=outcome,
                outcome_label=str(Case.Outcome(outcome).label)
                if outcome in Case.Outcome.values
                else outcome,
                replied_on=event.effective_on,
                org=org.name if org else "",
                opinion=event.payload.get("opinion", ""),
            )
        )
    return SimilarReplies(
        results,
        len(index),
        dt.datetime.fromtimestamp(index.built_at, tz=dt.UTC),
    )


def opinion_of(case: Any, verb: str) -> str:
    """The text of the case's latest `verb` opinion ("" if none): what an opinion notice prints."""
    from petitiondesk.cases.models import CaseEvent

    event = CaseEvent.objects.filter(case=case, verb=verb).order_by("-id").first()
    return str(event.payload.get("opinion", "")) if event else ""
