"""Versioned text models on disk: `<PETITIONDESK_DATA_DIR>/models/<name>/<version>/`.

Each version directory holds `model.joblib` (the fitted `textmodel.TextClassifier`) and
`meta.json` (data, its sha256, rows, columns, date, cross-validation scores, library versions);
`<name>/current` names the version in use. A process loads a model once and reloads it when the
pointer changes (a new training in another process). Model files are pickles: only the
deployment itself writes the data directory, which is trusted like the database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from petitiondesk.routing.textmodel import Evaluation, TextClassifier

MODEL_FILE = "model.joblib"
META_FILE = "meta.json"
POINTER_FILE = "current"
_NAME = re.compile(r"^\w[\w.-]{0,63}$")

_lock = threading.Lock()
# model directory -> (version the pointer named when loaded, model)
_loaded: dict[str, tuple[str, Any]] = {}


class ModelNameError(ValueError):
    pass


def models_dir() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "models"


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ModelNameError(
            f"invalid model name {name!r}: letters, digits, '_', '-' and '.', at most 64"
        )
    return name


def library_versions() -> dict[str, str]:
    import jieba
    import joblib
    import numpy
    import scipy
    import sklearn

    return {
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "jieba": str(getattr(jieba, "__version__", "")),
    }


def _next_version(base: Path) -> str:
    numbers = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def save(
    name: str,
    model: TextClassifier,
    *,
    data: dict[str, Any],
    evaluation: Evaluation | None,
    text_columns: list[str],
    label_column: str,
    trained_at: dt.datetime,
) -> dict[str, Any]:
    """Write a new version of `name` and point `current` at it; returns its meta."""
    import joblib

    check_name(name)
    base = models_dir() / name
    base.mkdir(parents=True, exist_ok=True)
    with _lock:
        version = _next_version(base)
        target = base / version
        target.mkdir()
    meta: dict[str, Any] = {
        "name": name,
        "version": version,
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "data": data,
        "text_columns": text_columns,
        "label_column": label_column,
        "classes": model.classes_,
        "cv": evaluation.as_dict() if evaluation else None,
        "libraries": library_versions(),
    }
    joblib.dump(model, target / MODEL_FILE, compress=3)
    (target / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), "utf-8")
    # Replace the pointer atomically: a reader sees the old or the new version, never half.
    tmp = base / f".{POINTER_FILE}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(version + "\n", "utf-8")
    os.replace(tmp, base / POINTER_FILE)
    return meta


def current_version(name: str) -> str | None:
    try:
        return (models_dir() / name / POINTER_FILE).read_text("utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_meta(name: str, version: str | None = None) -> dict[str, Any] | None:
    version = version or current_version(name)
    if version is None:
        return None
    try:
        meta = json.loads((models_dir() / name / version / META_FILE).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def load(name: str) -> TextClassifier | None:
    """The current version of `name`, loaded once per process and again when `current` changes;
    None when there is none."""
    if not _NAME.match(name):
        return None
    version = current_version(name)
    if version is None:
        return None
    key = str(models_dir() / name)
    cached = _loaded.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    import joblib

    with _lock:
        cached = _loaded.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        path = models_dir() / name / version / MODEL_FILE
        if not path.is_file():
            return None
        model = joblib.load(path)
        _loaded[key] = (version, model)
    return model


def predict_top(name: str, text: str, k: int = 3) -> list[tuple[str, float]]:
    """The `k` likeliest labels of `text` with their confidence, best first; [] when no model
    `name` exists (the intake then simply shows no suggestion). `text` is the title and the
    content joined by a newline: the first line counts as the title."""
    model = load(name)
    if model is None or k < 1:
        return []
    from petitiondesk.routing.textmodel import row_from_text

    return model.predict_top(row_from_text(text, model.fields), k)


def list_models() -> list[dict[str, Any]]:
    """The meta of every stored version, by name then version."""
    base = models_dir()
    if not base.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for name_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        current = current_version(name_dir.name)
        for version_dir in sorted(p for p in name_dir.iterdir() if p.is_dir()):
            meta = read_meta(name_dir.name, version_dir.name)
            if meta is not None:
                meta["current"] = version_dir.name == current
                out.append(meta)
    return out


def forget_loaded() -> None:
    """Drop the per-process cache (tests that switch data directories)."""
    with _lock:
        _loaded.clear()
