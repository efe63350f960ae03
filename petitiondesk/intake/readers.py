"""Reading import files row by row: CSV, XLSX and JSON (docs/import-export.md).

CSV and XLSX are streamed (the csv module, openpyxl in read-only mode): memory stays flat however
long the file. JSON has no streaming parser in the standard library, so a JSON file is read whole.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from petitiondesk.core.errors import InvalidInput

FORMATS = ("csv", "xlsx", "json")
FALLBACK_ENCODING = "gb18030"  # what Chinese spreadsheet software writes when not UTF-8
SNIFF_BYTES = 1 << 16


@dataclass
class Table:
    """An opened import file: its column names, its rows as (line number, record), and how far
    the reading has got (`done()` in 0..1, None when unknown)."""

    columns: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    total: int | None  # rows expected, when the format says (XLSX dimension, JSON length)
    handle: IO[bytes] | None = None
    size: int = 0

    def done(self) -> float | None:
        if self.handle is None or not self.size:
            return None
        if self.handle.closed:  # read to the end
            return 1.0
        try:
            return min(1.0, self.handle.tell() / self.size)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def format_of(path: Path, declared: str | None) -> str:
    fmt = (declared or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise InvalidInput(
            "invalid_input",
            _("%(name)s: unknown format %(fmt)r; use csv, xlsx or json")
            % {"name": path.name, "fmt": fmt},
        )
    return fmt


def open_table(
    path: Path,
    *,
    fmt: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    model: str | None = None,
) -> Table:
    """Open `path` for reading its records. Line numbers are those a person sees: the CSV line
    where the record starts, the spreadsheet row, or the position in the JSON array (from 1)."""
    if not path.is_file():
        raise InvalidInput("not_found", _("no such file: %s") % path)
    kind = format_of(path, fmt)
    if kind == "csv":
        return _csv(path, encoding)
    if kind == "xlsx":
        return _xlsx(path, sheet)
    return _json(path, model)


def _encoding(path: Path, declared: str | None) -> str:
    """The declared encoding, else UTF-8 (with or without BOM) when the start of the file decodes
    as UTF-8, else GB18030."""
    if declared:
        try:
            codecs.lookup(declared)
        except LookupError:
            raise InvalidInput("invalid_input", _("unknown encoding %s") % declared) from None
        return declared
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    try:
        # A multi-byte character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return FALLBACK_ENCODING
    return "utf-8-sig"


def _csv(path: Path, declared: str | None) -> Table:
    encoding = _encoding(path, declared)
    raw = path.open("rb")
    reader = csv.reader(io.TextIOWrapper(raw, encoding=encoding, newline=""))
    try:
        header = next(reader, [])
    except UnicodeDecodeError as exc:
        raw.close()
        raise InvalidInput("invalid_input", _("%s is not %s text") % (path.name, encoding)) from exc
    columns = [h.strip() for h in header]

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            while True:
                line = reader.line_num + 1  # the record starts on the line after the last one
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError as exc:
                    raise InvalidInput(
                        "invalid_input",
                        _("line %(n)d: not %(enc)s text") % {"n": line, "enc": encoding},
                    ) from exc
                if not any(v.strip() for v in values):
                    continue
                yield line, dict(zip(columns, values, strict=False))
        finally:
            raw.close()

    return Table(columns, rows(), None, handle=raw, size=path.stat().st_size)


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _xlsx(path: Path, sheet: str | None) -> Table:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a broken zip or XML: one clear line, never a traceback
        raise InvalidInput(
            "invalid_input", _("%s is not a readable XLSX workbook") % path.name
        ) from exc
    if sheet is not None and sheet not in wb.sheetnames:
        wb.close()
        raise InvalidInput(
            "invalid_input",
            _("no sheet %(s)r; the workbook has: %(all)s")
            % {"s": sheet, "all": ", ".join(wb.sheetnames)},
        )
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = next(it, ())
    columns = ["" if h is None else str(h).strip() for h in header]
    total = max(0, (ws.max_row or 1) - 1) or None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for number, values in enumerate(it, start=2):
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                yield number, {c: _cell(v) for c, v in zip(columns, values, strict=False)}
        finally:
            wb.close()

    return Table(columns, rows(), total)


def _json(path: Path, model: str | None) -> Table:
    """An array of objects, or a Django fixture (objects with `model` and `fields`: the fields,
    with the entry's `pk` as column `pk`; only entries of `model` when given)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "invalid_input", _("%(f)s is not valid JSON: %(e)s") % {"f": path.name, "e": exc}
        ) from exc
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise InvalidInput("invalid_input", _("%s: expected an array of objects") % path.name)
    records: list[tuple[int, dict[str, Any]]] = []
    for number, entry in enumerate(data, start=1):
        if isinstance(entry.get("fields"), dict) and "model" in entry:
            if model is not None and entry["model"] != model:
                continue
            records.append((number, {"pk": entry.get("pk"), **entry["fields"]}))
        elif model is None:
            records.append((number, entry))
    columns: dict[str, None] = {}
    for _n, rec in records:
        columns.update(dict.fromkeys(rec))
    return Table(list(columns), iter(records), len(records))


def json_ready(value: Any) -> Any:
    """A cell as JSON stores it (ExternalRef.data): dates as ISO text."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value
