"""The text classifiers (petitiondesk/routing/textmodel.py) and their store (modelstore.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from petitiondesk.routing import modelstore, textmodel

PLACES = ["Elm Street", "the old town", "Riverside", "North district", "the market square"]
SUBJECTS = {
    "roads": [
        "pothole on the road",
        "broken traffic light",
        "bus stop moved away",
        "cracked pavement and road",
    ],
    "schools": [
        "school enrolment refused",
        "teacher absent from class",
        "school fees too high",
        "pupils crowded in class",
    ],
    "health": [
        "hospital waiting time",
        "clinic refused treatment",
        "doctor overcharged for medicine",
        "hospital ward unhygienic",
    ],
}
BODIES = {
    "roads": "Cars and buses on the road are in danger near {p}; please repair the road.",
    "schools": "My child at the school near {p} cannot attend class; the school ignores us.",
    "health": "At the hospital near {p} patients wait for the doctor; the clinic is careless.",
}


def fixture_rows() -> tuple[list[list[str]], list[str]]:
    """45 short petitions, 15 per class, each a title and a body."""
    rows: list[list[str]] = []
    labels: list[str] = []
    for label, subjects in SUBJECTS.items():
        for subject, place in itertools.islice(itertools.product(subjects, PLACES), 15):
            rows.append([f"{subject} in {place}", BODIES[label].format(p=place)])
            labels.append(label)
    return rows, labels


@pytest.fixture
def model_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    modelstore.forget_loaded()
    yield tmp_path / "models"
    modelstore.forget_loaded()


def test_a_trained_model_predicts_its_training_texts_back() -> None:
    rows, labels = fixture_rows()
    model = textmodel.TextClassifier(fields=2).fit(rows, labels)
    assert model.predict(rows) == labels
    assert model.classes_ == ["health", "roads", "schools"]


def test_it_generalises_to_unseen_wording() -> None:
    rows, labels = fixture_rows()
    model = textmodel.TextClassifier(fields=2).fit(rows, labels)
    top = model.predict_top(["the hospital doctor", "the clinic refused my mother"], k=3)
    assert top[0][0] == "health"
    assert [label for label, _ in top] == sorted(
        [label for label, _ in top], key=lambda lb: -dict(top)[lb]
    )
    assert sum(conf for _, conf in top) == pytest.approx(1.0)


def test_confidences_are_probabilities_in_best_first_order() -> None:
    rows, labels = fixture_rows()
    model = textmodel.TextClassifier(fields=2).fit(rows, labels)
    top = model.predict_top(rows[0], k=2)
    assert len(top) == 2
    assert 1.0 >= top[0][1] >= top[1][1] >= 0.0
    assert model.temperature_ > 0


def test_keyword_evidence_counts_taxonomy_words_per_class() -> None:
    keywords = textmodel.taxonomy_keywords(
        [["交通运输", "出租车管理", "网约车问题"], ["教育文体", "考试招生", "其他"]]
    )
    assert "网约车问题" in keywords["交通运输"] and "出租车" in keywords["交通运输"]
    assert "其他" not in keywords["教育文体"]
    evidence = textmodel.KeywordEvidence(keywords)
    features = evidence.transform(["网约车司机和出租车管理", "无关的话"])
    assert features[0, evidence.classes.index("交通运输")] > 0
    assert features[1].sum() == 0


def test_taxonomy_evidence_classifies_texts_the_labels_never_showed() -> None:
    rows, labels = fixture_rows()
    taxonomy = {"roads": ["tram", "tramway"], "schools": ["kindergarten"], "health": ["dentist"]}
    model = textmodel.TextClassifier(fields=2, taxonomy=taxonomy, taxonomy_weight=1.0)
    model.fit(rows, labels)
    assert model.predict([["dentist", "the dentist"]]) == ["health"]
    assert model.predict([["tramway", "a tram"]]) == ["roads"]


def test_taxonomy_documents_teach_the_svm_words_only_the_taxonomy_has() -> None:
    rows, labels = fixture_rows()
    taxonomy = {"roads": ["tramway"], "schools": ["kindergarten"], "health": ["dentist"]}
    # The unlabelled texts put the words in the vocabulary; the keyword block is off (weight 0),
    # so only the taxonomy documents can tie "dentist" to health.
    unlabelled = [["dentist kindergarten tramway", "dentist kindergarten tramway"]] * 3
    text = [["dentist", "dentist"]]
    scores = {}
    for doc_weight in (0.0, 1.0):
        model = textmodel.TextClassifier(
            fields=2, taxonomy=taxonomy, taxonomy_weight=0.0, taxonomy_doc_weight=doc_weight
        ).fit(rows, labels, unlabelled=unlabelled, calibrate=False)
        scores[doc_weight] = model.scores(text)[0][model.classes_.index("health")]
    assert scores[1.0] > scores[0.0]
    assert model.predict(text) == ["health"]


def test_it_refuses_too_few_rows_and_a_single_class() -> None:
    rows, labels = fixture_rows()
    with pytest.raises(textmodel.TrainingError, match="at least 20"):
        textmodel.check_trainable(labels[:10])
    with pytest.raises(textmodel.TrainingError, match="two classes"):
        textmodel.check_trainable(labels[:15] * 2)
    with pytest.raises(textmodel.TrainingError, match="two classes"):
        textmodel.TextClassifier(fields=2).fit(rows[:15] * 2, labels[:15] * 2)


def test_cross_validation_keeps_test_folds_out_of_training() -> None:
    rows, labels = fixture_rows()
    seen: list[int] = []

    class Spy(textmodel.TextClassifier):
        def fit(self, rows: Any, labels: Any, **kw: Any) -> textmodel.TextClassifier:
            seen.append(len(rows))
            return super().fit(rows, labels, **kw)

    result = textmodel.cross_validate(rows, labels, make=lambda: Spy(fields=2), folds=3, repeats=2)
    assert seen == [30] * 6  # two thirds of 45, six times
    assert result.macro_f1 > 0.9 and result.folds == 3 and result.repeats == 2
    assert sum(map(sum, result.confusion)) == 90  # every text tested once per repeat


def test_row_from_text_splits_title_and_body() -> None:
    assert textmodel.row_from_text("title\nbody text", 2) == ["title", "body text"]
    assert textmodel.row_from_text("only one line", 2) == ["only one line", "only one line"]
    assert textmodel.row_from_text("a\nb", 1) == ["a b"]


def test_predict_top_returns_nothing_without_a_model(model_dir: Path) -> None:
    assert modelstore.predict_top("category", "any text") == []


def test_the_store_versions_models_and_follows_the_current_pointer(model_dir: Path) -> None:
    rows, labels = fixture_rows()
    first = textmodel.TextClassifier(fields=2).fit(rows, labels)
    meta = modelstore.save(
        "demo",
        first,
        data={"file": "x.csv", "rows": len(rows)},
        evaluation=None,
        text_columns=["title", "body"],
        label_column="label",
        trained_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
    )
    assert meta["version"] == "0001"
    assert json.loads((model_dir / "demo" / "0001" / "meta.json").read_text())["libraries"]
    assert modelstore.predict_top("demo", "hospital doctor\nthe clinic", k=1)[0][0] == "health"
    assert modelstore.load("demo") is modelstore.load("demo")  # loaded once

    renamed = [{"health": "medicine"}.get(lb, lb) for lb in labels]
    second = textmodel.TextClassifier(fields=2).fit(rows, renamed)
    modelstore.save(
        "demo",
        second,
        data={"file": "y.csv", "rows": len(rows)},
        evaluation=None,
        text_columns=["title", "body"],
        label_column="label",
        trained_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
    )
    assert modelstore.current_version("demo") == "0002"
    assert modelstore.predict_top("demo", "hospital doctor\nthe clinic", k=1)[0][0] == "medicine"
    assert [(m["version"], m["current"]) for m in modelstore.list_models()] == [
        ("0001", False),
        ("0002", True),
    ]


def test_prediction_is_fast_enough_for_intake(model_dir: Path) -> None:
    """A loose bound here (a shared test machine); bench/classify.py measures p50/p99."""
    import time

    rows, labels = fixture_rows()
    model = textmodel.TextClassifier(fields=2).fit(rows, labels)
    start = time.perf_counter()
    for row in rows:
        model.predict_top(row)
    assert (time.perf_counter() - start) / len(rows) < 0.05
