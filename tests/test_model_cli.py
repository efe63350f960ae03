"""`petitiondesk model train | evaluate | predict | list` (petitiondesk/routing/model_cli.py)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from petitiondesk.cli import main
from petitiondesk.routing import modelstore
from tests.test_textmodel import fixture_rows

REAL = Path("/work/shared/data/tipdm2020c/messages-labelled-sample.xlsx")


@pytest.fixture(autouse=True)
def model_dir(settings: Any, tmp_path: Path) -> Any:
    settings.DATA_DIR = tmp_path / "data"
    modelstore.forget_loaded()
    yield settings.DATA_DIR / "models"
    modelstore.forget_loaded()


def run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(path: Path, rows: list[list[str]], labels: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["title", "body", "label"])
        writer.writerows([*row, label] for row, label in zip(rows, labels, strict=True))
    return path


def write_xlsx(path: Path, rows: list[list[str]], labels: list[str]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["title", "body", "label"])
    for row, label in zip(rows, labels, strict=True):
        ws.append([*row, label])
    wb.save(path)
    return path


@pytest.mark.django_db
def test_train_evaluate_predict_and_list_on_a_csv(tmp_path: Path, capsys: Any) -> None:
    rows, labels = fixture_rows()
    data = str(write_csv(tmp_path / "train.csv", rows, labels))
    cols = ["--text-col", "title", "--text-col", "body", "--label-col", "label"]

    code, out, _ = run(capsys, "model", "train", "--data", data, *cols)
    assert code == 0 and out.startswith("model label version 0001 trained on 45 rows, 3 classes")

    code, out, _ = run(capsys, "model", "evaluate", "--data", data, *cols, "--json")
    scores = json.loads(out)
    assert code == 0 and scores["accuracy"] == 1.0 and scores["macro_f1"] == 1.0

    code, out, _ = run(
        capsys, "model", "predict", "--name", "label", "--top", "2", "hospital doctor\nthe clinic"
    )
    first = out.strip().split("\t")
    assert code == 0 and first[0] == "1" and first[1] == "health" and len(first) == 5

    code, out, _ = run(capsys, "model", "list")
    lines = out.strip().splitlines()
    assert code == 0 and lines[1].split("\t")[:3] == ["label", "0001", "*"]
    assert "train.csv" in lines[1]


@pytest.mark.django_db
def test_evaluate_without_a_model_cross_validates_an_xlsx(tmp_path: Path, capsys: Any) -> None:
    rows, labels = fixture_rows()
    data = str(write_xlsx(tmp_path / "train.xlsx", rows, labels))
    code, out, _ = run(
        capsys,
        "model",
        "evaluate",
        "--data",
        data,
        "--text-col",
        "title",
        "--label-col",
        "label",
        "--cv",
        "3",
        "--repeats",
        "1",
    )
    assert code == 0
    assert "3-fold cross-validation x 1" in out and "macro-F1:" in out
    assert "confusion matrix" in out


@pytest.mark.django_db
def test_predict_reads_a_file_of_texts(tmp_path: Path, capsys: Any) -> None:
    rows, labels = fixture_rows()
    data = str(write_xlsx(tmp_path / "train.xlsx", rows, labels))
    cols = ["--text-col", "title", "--text-col", "body"]
    assert run(capsys, "model", "train", "--data", data, *cols, "--label-col", "label")[0] == 0
    code, out, _ = run(capsys, "model", "predict", "--name", "label", "--data", data, *cols)
    predicted = [line.split("\t")[1] for line in out.strip().splitlines()]
    assert code == 0 and predicted == labels


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "{tmp}/missing.csv"], "no such file"),
        (["--data", "{tmp}/train.csv", "--label-col", "nope"], "has no column 'nope'"),
        (["--data", "{tmp}/one.csv"], "at least two classes"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: Any, argv: list[str], message: str
) -> None:
    rows, labels = fixture_rows()
    write_csv(tmp_path / "train.csv", rows, labels)
    write_csv(tmp_path / "one.csv", rows[:15] * 2, labels[:15] * 2)
    base = ["model", "train", "--text-col", "title", "--label-col", "label"]
    code, out, err = run(capsys, *base, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and out == ""
    assert err.startswith("petitiondesk model: error: ") and message in err
    assert err.count("\n") == 1


@pytest.mark.django_db
def test_predict_without_a_model_exits_2(capsys: Any) -> None:
    code, _, err = run(capsys, "model", "predict", "--name", "category", "text")
    assert code == 2 and "no model named category" in err


def _route_cases(actor: Any, count: int) -> None:
    """`count` letters through the intake service, schools to K-EDU and housing to K-HOUSING."""
    from petitiondesk.cases.services import case_route
    from petitiondesk.intake.services import PetitionerData, Submission, petition_submit

    for n in range(count):
        school = n % 2 == 0
        title = f"学校第{n}号学位分配问题" if school else f"第{n}号小区保障房分配问题"
        content = (
            f"孩子入学被分到很远的学校，第{n}次请求教育局重新分配学位。"
            if school
            else f"申请保障性住房第{n}次被拒，请住建局核查房屋分配。"
        )
        receipt = petition_submit(
            submission=Submission(
                title=title,
                content=content,
                category="claim" if school else "suggestion",
                channel="letter",
                received_on=dt.date(2026, 11, 20),
                petitioners=[PetitionerData(name=f"王{n}", phone=f"1380000{n:04d}")],
            ),
            actor=actor,
        )
        case_route(
            case_id=receipt.case.pk,
            actor=actor,
            to_org="K-EDU" if school else "K-HOUSING",
            effective_on=dt.date(2026, 11, 23),
        )


def test_train_from_history_learns_the_first_routing(clerk_alice: Any, capsys: Any) -> None:
    _route_cases(clerk_alice, 24)
    code, out, err = run(capsys, "model", "train", "--from-history", "--name", "org")
    assert code == 0, err
    assert "model org version 0001 trained on 24 rows, 2 classes" in out
    assert modelstore.predict_top("org", "学位分配\n孩子入学学校太远", k=1)[0][0] == "K-EDU"
    meta = modelstore.read_meta("org")
    assert meta is not None and meta["data"]["source"] == "history"

    code, out, err = run(capsys, "model", "train", "--from-history", "--name", "category")
    assert code == 0, err
    assert modelstore.predict_top("category", "小区保障房\n保障性住房被拒", k=1)[0][0] == (
        "suggestion"
    )


def test_train_from_history_refuses_too_few_cases(clerk_alice: Any, capsys: Any) -> None:
    _route_cases(clerk_alice, 6)
    code, _, err = run(capsys, "model", "train", "--from-history", "--name", "org")
    assert code == 2
    assert "cannot train org from history: only 6 labelled texts; at least 20" in err
    code, _, err = run(capsys, "model", "train", "--from-history", "--name", "topic")
    assert code == 2 and "only 0 labelled texts" in err


@pytest.mark.django_db
@pytest.mark.skipif(not REAL.is_file(), reason=f"{REAL} is not on this machine")
def test_the_real_labelled_sample_cross_validates_with_the_documented_arguments(
    capsys: Any,
) -> None:
    """Two folds once: a full `model train` of this file takes longer than a test may (about
    nine fits; bench/classify.py measures the recipe)."""
    args = ["--text-col", "留言主题", "--text-col", "留言详情", "--label-col", "一级分类"]
    code, out, err = run(
        capsys,
        "model",
        "evaluate",
        "--data",
        str(REAL),
        *args,
        "--cv",
        "2",
        "--repeats",
        "1",
        "--json",
        "--no-taxonomy",
    )
    assert code == 0, err
    scores = json.loads(out)
    assert scores["rows"] == 495 and len(scores["labels"]) == 7
    assert scores["macro_f1"] > 0.6
