"""Bulk import: petitions from another system's CSV, XLSX or JSON export (docs/import-export.md).

Every row registers through `petition_submit` with the importing staff member as actor, gets an
`ExternalRef(source, external_id)` and, when the source says the matter went further than
registration, the status through `case_import_status`. The external id makes the import
idempotent: a row seen before updates its reference (and moves a still-registered case on), never
making a second case.

Rows are written in batches of BATCH_SIZE per transaction, each row in its own savepoint, so a
refused row costs nothing but itself. A dry run does all of it inside one transaction that is rolled
back at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import Organisation, User
from petitiondesk.cases.models import Case, ExternalRef
from petitiondesk.cases.services import case_import_status
from petitiondesk.core import clock
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import DomainError, InvalidInput, PermissionDenied
from petitiondesk.reference.models import Topic
from petitiondesk.reference.selectors import invalidate_reference

from .mapping import MappedRow, Mapping
from .readers import Table, open_table
from .services import petition_submit

BATCH_SIZE = 500
IMPORT_ROLES = frozenset({User.Role.CLERK, User.Role.HANDLER, User.Role.HEAD})


@dataclass
class Refusal:
    line: int
    external_id: str
    code: str
    reason: str


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    topics_created: int = 0
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.refused)


class _DryRun(Exception):
    """Raised at the end of a dry run to roll its transaction back."""


Progress = Callable[[int, Table], None]


def import_file(
    *,
    path: Path,
    mapping: Mapping,
    actor: User,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Import every record of `path` as `mapping` says. Problems with the mapping or the file as a
    whole raise `InvalidInput` before any row is written; problems with a row refuse that row."""
    if actor.role not in IMPORT_ROLES or not actor.is_active:
        raise PermissionDenied("forbidden", _("a %s may not register petitions") % actor.role)
    table = open_table(
        path, fmt=mapping.fmt, sheet=mapping.sheet, encoding=mapping.encoding, model=mapping.model
    )
    try:
        mapping.check_columns(table.columns)
        _check_codes(mapping)
        run = _Run(mapping=mapping, actor=actor, summary=Summary(dry_run=dry_run))
        started = time.monotonic()
        if dry_run:
            try:
                with write_transaction():
                    run.all(table, progress)
                    raise _DryRun
            except _DryRun:
                pass
        else:
            run.all(table, progress)
        run.summary.seconds = time.monotonic() - started
    finally:
        table.close()
    if run.summary.topics_created and not dry_run:
        invalidate_reference()
    return run.summary


def _check_codes(mapping: Mapping) -> None:
    """Organisation and topic codes written in the mapping itself must exist."""
    orgs = mapping.targets("organ")
    known = set(
        Organisation.objects.filter(code__in=orgs, is_active=True).values_list("code", flat=True)
    )
    if orgs - known:
        raise InvalidInput(
            "invalid_mapping",
            _("organ: unknown organisation code(s) %s") % ", ".join(sorted(orgs - known)),
        )
    topics = mapping.targets("topic")
    spec = mapping.fields.get("topic")
    if topics and not (spec and spec.create):
        found = set(Topic.objects.filter(code__in=topics).values_list("code", flat=True))
        if topics - found:
            raise InvalidInput(
                "invalid_mapping",
                _("topic: unknown topic code(s) %s") % ", ".join(sorted(topics - found)),
            )


