"""Import mappings: which columns of a file give which fields of a petition (docs/import-export.md).

A mapping is a YAML file. `load_mapping` checks its shape; `Mapping.check_columns` checks it against
the columns of the file; `Mapping.apply` turns one record into a `MappedRow`, or raises
`InvalidInput` naming the field and the value it could not use. Pure functions: no database here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from django.conf import settings
from django.utils.translation import gettext as _

from petitiondesk.cases.models import TITLE_MAX, Case
from petitiondesk.core.errors import InvalidInput

from .readers import FORMATS, json_ready
from .services import PetitionerData, Submission

TEXT_FIELDS = (
    "external_id",
    "title",
    "content",
    "division",
    "location",
    "petitioner_name",
    "petitioner_phone",
    "petitioner_id_number",
    "petitioner_address",
    "petitioner_email",
)
DATE_FIELDS = ("received_on", "status_on", "requested_at", "updated_at", "expected_at")
NUMBER_FIELDS = ("lat", "lng")
# Fields whose values must be one of a fixed set (after the value map, if any).
CHOICES: dict[str, tuple[str, ...]] = {
    "category": tuple(Case.Category.values),
    "channel": tuple(Case.Channel.values),
    "status": tuple(Case.Status.values),
}
CODE_FIELDS = ("topic", "organ")  # values checked against the database by the import
FIELDS = (*TEXT_FIELDS, *DATE_FIELDS, *NUMBER_FIELDS, *CHOICES, *CODE_FIELDS)
SPEC_KEYS = {"column", "columns", "template", "map", "default", "formats", "create", "name", "join"}
TOP_KEYS = {"source", "format", "sheet", "encoding", "timezone", "model", "columns", "defaults"}

# Tried after the mapping's own formats (ISO 8601, with or without time, is always tried first).
DATE_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日",
    "%Y.%m.%d",
)
TOPIC_CODE_MAX = 64  # reference.Topic.code
TITLE_FROM_CONTENT = 40  # characters of the content that make a missing title
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_BLANK_RUN = re.compile(r"\n{3,}")


@dataclass
class FieldSpec:
    """Where one field comes from: columns (joined), or a template of columns, or only a default;
    then a value map, date formats, and for topics whether unknown codes are created."""

    columns: list[str] = field(default_factory=list)
    template: str | None = None
    value_map: dict[str, Any] | None = None
    default: Any = None
    formats: list[str] = field(default_factory=list)
    create: bool = False
    name_column: str | None = None
    join: str = "\n"

    def used_columns(self) -> list[str]:
        names = list(self.columns)
        if self.template is not None:
            names += _PLACEHOLDER.findall(self.template)
        if self.name_column:
            names.append(self.name_column)
        return names


@dataclass
class MappedRow:
    external_id: str
    submission: Submission
    status: str
    source_status: str
    status_on: dt.date | None
    requested_at: dt.datetime | None
    updated_at: dt.datetime | None
    expected_at: dt.datetime | None
    topic_name: str
    data: dict[str, Any]


def _bad(message: str) -> InvalidInput:
    return InvalidInput("invalid_mapping", message)


def _spec(name: str, raw: Any) -> FieldSpec:
    if isinstance(raw, str):
        return FieldSpec(template=raw) if _PLACEHOLDER.search(raw) else FieldSpec(columns=[raw])
    if isinstance(raw, list) and raw and all(isinstance(c, str) for c in raw):
        return FieldSpec(columns=list(raw))
    if not isinstance(raw, dict):
        raise _bad(
            _(
                "columns.%s: give a column, a list of columns or a mapping (quote a column name "
                "that YAML reads as a number or yes/no)"
            )
            % name
        )
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise _bad(
            _("columns.%(f)s: unknown key(s) %(k)s; known: %(all)s")
            % {"f": name, "k": ", ".join(unknown), "all": ", ".join(sorted(SPEC_KEYS))}
        )
    columns = raw.get("columns", [raw["column"]] if "column" in raw else [])
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise _bad(_("columns.%s: column names must be text") % name)
    value_map = raw.get("map")
    if value_map is not None and not isinstance(value_map, dict):
        raise _bad(_("columns.%s.map must map source values to values") % name)
    formats = raw.get("formats", [])
    if isinstance(formats, str):
        formats = [formats]
    spec = FieldSpec(
        columns=columns,
        template=raw.get("template"),
        value_map={str(k).strip(): v for k, v in value_map.items()} if value_map else None,
        default=raw.get("default"),
        formats=[str(f) for f in formats],
        create=bool(raw.get("create", False)),
        name_column=raw.get("name"),
        join=str(raw.get("join", "\n")),
    )
    if not spec.columns and spec.template is None and spec.default is None:
        raise _bad(_("columns.%s: name a column, a template or a default") % name)
    if spec.create and name != "topic":
        raise _bad(_("columns.%s: only topics can be created") % name)
    return spec


@dataclass
class Mapping:
    source: str
    fmt: str | None
    sheet: str | None
    encoding: str | None
    tz: ZoneInfo
    model: str | None
    fields: dict[str, FieldSpec]

    def used_columns(self) -> list[str]:
        names: dict[str, None] = {}
        for spec in self.fields.values():
            names.update(dict.fromkeys(spec.used_columns()))
        return list(names)

    def check_columns(self, columns: Iterable[str]) -> None:
        """One error naming every mapped column the file lacks, and the columns it has."""
        have = set(columns)
        missing = [c for c in self.used_columns() if c not in have]
        if missing:
            raise _bad(
                _("the file has no column(s) %(missing)s; its columns are: %(have)s")
                % {"missing": ", ".join(missing), "have": ", ".join(c for c in columns if c)}
            )

    def targets(self, name: str) -> set[str]:
        """Every value the mapping itself may give field `name` (map values and the default)."""
        spec = self.fields.get(name)
        if spec is None:
            return set()
        values = set(spec.value_map.values()) if spec.value_map else set()
        if spec.default is not None:
            values.add(spec.default)
        return {str(v) for v in values if v not in (None, "")}

    # --- one record ---------------------------------------------------------------------------

    def _raw(self, name: str, record: dict[str, Any]) -> Any:
        """The field's source value (a cell, joined cells or a filled template), else None."""
        spec = self.fields.get(name)
        if spec is None:
            return None
        if spec.template is not None:
            return _PLACEHOLDER.sub(lambda m: text(record.get(m.group(1))), spec.template).strip()
        if len(spec.columns) == 1:
            return record.get(spec.columns[0])
        parts = [text(record.get(c)) for c in spec.columns]
        return spec.join.join(p for p in parts if p)

    def _value(self, name: str, record: dict[str, Any]) -> Any:
        """The source value through the value map; the default when the source is empty."""
        spec = self.fields.get(name)
        if spec is None:
            return None
        raw = self._raw(name, record)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return spec.default
        if spec.value_map is not None:
            key = text(raw)
            if key in spec.value_map:
                return spec.value_map[key]
            if spec.default is not None:
                return spec.default
            raise InvalidInput(
                "invalid_input",
                _("%(f)s: the mapping has no value for %(v)r (it maps: %(known)s)")
                % {"f": name, "v": key, "known": ", ".join(sorted(spec.value_map))},
                fields={name: "unmapped"},
            )
        return raw

    def _text(self, name: str, record: dict[str, Any]) -> str:
        value = self._value(name, record)
        if name == "content":
            return tidy(text(value))
        # A title is one line; other values are kept as the source wrote them (an Open311 address
        # goes back out exactly), only stripped.
        return " ".join(text(value).split()) if name == "title" else text(value)

    def _instant(self, name: str, record: dict[str, Any]) -> dt.datetime | None:
        value = self._value(name, record)
        if value is None or value == "":
            return None
        spec = self.fields[name]
        parsed = parse_instant(value, spec.formats, self.tz)
        if parsed is None:
            raise InvalidInput(
                "invalid_input",
                _("%(f)s: %(v)r is not a date") % {"f": name, "v": text(value)},
                fields={name: "not a date"},
            )
        return parsed

    def _number(self, name: str, record: dict[str, Any]) -> float | None:
        value = self._value(name, record)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidInput(
                "invalid_input",
                _("%(f)s: %(v)r is not a number") % {"f": name, "v": text(value)},
                fields={name: "not a number"},
            ) from None

    def _choice(self, name: str, record: dict[str, Any]) -> str:
        value = text(self._value(name, record))
        if value and value not in CHOICES[name]:
            raise InvalidInput(
                "invalid_input",
                _("%(f)s: %(v)r is not one of %(all)s")
                % {"f": name, "v": value, "all": ", ".join(CHOICES[name])},
                fields={name: "unknown"},
            )
        return value

    def apply(self, record: dict[str, Any]) -> MappedRow:
        """The petition a record describes. Raises `InvalidInput` for a value it cannot use."""
        external_id = self._text("external_id", record)
        if not external_id:
            raise InvalidInput(
                "missing_field", _("external_id is empty"), fields={"external_id": "required"}
            )
        content = self._text("content", record)
        title = self._text("title", record) or title_from(content)
        received = self._instant("received_on", record)
        status_on = self._instant("status_on", record)
        name = self._text("petitioner_name", record)
        petitioner = PetitionerData(
            name=name,
            phone=self._text("petitioner_phone", record),
            id_number=self._text("petitioner_id_number", record),
            address=self._text("petitioner_address", record),
            email=self._text("petitioner_email", record),
        )
        submission = Submission(
            title=title,
            content=content,
            category=self._choice("category", record) or None,
            topic=self._text("topic", record) or None,
            division_code=self._text("division", record),
            channel=self._choice("channel", record) or Case.Channel.LETTER,
            received_on=received.astimezone(self.tz).date() if received else None,
            to_org=self._text("organ", record) or None,
            petitioners=[petitioner] if name else [],
            anonymous=not name,  # a source without a petitioner's name registers anonymously
            location=self._text("location", record),
            lat=self._number("lat", record),
            lng=self._number("lng", record),
        )
        topic_spec = self.fields.get("topic")
        topic_name = ""
        if topic_spec is not None and topic_spec.create and submission.topic:
            topic_name = submission.topic
            if topic_spec.name_column:
                topic_name = " ".join(text(record.get(topic_spec.name_column)).split())
            submission.topic = topic_code(submission.topic)
        status_spec = self.fields.get("status")
        return MappedRow(
            external_id=external_id,
            submission=submission,
            status=self._choice("status", record) or Case.Status.REGISTERED,
            source_status=text(self._raw("status", record)) if status_spec else "",
            status_on=status_on.astimezone(self.tz).date() if status_on else None,
            requested_at=self._instant("requested_at", record),
            updated_at=self._instant("updated_at", record),
            expected_at=self._instant("expected_at", record),
            topic_name=topic_name,
            data={k: json_ready(v) for k, v in record.items()},
        )


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file: one `InvalidInput` naming what is wrong."""
    if not path.is_file():
        raise InvalidInput("not_found", _("no such mapping file: %s") % path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _bad(_("%(f)s is not valid YAML: %(e)s") % {"f": path.name, "e": exc}) from exc
    return mapping_from(raw)


def mapping_from(raw: Any) -> Mapping:
    if not isinstance(raw, dict):
        raise _bad(_("a mapping is a YAML mapping with source and columns"))
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise _bad(
            _("unknown key(s) %(k)s; known: %(all)s")
            % {"k": ", ".join(unknown), "all": ", ".join(sorted(TOP_KEYS))}
        )
    source = str(raw.get("source") or "").strip()
    if not source or len(source) > 64:
        raise _bad(_("source is required (at most 64 characters): it names the source system"))
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise _bad(_("format must be one of %s") % ", ".join(FORMATS))
    zone = str(raw.get("timezone") or settings.TIME_ZONE)
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(_("unknown timezone %s") % zone) from None
    columns = raw.get("columns")
    if not isinstance(columns, dict):
        raise _bad(_("columns must map field names to columns"))
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise _bad(_("defaults must map field names to values"))
    unknown = sorted((set(columns) | set(defaults)) - set(FIELDS))
    if unknown:
        raise _bad(
            _("unknown field(s) %(k)s; known: %(all)s")
            % {"k": ", ".join(map(str, unknown)), "all": ", ".join(FIELDS)}
        )
    fields = {name: _spec(name, spec) for name, spec in columns.items()}
    for name, value in defaults.items():
        fields.setdefault(name, FieldSpec())
        if fields[name].default is None:
            fields[name].default = value
    if "external_id" not in columns:
        raise _bad(_("columns.external_id is required: it makes a second import change nothing"))
    mapping = Mapping(
        source=source,
        fmt=fmt,
        sheet=raw.get("sheet"),
        encoding=raw.get("encoding"),
        tz=tz,
        model=raw.get("model"),
        fields=fields,
    )
    for name, allowed in CHOICES.items():
        wrong = sorted(mapping.targets(name) - set(allowed))
        if wrong:
            raise _bad(
                _("%(f)s: %(v)s not one of %(all)s")
                % {"f": name, "v": ", ".join(wrong), "all": ", ".join(allowed)}
            )
    for name in DATE_FIELDS:
        spec = fields.get(name)
        if spec is not None and spec.value_map is not None:
            raise _bad(_("columns.%s: dates take formats, not a value map") % name)
    return mapping


# --- values -----------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A cell as text: integral numbers without '.0', dates in ISO form, None as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def topic_code(value: str) -> str:
    """A created topic's code: the source value, or when it is longer than a code may be, its
    start and a digest of the whole (stable across imports, distinct for distinct values)."""
    if len(value) <= TOPIC_CODE_MAX:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{value[: TOPIC_CODE_MAX - 9]}~{digest}"


def tidy(value: str) -> str:
    """Free text without scraped padding: each line stripped, blank runs cut to one blank line."""
    lines = [line.strip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def title_from(content: str) -> str:
    first = content.split("\n", 1)[0].strip()
    limit = min(TITLE_FROM_CONTENT, TITLE_MAX)
    return first if len(first) <= limit else first[: limit - 1] + "…"


def parse_instant(value: Any, formats: Iterable[str], tz: ZoneInfo) -> dt.datetime | None:
    """An aware instant: a spreadsheet date(time) cell or text in ISO 8601, one of `formats` or
    DATE_FORMATS. Naive values are local time in `tz`; a bare date is its midnight there."""
    if isinstance(value, dt.datetime):
        found = value
    elif isinstance(value, dt.date):
        found = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        s = value.strip().strip("'\"").strip()
        found_or_none = _parse_text(s, formats)
        if found_or_none is None:
            return None
        found = found_or_none
    else:
        return None
    return found.replace(tzinfo=tz) if found.tzinfo is None else found


def _parse_text(s: str, formats: Iterable[str]) -> dt.datetime | None:
    if not s:
        return None
    for fmt in formats:
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None
