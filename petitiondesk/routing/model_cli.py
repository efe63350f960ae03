"""The `petitiondesk model` commands (added to petitiondesk/cli.py's parser): train, evaluate,
predict and list the text classifiers of docs/intelligence.md "Classifiers"."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_FOLDS = 5
DEFAULT_REPEATS = 5


def add_model_commands(sub: Any) -> None:
    model = sub.add_parser("model", help="text classifiers for category, topic and organ")
    msub = model.add_subparsers(dest="sub", required=True)

    def data_args(p: argparse.ArgumentParser, *, labels: bool) -> None:
        p.add_argument("--data", metavar="FILE", help="CSV or XLSX file (first row: column names)")
        p.add_argument(
            "--text-col",
            action="append",
            default=[],
            metavar="COL",
            help="text column; repeat for several (the first is weighted as the title)",
        )
        if labels:
            p.add_argument("--label-col", metavar="COL", help="the column holding the label")
            p.add_argument(
                "--unlabelled",
                action="append",
                default=[],
                metavar="FILE",
                help="unlabelled texts (same text columns) for vocabulary and IDF; repeatable",
            )
            p.add_argument(
                "--taxonomy",
                metavar="FILE",
                help="keyword taxonomy (CSV/XLSX: first column the class, further columns "
                "deeper names); default: the deployment's topic tree when it has levels",
            )
            p.add_argument("--no-taxonomy", action="store_true", help="no keyword evidence")
        p.add_argument("--name", help="model name (default: from the label column)")
        p.add_argument("--quiet", action="store_true", help="no progress on stderr")

    train = msub.add_parser("train", help="train a model and make it current")
    data_args(train, labels=True)
    train.add_argument(
        "--from-history",
        action="store_true",
        help="train --name category|topic|org from this deployment's own cases",
    )
    train.set_defaults(func=cmd_model_train)

    evaluate = msub.add_parser(
        "evaluate", help="score a trained model on a file, or cross-validate the recipe"
    )
    data_args(evaluate, labels=True)
    evaluate.add_argument(
        "--cv", type=int, metavar="K", help=f"cross-validate with K folds (default {DEFAULT_FOLDS})"
    )
    evaluate.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, metavar="R")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON only")
    evaluate.set_defaults(func=cmd_model_evaluate)

    predict = msub.add_parser("predict", help="the top labels of texts, with confidence")
    data_args(predict, labels=False)
    predict.add_argument("--top", type=int, default=3, metavar="K")
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="title, newline, content")
    predict.set_defaults(func=cmd_model_predict)

    msub.add_parser("list", help="stored models and their versions").set_defaults(
        func=cmd_model_list
    )


# --- reading data -------------------------------------------------------------------------------


def _error(message: str) -> Exception:
    from petitiondesk.cli import CliError

    return CliError(message)


def _read_table(path_arg: str) -> tuple[Path, list[dict[str, Any]]]:
    from petitiondesk.reference.services import read_rows

    path = Path(path_arg)
    if not path.is_file():
        raise _error(f"no such file: {path_arg}")
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise _error(f"{path.name}: use a .csv or .xlsx file")
    try:
        return path, read_rows(path, "rows")
    except (OSError, ValueError, KeyError) as exc:  # unreadable, not UTF-8, not a workbook
        raise _error(f"cannot read {path.name}: {exc}") from exc


def _check_columns(path: Path, records: list[dict[str, Any]], columns: list[str]) -> None:
    if not records:
        raise _error(f"{path.name} has no rows")
    known = list(records[0])
    for col in columns:
        if col not in known:
            raise _error(f"{path.name} has no column {col!r} (columns: {', '.join(known)})")


def _text_rows(path: Path, records: list[dict[str, Any]], text_cols: list[str]) -> list[list[str]]:
    from petitiondesk.routing.textmodel import clean

    _check_columns(path, records, text_cols)
    return [[clean(r.get(c)) for c in text_cols] for r in records]


def _labelled(args: argparse.Namespace) -> tuple[Path, list[list[str]], list[str]]:
    """(file, rows, labels) of --data, skipping rows without a label or without any text."""
    from petitiondesk.routing.textmodel import clean

    if not args.data:
        raise _error("--data FILE is required")
    if not args.text_col:
        raise _error("--text-col COL is required")
    if not args.label_col:
        raise _error("--label-col COL is required")
    path, records = _read_table(args.data)
    _check_columns(path, records, [*args.text_col, args.label_col])
    rows: list[list[str]] = []
    labels: list[str] = []
    for record, row in zip(records, _text_rows(path, records, args.text_col), strict=True):
        label = clean(record.get(args.label_col))
        if label and any(row):
            rows.append(row)
            labels.append(label)
    return path, rows, labels


def _unlabelled(args: argparse.Namespace, labelled: list[list[str]]) -> list[list[str]]:
    """Rows of the --unlabelled files, minus any whose text equals a labelled row's (so a test
    text can never come back through the unlabelled set)."""
    seen = {tuple(r) for r in labelled}
    out: list[list[str]] = []
    for file in args.unlabelled:
        path, records = _read_table(file)
        for row in _text_rows(path, records, args.text_col):
            if any(row) and tuple(row) not in seen:
                seen.add(tuple(row))
                out.append(row)
    return out


def _taxonomy(args: argparse.Namespace) -> tuple[dict[str, list[str]] | None, str]:
    from petitiondesk.routing.textmodel import clean, taxonomy_keywords, topic_taxonomy

    if args.no_taxonomy:
        return None, "none"
    if args.taxonomy:
        path, records = _read_table(args.taxonomy)
        keywords = taxonomy_keywords([clean(v) for v in r.values()] for r in records)
        if not keywords:
            raise _error(f"{path.name}: no class has deeper names to use as keywords")
        return keywords, str(path.resolve())
    keywords = topic_taxonomy()
    return (keywords, "topic tree") if keywords else (None, "none")


def _default_name(args: argparse.Namespace) -> str:
    if args.name:
        return str(args.name)
    if not args.label_col:
        raise _error("--name NAME is required")
    return re.sub(r"[^\w.-]+", "-", args.label_col).strip("-.")[:64] or "model"


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    if args.quiet or not sys.stderr.isatty():
        return None
    return lambda msg: print(f"\r{msg}   ", end="", file=sys.stderr, flush=True)


def _check_name(name: str) -> str:
    from petitiondesk.routing.modelstore import ModelNameError, check_name

    try:
        return check_name(name)
    except ModelNameError as exc:
        raise _error(str(exc)) from None


# --- commands -----------------------------------------------------------------------------------


def cmd_model_train(args: argparse.Namespace) -> None:
    from petitiondesk.routing import modelstore, textmodel

    progress = _progress(args)
    if args.from_history:
        if args.name not in textmodel.HISTORY_NAMES:
            raise _error("--from-history needs --name category, topic or org")
        try:
            meta = textmodel.train_from_history(args.name, progress=progress)
        except textmodel.TrainingError as exc:
            raise _error(f"cannot train {args.name} from history: {exc}") from None
        _print_trained(meta, progress)
        return
    name = _check_name(_default_name(args))
    path, rows, labels = _labelled(args)
    unlabelled = _unlabelled(args, rows)
    taxonomy, taxonomy_source = _taxonomy(args)

    def make() -> textmodel.TextClassifier:
        return textmodel.TextClassifier(fields=len(args.text_col), taxonomy=taxonomy)

    try:
        textmodel.check_trainable(labels)
        model = make().fit(rows, labels, unlabelled=unlabelled)
        evaluation = _quick_cv(rows, labels, make, unlabelled, progress)
    except textmodel.TrainingError as exc:
        raise _error(str(exc)) from None
    from petitiondesk.core.files import file_sha256

    data = {
        "file": str(path.resolve()),
        "sha256": file_sha256(path),
        "rows": len(rows),
        "unlabelled": [
            {"file": str(Path(f).resolve()), "sha256": file_sha256(Path(f))}
            for f in args.unlabelled
        ],
        "unlabelled_rows": len(unlabelled),
        "taxonomy": taxonomy_source,
    }
    meta = modelstore.save(
        name,
        model,
        data=data,
        evaluation=evaluation,
        text_columns=list(args.text_col),
        label_column=args.label_col,
        trained_at=dt.datetime.now(dt.UTC),
    )
    _print_trained(meta, progress)


def _quick_cv(
    rows: list[list[str]],
    labels: list[str],
    make: Callable[[], Any],
    unlabelled: list[list[str]],
    progress: Callable[[str], None] | None,
) -> Any:
    """One repeat of 5-fold cross-validation for the meta (None when a class is too small);
    `model evaluate` runs the full repeated one."""
    from collections import Counter

    from petitiondesk.routing import textmodel

    folds = min(DEFAULT_FOLDS, min(Counter(labels).values()))
    if folds < 2:
        return None
    return textmodel.cross_validate(
        rows, labels, make=make, folds=folds, repeats=1, unlabelled=unlabelled, progress=progress
    )


def _print_trained(meta: dict[str, Any], progress: Callable[[str], None] | None) -> None:
    if progress:
        print(file=sys.stderr)
    cv = meta.get("cv")
    scores = f"; 5-fold macro-F1 {cv['macro_f1']:.3f}, accuracy {cv['accuracy']:.3f}" if cv else ""
    print(
        f"model {meta['name']} version {meta['version']} trained on {meta['data']['rows']} rows, "
        f"{len(meta['classes'])} classes{scores}"
    )


def cmd_model_evaluate(args: argparse.Namespace) -> None:
    from petitiondesk.routing import modelstore, textmodel

    progress = _progress(args)
    name = _check_name(_default_name(args))
    path, rows, labels = _labelled(args)
    if args.cv is not None and args.cv < 2:
        raise _error("--cv K needs K >= 2")
    if args.repeats < 1:
        raise _error("--repeats R needs R >= 1")
    model = None if args.cv is not None else modelstore.load(name)
    try:
        if model is not None:
            if model.fields != len(args.text_col):
                raise _error(
                    f"model {name} reads {model.fields} text column(s), not {len(args.text_col)}"
                )
            evaluation = textmodel.score(labels, model.predict(rows))
            mode = f"model {name} version {modelstore.current_version(name)} on {path.name}"
        else:
            unlabelled = _unlabelled(args, rows)
            taxonomy, _ = _taxonomy(args)
            folds = args.cv or DEFAULT_FOLDS
            evaluation = textmodel.cross_validate(
                rows,
                labels,
                make=lambda: textmodel.TextClassifier(fields=len(args.text_col), taxonomy=taxonomy),
                folds=folds,
                repeats=args.repeats,
                unlabelled=unlabelled,
                progress=progress,
            )
            mode = f"{folds}-fold cross-validation x {args.repeats} of the recipe on {path.name}"
    except textmodel.TrainingError as exc:
        raise _error(str(exc)) from None
    if progress:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(evaluation.as_dict(), ensure_ascii=False))
        return
    spread = (
        f" ± {evaluation.macro_f1_std:.3f}" if evaluation.folds else ""
    )  # mean ± std over folds
    print(mode)
    print(f"rows: {evaluation.rows}")
    print(f"accuracy: {evaluation.accuracy:.3f}")
    print(f"macro-F1: {evaluation.macro_f1:.3f}{spread}")
    print(evaluation.report)
    print("confusion matrix (rows: truth, columns: predicted)")
    print("\t".join(["", *evaluation.labels]))
    for label, line in zip(evaluation.labels, evaluation.confusion, strict=True):
        print("\t".join([label, *map(str, line)]))


def cmd_model_predict(args: argparse.Namespace) -> None:
    from petitiondesk.routing import modelstore
    from petitiondesk.routing.textmodel import row_from_text

    if not args.name:
        raise _error("--name NAME is required")
    name = _check_name(args.name)
    if args.top < 1:
        raise _error("--top K needs K >= 1")
    model = modelstore.load(name)
    if model is None:
        raise _error(f"no model named {name} (see `petitiondesk model list`)")
    if args.data:
        if not args.text_col:
            raise _error("--data needs --text-col COL")
        if len(args.text_col) != model.fields:
            raise _error(f"model {name} reads {model.fields} text column(s)")
        path, records = _read_table(args.data)
        rows = _text_rows(path, records, args.text_col)
    elif args.texts:
        rows = [row_from_text(text, model.fields) for text in args.texts]
    else:
        raise _error("give TEXT arguments or --data FILE --text-col COL")
    for n, row in enumerate(rows, start=1):
        top = model.predict_top(row, args.top)
        cells = [f"{label}\t{confidence:.3f}" for label, confidence in top]
        print("\t".join([str(n), *cells]))


def cmd_model_list(args: argparse.Namespace) -> None:
    from petitiondesk.routing import modelstore

    models = modelstore.list_models()
    if not models:
        print("no models (train one with `petitiondesk model train`)")
        return
    print("name\tversion\tcurrent\ttrained\trows\tdata\tmacro-F1\taccuracy")
    for meta in models:
        cv = meta.get("cv") or {}
        data = meta.get("data") or {}
        source = Path(data["file"]).name if data.get("file") else data.get("source", "-")
        cells = [
            meta["name"],
            meta["version"],
            "*" if meta.get("current") else "",
            meta.get("trained_at", "-"),
            str(data.get("rows", "-")),
            source,
            f"{cv['macro_f1']:.3f}" if cv else "-",
            f"{cv['accuracy']:.3f}" if cv else "-",
        ]
        print("\t".join(cells))