@dataclass
class _Run:
    mapping: Mapping
    actor: User
    summary: Summary
    seen: dict[str, int] = field(default_factory=dict)  # external id -> line of its first row
    topics: set[str] = field(default_factory=set)
    pending_topic: str | None = None  # created by the row being written; gone if it is refused
    refs: dict[str, ExternalRef] = field(default_factory=dict)  # the batch's, by external id

    def __post_init__(self) -> None:
        self.topics = set(Topic.objects.values_list("code", flat=True))

    def all(self, table: Table, progress: Progress | None) -> None:
        done = 0
        for batch in _batches(table.rows, BATCH_SIZE):
            rows = [(line, self.mapped(record)) for line, record in batch]
            with write_transaction():
                # One query for the batch's known references instead of one a row: a tenth of a
                # row's time. Exact: an external id is written at most once a run (`seen`).
                self.refs = self.known_refs(row for _line, row in rows)
                for line, row in rows:
                    self.row(line, row)
            done += len(batch)
            if progress is not None:
                progress(done, table)

    def mapped(self, record: dict[str, Any]) -> MappedRow | DomainError:
        try:
            return self.mapping.apply(record)
        except DomainError as exc:  # refused in its turn by `row`, keeping the refusals in order
            return exc

    def known_refs(self, rows: Iterable[MappedRow | DomainError]) -> dict[str, ExternalRef]:
        ids = {row.external_id for row in rows if isinstance(row, MappedRow)}
        refs = ExternalRef.objects.filter(source=self.mapping.source, external_id__in=ids)
        return {ref.external_id: ref for ref in refs.select_related("case")}

    def row(self, line: int, mapped: MappedRow | DomainError) -> None:
        if isinstance(mapped, DomainError):
            self.refuse(Refusal(line, "", mapped.code, mapped.message))
            return
        external_id = mapped.external_id
        try:
            first = self.seen.get(external_id)
            if first is not None:
                raise InvalidInput(
                    "duplicate_external_id",
                    _("external id %(id)s appears again (first on line %(n)d)")
                    % {"id": external_id, "n": first},
                )
            self.seen[external_id] = line
            with transaction.atomic():  # a savepoint: a refused row leaves the batch intact
                outcome = self.store(mapped)
        except DomainError as exc:
            self.refuse(Refusal(line, external_id, exc.code, exc.message))
            return
        except IntegrityError as exc:  # e.g. the same external id written by a concurrent import
            self.refuse(Refusal(line, external_id, "conflict", str(exc)))
            return
        self.pending_topic = None
        setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)

    def refuse(self, refusal: Refusal) -> None:
        self.summary.refused.append(refusal)
        if self.pending_topic is not None:  # its savepoint was rolled back with the row
            self.topics.discard(self.pending_topic)
            self.summary.topics_created -= 1
            self.pending_topic = None

    def store(self, row: MappedRow) -> str:
        """Write one mapped row; "created", "updated" or "unchanged"."""
        source = self.mapping.source
        ref = self.refs.get(row.external_id)
        if ref is None:
            self.ensure_topic(row)
            receipt = petition_submit(submission=row.submission, actor=self.actor)
            ExternalRef.objects.create(
                case=receipt.case,
                source=source,
                external_id=row.external_id,
                requested_at=row.requested_at,
                updated_at=row.updated_at,
                expected_at=row.expected_at,
                data=row.data,
            )
            self.move_on(receipt.case, row)
            return "created"
        changed = False
        values = {
            "requested_at": row.requested_at,
            "updated_at": row.updated_at,
            "expected_at": row.expected_at,
            "data": row.data,
        }
        if any(getattr(ref, k) != v for k, v in values.items()):
            ExternalRef.objects.filter(pk=ref.pk).update(**values)
            changed = True
        if ref.case.status == Case.Status.REGISTERED and row.status != Case.Status.REGISTERED:
            self.move_on(ref.case, row)
            changed = True
        return "updated" if changed else "unchanged"

    def ensure_topic(self, row: MappedRow) -> None:
        code = row.submission.topic
        if not code or code in self.topics:
            return
        spec = self.mapping.fields.get("topic")
        if spec is None or not spec.create:
            raise InvalidInput(
                "invalid_input",
                _("topic: unknown topic code %s") % code,
                fields={"topic": "unknown"},
            )
        name = (row.topic_name or code)[:100]
        _topic, created = Topic.objects.get_or_create(code=code, defaults={"name": name})
        self.topics.add(code)
        if created:
            self.pending_topic = code
            self.summary.topics_created += 1

    def move_on(self, case: Case, row: MappedRow) -> None:
        if row.status == Case.Status.REGISTERED:
            return
        # The step's date: the source's status date, within what the case's timeline allows.
        on = row.status_on or (
            row.updated_at.astimezone(self.mapping.tz).date() if row.updated_at else None
        )
        latest = case.last_effective_on
        effective_on = min(max(on or latest, latest), clock.today())
        case_import_status(
            case_id=case.pk,
            actor=self.actor,
            status=row.status,
            source=self.mapping.source,
            source_status=row.source_status,
            effective_on=effective_on,
        )


def _batches(
    rows: Iterator[tuple[int, dict[str, Any]]], size: int
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    batch: list[tuple[int, dict[str, Any]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- showing progress and the summary -----------------------------------------------------------


class ProgressBar:
    """A one-line progress bar on a terminal (stderr); silent when it is not a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, table: Table) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        fraction = table.done()
        if fraction is None and table.total:
            fraction = min(1.0, done / table.total)
        rate = done / max(now - self.started, 1e-6)
        if fraction is None:
            bar = f"{done} rows"
        else:
            filled = int(fraction * self.WIDTH)
            bar = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%} {done} rows"
        self.stream.write(f"\r{bar} {rate:,.0f}/s ")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def summary_lines(summary: Summary, *, shown: int = 20) -> list[str]:
    head = _("dry run, nothing stored: ") if summary.dry_run else ""
    lines = [
        head
        + _("%(rows)d rows: %(c)d created, %(u)d updated, %(n)d unchanged, %(r)d refused")
        % {
            "rows": summary.rows,
            "c": summary.created,
            "u": summary.updated,
            "n": summary.unchanged,
            "r": len(summary.refused),
        }
        + (_(" (%d topics created)") % summary.topics_created if summary.topics_created else "")
        + f" in {summary.seconds:.1f} s"
    ]
    for refusal in summary.refused[:shown]:
        lines.append(_("line %(n)d: %(reason)s") % {"n": refusal.line, "reason": refusal.reason})
    if len(summary.refused) > shown:
        lines.append(
            _("… and %d more refused rows (--report FILE.csv lists them all)")
            % (len(summary.refused) - shown)
        )
    return lines


def write_report(summary: Summary, path: Path) -> None:
    """Every refused row: line, external id, code and reason (UTF-8 with BOM, for spreadsheets)."""
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "external_id", "code", "reason"])
        for r in summary.refused:
            writer.writerow([r.line, r.external_id, r.code, r.reason])
