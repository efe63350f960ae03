"""Text classifiers for routing: category, topic and organ from a petition's title and content.

The recipe (docs/intelligence.md "Classifiers"), chosen for a few hundred labelled texts:

- every text field (title, body, ...) gets its own character 1-3-gram TF-IDF and its own word
  TF-IDF (jieba words for Chinese, plain words otherwise), so the short title is not drowned by
  the body; vocabulary and IDF may also be fitted on unlabelled texts (no labels involved);
- optional keyword evidence from a taxonomy (class -> words, e.g. the topic tree): per class, the
  log count of its keywords found in the title and in the body;
- a class-balanced linear SVM; confidences are a softmax of its scores with one temperature fitted
  on cross-validated scores, so they are calibrated without changing the predicted label.

Pure functions and plain objects: no database access except in `train_from_history`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

RANDOM_STATE = 0
MIN_ROWS = 20  # fewer labelled texts than this cannot train anything useful
SVM_C = 1.0
# The keyword block's weight against the L2-normalised n-gram blocks; fixed before the final
# cross-validation (docs/intelligence.md tells how it was chosen).
TAXONOMY_WEIGHT = 0.1
TITLE_FIELD_WEIGHT = 1.0
# With a weight > 0, every taxonomy keyword of a labelled class also trains as a tiny document of
# that class, with this sample weight. Off by default: +0.01 macro-F1 on TipDM, below the 0.90
# bar set for changing the recipe (docs/intelligence.md, "Classifiers").
TAXONOMY_DOC_WEIGHT = 0.0

_CJK = re.compile(r"[\u3400-\u9fff]")
_SPACE = re.compile(r"\s+")
# Scraped cells carry Excel's escaped carriage returns.
_EXCEL_ESCAPE = re.compile(r"_x000[dDaA]_")


class TrainingError(ValueError):
    """The data cannot train a model (too few rows, a single class, empty texts)."""


def clean(text: object) -> str:
    """Normalise one cell: NFKC, Excel escapes and runs of whitespace removed."""
    if text is None:
        return ""
    value = unicodedata.normalize("NFKC", str(text))
    value = _EXCEL_ESCAPE.sub(" ", value)
    return _SPACE.sub(" ", value).strip()


def row_from_text(text: str, fields: int) -> list[str]:
    """One text as a model's fields: the first line is the title, the rest the body; a one-line
    text fills every field (it is both a title and the whole content)."""
    title, newline, body = text.partition("\n")
    if fields == 1:
        return [clean(text)]
    if not newline:
        return [clean(text)] * fields
    return [clean(title), clean(body)] + [""] * (fields - 2)


def words(text: str) -> tuple[str, ...]:
    """Word tokens: jieba for text with Chinese characters, lower-cased word characters else."""
    return _words(text)


@functools.lru_cache(maxsize=1 << 15)
def _words(text: str) -> tuple[str, ...]:
    # Cached: cross-validation and calibration tokenise the same texts once per fit.
    if _CJK.search(text):
        return tuple(w for w in _jieba().lcut(text) if any(ch.isalnum() for ch in w))
    return tuple(re.findall(r"\w\w+", text.lower()))


_JIEBA: Any = None


def _jieba() -> Any:
    global _JIEBA
    if _JIEBA is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _JIEBA = jieba
    return _JIEBA


def taxonomy_keywords(paths: Iterable[Sequence[str]]) -> dict[str, list[str]]:
    """Keywords per top-level class from taxonomy paths (top, level 2, level 3, ...): every deeper
    name and its words of two or more characters. "其他"/"other" carries no evidence."""
    found: dict[str, set[str]] = {}
    for path in paths:
        names = [clean(p) for p in path if clean(p)]
        if not names:
            continue
        bag = found.setdefault(names[0], set())
        for name in names[1:]:
            if name.lower() in ("其他", "other", "others"):
                continue
            bag.add(name.lower())
            bag.update(w.lower() for w in words(name) if len(w) >= 2 and w != "其他")
    return {top: sorted(bag) for top, bag in found.items() if bag}


class KeywordEvidence:
    """Per taxonomy class, log(1 + number of its keywords occurring in the text)."""

    def __init__(self, keywords: Mapping[str, Sequence[str]]) -> None:
        self.classes = sorted(keywords)
        self.keywords = [tuple(keywords[c]) for c in self.classes]

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.classes)))
        for i, text in enumerate(texts):
            low = text.lower()
            for j, bag in enumerate(self.keywords):
                out[i, j] = sum(1 for w in bag if w in low)
        return np.log1p(out)


def _vectorizer(kind: str) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    if kind == "char":
        return TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, lowercase=True
        )
    return TfidfVectorizer(analyzer=words, min_df=2, sublinear_tf=True, lowercase=False)


@dataclass
class TextClassifier:
    """A fitted classifier over one or more text fields (the first one weighted as the title)."""

    fields: int = 1
    taxonomy: dict[str, list[str]] | None = None
    svm_c: float = SVM_C
    taxonomy_weight: float = TAXONOMY_WEIGHT
    taxonomy_doc_weight: float = TAXONOMY_DOC_WEIGHT
    classes_: list[str] = field(default_factory=list)
    temperature_: float = 1.0
    _vectorizers: list[tuple[int, Any]] = field(default_factory=list, repr=False)
    _evidence: KeywordEvidence | None = field(default=None, repr=False)
    _svm: Any = field(default=None, repr=False)

    def fit(
        self,
        rows: Sequence[Sequence[str]],
        labels: Sequence[str],
        *,
        unlabelled: Sequence[Sequence[str]] = (),
        calibrate: bool = True,
    ) -> TextClassifier:
        """Fit on `rows` (one string per field) and their labels. `unlabelled` rows only widen
        the vocabulary and the IDF. The caller checks there are enough rows (`check_trainable`):
        cross-validation fits on folds smaller than that."""
        if len(set(labels)) < 2:
            raise TrainingError("all texts have the same label; at least two classes are needed")
        self._vectorizers = []
        for f in range(self.fields):
            corpus = [r[f] for r in rows] + [r[f] for r in unlabelled]
            for kind in ("char", "word"):
                vec = _vectorizer(kind)
                try:
                    vec.fit(corpus)
                except ValueError:  # an empty vocabulary: the field is (nearly) always blank
                    continue
                self._vectorizers.append((f, vec))
        if not self._vectorizers:
            raise TrainingError("the texts are empty")
        self._evidence = KeywordEvidence(self.taxonomy) if self.taxonomy else None
        x = self._features(rows)
        y = np.asarray(labels)
        x_docs, y_docs = self._taxonomy_documents(set(labels))
        if len(y_docs):
            weights = np.concatenate(
                [np.ones(len(y)), np.full(len(y_docs), self.taxonomy_doc_weight)]
            )
            self._svm = _svm(self.svm_c).fit(
                sparse.vstack([x, x_docs]).tocsr(),
                np.concatenate([y, y_docs]),
                sample_weight=weights,
            )
        else:
            self._svm = _svm(self.svm_c).fit(x, y)
        self.classes_ = [str(c) for c in self._svm.classes_]
        self.temperature_ = (
            _fit_temperature(x, y, self.svm_c, (x_docs, y_docs, self.taxonomy_doc_weight))
            if calibrate
            else 1.0
        )
        return self

    def _taxonomy_documents(self, labels: set[str]) -> tuple[Any, np.ndarray]:
        """Each keyword of a taxonomy class that is also a label, as a document of that class (in
        every field): it teaches the SVM words the few labelled texts never used."""
        if not self.taxonomy or self.taxonomy_doc_weight <= 0:
            return None, np.asarray([])
        docs = [
            (word, top)
            for top in sorted(labels & set(self.taxonomy))
            for word in self.taxonomy[top]
        ]
        if not docs:
            return None, np.asarray([])
        return self._features([[word] * self.fields for word, _ in docs]), np.asarray(
            [top for _, top in docs]
        )

    def _features(self, rows: Sequence[Sequence[str]]) -> Any:
        from sklearn.preprocessing import normalize

        blocks = []
        for f, vec in self._vectorizers:
            weight = TITLE_FIELD_WEIGHT if f == 0 else 1.0
            blocks.append(vec.transform([r[f] for r in rows]) * weight)
        x = normalize(sparse.hstack(blocks).tocsr())
        if self._evidence is not None:
            title = [r[0] for r in rows]
            rest = [" ".join(r[1:]) for r in rows]
            ev = np.hstack([self._evidence.transform(title), self._evidence.transform(rest)])
            x = sparse.hstack([x, sparse.csr_matrix(ev * self.taxonomy_weight)]).tocsr()
        return x

    def scores(self, rows: Sequence[Sequence[str]]) -> np.ndarray:
        import sklearn

        # The inputs are our own matrices: skip sklearn's per-call validation (a third of the
        # time of one prediction).
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            s = self._svm.decision_function(self._features(rows))
        if s.ndim == 1:  # two classes: one column, positive means classes_[1]
            s = np.column_stack([-s, s])
        return np.asarray(s)

    def predict(self, rows: Sequence[Sequence[str]]) -> list[str]:
        best = self.scores(rows).argmax(axis=1)
        return [self.classes_[i] for i in best]

    def predict_proba(self, rows: Sequence[Sequence[str]]) -> np.ndarray:
        return _softmax(self.scores(rows) * self.temperature_)

    def predict_top(self, row: Sequence[str], k: int = 3) -> list[tuple[str, float]]:
        proba = self.predict_proba([row])[0]
        order = np.argsort(-proba)[:k]
        return [(self.classes_[i], float(proba[i])) for i in order]


def _svm(c: float) -> Any:
    from sklearn.svm import LinearSVC

    return LinearSVC(C=c, class_weight="balanced", random_state=RANDOM_STATE)


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _fit_temperature(
    x: Any, y: np.ndarray, c: float, docs: tuple[Any, np.ndarray, float] | None = None
) -> float:
    """The softmax temperature minimising the log loss of 3-fold out-of-fold SVM scores; `docs`
    (taxonomy documents, labels, weight) join every training fold as in the final fit."""
    from sklearn.model_selection import StratifiedKFold

    folds = min(3, min(Counter(y.tolist()).values()))
    if folds < 2:
        return 1.0
    classes = np.unique(y)
    oof = np.zeros((len(y), len(classes)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=RANDOM_STATE).split(x, y):
        if docs is not None and len(docs[1]):
            x_docs, y_docs, weight = docs
            weights = np.concatenate([np.ones(len(train)), np.full(len(y_docs), weight)])
            svm = _svm(c).fit(
                sparse.vstack([x[train], x_docs]).tocsr(),
                np.concatenate([y[train], y_docs]),
                sample_weight=weights,
            )
        else:
            svm = _svm(c).fit(x[train], y[train])
        s = svm.decision_function(x[test])
        if s.ndim == 1:
            s = np.column_stack([-s, s])
        # A class absent from a training fold gets no score: keep it at the minimum.
        full = np.full((len(test), len(classes)), s.min() - 1.0)
        full[:, np.searchsorted(classes, svm.classes_)] = s
        oof[test] = full
    target = np.searchsorted(classes, y)
    best, best_loss = 1.0, math.inf
    for t in np.geomspace(0.3, 30, 60):
        p = _softmax(oof * t)[np.arange(len(y)), target]
        loss = float(-np.log(np.clip(p, 1e-12, None)).mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def check_trainable(labels: Sequence[str]) -> None:
    counts = Counter(labels)
    if len(labels) < MIN_ROWS:
        raise TrainingError(f"only {len(labels)} labelled texts; at least {MIN_ROWS} are needed")
    if len(counts) < 2:
        raise TrainingError("all texts have the same label; at least two classes are needed")


# --- evaluation ---------------------------------------------------------------------------------


@dataclass
class Evaluation:
    accuracy: float
    macro_f1: float
    accuracy_std: float = 0.0
    macro_f1_std: float = 0.0
    folds: int = 0
    repeats: int = 0
    rows: int = 0
    report: str = ""
    labels: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "rows": self.rows,
        }
        if self.folds:
            out |= {
                "accuracy_std": round(self.accuracy_std, 4),
                "macro_f1_std": round(self.macro_f1_std, 4),
                "folds": self.folds,
                "repeats": self.repeats,
            }
        out |= {"labels": self.labels, "confusion": self.confusion}
        return out


def score(truth: Sequence[str], predicted: Sequence[str]) -> Evaluation:
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

    labels = sorted(set(truth) | set(predicted))
    return Evaluation(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, average="macro", labels=sorted(set(truth)))),
        rows=len(truth),
        report=str(classification_report(truth, predicted, digits=3, zero_division=0)),
        labels=labels,
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
    )


def cross_validate(
    rows: Sequence[Sequence[str]],
    labels: Sequence[str],
    *,
    make: Callable[[], TextClassifier],
    folds: int = 5,
    repeats: int = 5,
    unlabelled: Sequence[Sequence[str]] = (),
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Stratified repeated k-fold of the whole recipe: everything learned from labels is fitted on
    the training folds only. The report and confusion matrix add up every repeat's test folds."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import RepeatedStratifiedKFold

    check_trainable(labels)
    smallest = min(Counter(labels).values())
    if smallest < folds:
        raise TrainingError(
            f"the smallest class has {smallest} texts; {folds}-fold cross-validation needs {folds}"
        )
    y = np.asarray(labels)
    f1s: list[float] = []
    accs: list[float] = []
    truth: list[str] = []
    predicted: list[str] = []
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=RANDOM_STATE)
    for n, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
        model = make().fit(
            [rows[i] for i in train], y[train].tolist(), unlabelled=unlabelled, calibrate=False
        )
        pred = model.predict([rows[i] for i in test])
        f1s.append(float(f1_score(y[test], pred, average="macro")))
        accs.append(float(accuracy_score(y[test], pred)))
        truth.extend(y[test].tolist())
        predicted.extend(pred)
        if progress:
            progress(f"fold {n}/{folds * repeats}: macro-F1 {f1s[-1]:.3f}")
    pooled = score(truth, predicted)
    return Evaluation(
        accuracy=float(np.mean(accs)),
        macro_f1=float(np.mean(f1s)),
        accuracy_std=float(np.std(accs)),
        macro_f1_std=float(np.std(f1s)),
        folds=folds,
        repeats=repeats,
        rows=len(y),
        report=pooled.report,
        labels=pooled.labels,
        confusion=pooled.confusion,
    )


# --- training from the deployment's own cases ---------------------------------------------------

HISTORY_NAMES = ("category", "topic", "org")


def history_examples(name: str) -> tuple[list[list[str]], list[str]]:
    """(rows of [title, content], labels) from the decided cases: `Case.category`, `Case.topic`,
    or for `org` the organ of each case's first routing (the `to_org` of its first route event)."""
    from petitiondesk.cases.models import Case, CaseEvent

    if name not in HISTORY_NAMES:
        raise TrainingError(f"unknown history model {name!r}; choose {', '.join(HISTORY_NAMES)}")
    rows: list[list[str]] = []
    labels: list[str] = []
    if name == "org":
        first_route: dict[int, str] = {}
        routes = CaseEvent.objects.filter(verb="route").order_by("case_id", "created_at", "id")
        for case_id, payload in routes.values_list("case_id", "payload").iterator():
            org = (payload or {}).get("to_org")
            if org and case_id not in first_route:
                first_route[case_id] = str(org)
        cases = Case.objects.filter(pk__in=list(first_route)).order_by("pk")
        for pk, title, content in cases.values_list("pk", "title", "content").iterator():
            rows.append([clean(title), clean(content)])
            labels.append(first_route[pk])
        return rows, labels
    column = "category" if name == "category" else "topic"
    cases = Case.objects.exclude(**{column: ""}).order_by("pk")
    for title, content, label in cases.values_list("title", "content", column).iterator():
        rows.append([clean(title), clean(content)])
        labels.append(str(label))
    return rows, labels


