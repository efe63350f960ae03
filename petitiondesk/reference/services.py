"""Loading reference data: topics and divisions, from YAML, CSV or XLSX files (or records)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from petitiondesk.core.errors import InvalidInput

from .models import Division, Topic
from .selectors import invalidate_reference

DEFAULT_TOPICS = Path(__file__).with_name("topics_default.yaml")
LEVEL_COLUMNS = ("一级分类", "二级分类", "三级分类")


def read_rows(path: Path, key: str) -> list[dict[str, Any]]:
    """Records from a YAML/JSON file (a list, or a mapping holding the list under `key`), a CSV
    file or the first sheet of an XLSX workbook (first row: column names)."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, Mapping):
            data = data.get(key)
        if not isinstance(data, list):
            raise InvalidInput("invalid_input", f"{path.name}: expected a list of {key}")
        return [dict(r) for r in data]
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
        return [
            {h: ("" if v is None else str(v).strip()) for h, v in zip(header, row, strict=False)}
            for row in rows
            if any(v not in (None, "") for v in row)
        ]
    raise InvalidInput("invalid_input", f"{path.name}: use a .yaml, .json, .csv or .xlsx file")


def _topic_records_from_levels(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of 一级分类/二级分类/三级分类 to records. A first level named like a known topic keeps
    that topic's code; deeper codes are the parent's code and the name, joined by '/'."""
    known = dict(Topic.objects.filter(level=1).values_list("name", "code"))
    records: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows, start=2):
        names = [str(row.get(col) or "").strip() for col in LEVEL_COLUMNS]
        if not names[0]:
            raise InvalidInput("invalid_input", f"row {i}: {LEVEL_COLUMNS[0]} is empty")
        parent = None
        for name in names:
            if not name:
                break
            code = known.get(name, name) if parent is None else f"{parent}/{name}"
            records.setdefault(code, {"code": code, "name": name, "parent": parent})
            parent = code
    return list(records.values())


@transaction.atomic
def topics_load(*, records: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """Create or update topics (parents before or after children). Returns (created, updated).
    Validates everything before writing, so a bad file changes nothing."""
    rows: list[dict[str, Any]] = [dict(r) for r in records]
    if rows and LEVEL_COLUMNS[0] in rows[0]:
        rows = _topic_records_from_levels(rows)
    records = rows
    codes: set[str] = set()
    for i, rec in enumerate(records, start=1):
        code, name = str(rec.get("code") or "").strip(), str(rec.get("name") or "").strip()
        if not code or not name:
            raise InvalidInput("invalid_input", f"topic {i}: code and name are required")
        if len(code) > 64 or len(name) > 100:
            raise InvalidInput("too_long", f"topic {i}: code over 64 or name over 100 characters")
        if code in codes:
            raise InvalidInput("invalid_input", f"topic {i}: code {code!r} appears twice")
        codes.add(code)
    existing = set(Topic.objects.values_list("code", flat=True))
    for i, rec in enumerate(records, start=1):
        parent = str(rec.get("parent") or "").strip()
        if parent and parent not in codes | existing:
            raise InvalidInput("invalid_input", f"topic {i}: unknown parent {parent!r}")
    by_code: dict[str, Topic] = {}
    created = updated = 0
    for position, rec in enumerate(records):
        topic, was_created = Topic.objects.update_or_create(
            code=str(rec["code"]).strip(),
            defaults={
                "name": str(rec["name"]).strip(),
                "name_en": str(rec.get("name_en") or "").strip(),
                "position": position,
            },
        )
        by_code[topic.code] = topic
        created += was_created
        updated += not was_created
    parents = {t.code: t for t in Topic.objects.filter(code__in=codes | existing)}
    wanted = {str(r["code"]).strip(): str(r.get("parent") or "").strip() for r in records}
    for code, parent_code in wanted.items():
        topic = by_code[code]
        topic.parent = parents[parent_code] if parent_code else None
        topic.save(update_fields=["parent"])
    parent_of = dict(Topic.objects.values_list("code", "parent__code"))
    for code in wanted:
        depth, cur = 1, parent_of[code]
        while cur is not None:
            depth += 1
            if depth > 3:
                raise InvalidInput("invalid_input", f"topic {code!r}: more than three levels")
            cur = parent_of[cur]
        Topic.objects.filter(code=code).update(level=depth)
    transaction.on_commit(invalidate_reference)
    return created, updated


def topics_load_default() -> tuple[int, int]:
    return topics_load(records=read_rows(DEFAULT_TOPICS, "topics"))


@transaction.atomic
def divisions_load(*, records: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """Create or update divisions: code (digits), name, level (province/city/county), parent code."""
    records = [dict(r) for r in records]
    levels = set(Division.Level.values)
    codes: set[str] = set()
    for i, rec in enumerate(records, start=1):
        code = str(rec.get("code") or "").strip()
        if not code.isdigit() or len(code) > 12:
            raise InvalidInput("invalid_input", f"division {i}: code must be up to 12 digits")
        if not str(rec.get("name") or "").strip():
            raise InvalidInput("invalid_input", f"division {i}: name is required")
        if rec.get("level") not in levels:
            raise InvalidInput(
                "invalid_input", f"division {i}: level must be one of {sorted(levels)}"
            )
        codes.add(code)
    existing = set(Division.objects.values_list("code", flat=True))
    for i, rec in enumerate(records, start=1):
        parent = str(rec.get("parent") or "").strip()
        if parent and parent not in codes | existing:
            raise InvalidInput("invalid_input", f"division {i}: unknown parent {parent!r}")
    created = updated = 0
    for rec in records:
        _d, was_created = Division.objects.update_or_create(
            code=str(rec["code"]).strip(),
            defaults={"name": str(rec["name"]).strip(), "level": rec["level"]},
        )
        created += was_created
        updated += not was_created
    by_code = {d.code: d for d in Division.objects.filter(code__in=codes | existing)}
    for rec in records:
        parent = str(rec.get("parent") or "").strip()
        division = by_code[str(rec["code"]).strip()]
        division.parent = by_code.get(parent) if parent else None
        division.save(update_fields=["parent"])
    transaction.on_commit(invalidate_reference)
    return created, updated