def topic_taxonomy() -> dict[str, list[str]]:
    """Keywords per first-level topic from the deployment's topic tree (`petitiondesk topics
    load`): the names below it. {} when the tree has one level only."""
    from petitiondesk.reference.models import Topic

    by_pk = {
        pk: (name, parent)
        for pk, name, parent in Topic.objects.values_list("pk", "name", "parent_id")
    }
    paths: list[list[str]] = []
    for name, parent in by_pk.values():
        path = [name]
        while parent is not None and parent in by_pk and len(path) < 10:
            path.insert(0, by_pk[parent][0])
            parent = by_pk[parent][1]
        paths.append(path)
    return taxonomy_keywords(paths)


def train_from_history(name: str, *, progress: Callable[[str], None] | None = None) -> dict:
    """Train the model `name` (category, topic or org) from the deployment's own cases and store
    it as the current version; returns its meta. Raises TrainingError when too few are labelled."""
    from petitiondesk.routing import modelstore

    rows, labels = history_examples(name)
    check_trainable(labels)
    taxonomy = topic_taxonomy()
    model = TextClassifier(fields=2, taxonomy=taxonomy or None).fit(rows, labels)
    evaluation = None
    smallest = min(Counter(labels).values())
    if smallest >= 3:
        folds = min(5, smallest)
        evaluation = cross_validate(
            rows,
            labels,
            make=lambda: TextClassifier(fields=2, taxonomy=taxonomy or None),
            folds=folds,
            repeats=1,
            progress=progress,
        )
    return modelstore.save(
        name,
        model,
        data={"source": "history", "label": name, "rows": len(rows)},
        evaluation=evaluation,
        text_columns=["title", "content"],
        label_column=name,
        trained_at=dt.datetime.now(dt.UTC),
    )
