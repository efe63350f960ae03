"""Writing a new case and its first rows: the durable step of intake.

On PostgreSQL the duplicate lookup, the case, its petitioners, first deadlines, registration event
and duplicate links go to the server as one statement (one round trip, no ORM query building per
request): intake is the hot path. Elsewhere, and for the rare accusations with accused
organisations (a many-to-many write), the ORM writes the same rows. `tests/test_intake_store.py`
checks that both paths store identical rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import cache
from typing import Any

import psycopg
from django.db import connection
from django.db.models import Model

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases.models import Case, CaseEvent, CaseLink, Deadline, Petitioner
from petitiondesk.core.db import write_transaction

MAX_DUPLICATES = 5
EXACT_BASIS = ("same_text",)  # the grounds recorded on a link to an identical text


def registration_store(
    *,
    case: Case,
    petitioners: Sequence[Petitioner],
    deadlines: Sequence[Deadline],
    event: CaseEvent,
    accused: Sequence[Organisation] = (),
    links: Sequence[CaseLink] = (),
) -> list[int]:
    """Store a new case with its first rows in one transaction; return the ids of earlier cases
    with the same text (linked as duplicates). `links` are the other links intake found (near-
    duplicates, the same petitioner's matter); a duplicate link to an identical text is made once.
    Sets `case.pk`."""
    if connection.vendor == "postgresql" and not accused:
        return _store_in_one_statement(case, petitioners, deadlines, event, links)
    return _store_with_orm(case, petitioners, deadlines, event, accused, links)


def _store_with_orm(
    case: Case,
    petitioners: Sequence[Petitioner],
    deadlines: Sequence[Deadline],
    event: CaseEvent,
    accused: Sequence[Organisation],
    links: Sequence[CaseLink],
) -> list[int]:
    with write_transaction():
        duplicates = list(
            Case.objects.filter(content_hash=case.content_hash)
            .order_by("-id")
            .values_list("id", flat=True)[:MAX_DUPLICATES]
        )
        case.save(force_insert=True)
        for row in (*petitioners, *deadlines, event, *links):
            row.case = case  # type: ignore[attr-defined]
        Petitioner.objects.bulk_create(petitioners)
        Deadline.objects.bulk_create(deadlines)
        event.save(force_insert=True)
        if accused:
            case.accused_orgs.set(accused)
        CaseLink.objects.bulk_create(
            [
                CaseLink(
                    case=case,
                    other_id=d,
                    relation=CaseLink.Relation.DUPLICATE,
                    score=1.0,
                    basis=list(EXACT_BASIS),
                )
                for d in duplicates
            ]
            + [
                link
                for link in links
                if not (
                    link.relation == CaseLink.Relation.DUPLICATE and link.other_id in duplicates
                )
            ]
        )
    return duplicates


def _columns(model: type[Model], *, skip: tuple[str, ...] = ()) -> list[Any]:
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip]


def _iso(value: Any) -> str:
    # Full precision (DjangoJSONEncoder would cut timestamps to milliseconds).
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _record(obj: Model, fields: list[Any]) -> dict[str, Any]:
    """The row as JSON-ready column values (`pre_save` fills auto_now timestamps)."""
    return {f.column: f.pre_save(obj, add=True) for f in fields}


@cache
def _statement(with_petitioners: bool, with_links: bool) -> str:
    """The SQL of a registration. Rows travel as JSON documents: six parameters whatever the
    shape, so the driver converts the statement once and PostgreSQL types every value by its
    column (jsonb_populate_record)."""
    case_table = Case._meta.db_table

    def insert(model: type[Model], alias: str, *, many: bool) -> str:
        fields = _columns(model, skip=("case_id",))
        table = model._meta.db_table
        cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        picked = ", ".join(f"r.{connection.ops.quote_name(f.column)}" for f in fields)
        source = (
            f"jsonb_populate_recordset(NULL::{table}, %s::jsonb) WITH ORDINALITY AS r"
            if many
            else f"jsonb_populate_record(NULL::{table}, %s::jsonb) AS r"
        )
        order = " ORDER BY r.ordinality" if many else ""
        return (
            f"{alias} AS (INSERT INTO {table} (case_id, {cols}) "
            f"SELECT new_case.id, {picked} FROM new_case, {source}{order})"
        )

    case_fields = _columns(Case)
    case_cols = ", ".join(connection.ops.quote_name(f.column) for f in case_fields)
    case_picked = ", ".join(f"r.{connection.ops.quote_name(f.column)}" for f in case_fields)
    parts = [
        f"dup AS (SELECT id FROM {case_table} WHERE content_hash = %s "
        f"ORDER BY id DESC LIMIT {MAX_DUPLICATES})",
        f"new_case AS (INSERT INTO {case_table} ({case_cols}) SELECT {case_picked} "
        f"FROM jsonb_populate_record(NULL::{case_table}, %s::jsonb) AS r RETURNING id)",
    ]
    if with_petitioners:
        parts.append(insert(Petitioner, "petitioners", many=True))
    parts += [
        insert(Deadline, "deadlines", many=True),
        insert(CaseEvent, "event", many=False),
        f"links AS (INSERT INTO {CaseLink._meta.db_table} "
        "(case_id, other_id, relation, score, basis, created_at) "
        "SELECT new_case.id, dup.id, %s, 1.0, %s::jsonb, now() FROM new_case CROSS JOIN dup)",
    ]
    if with_links:
        # What the repeat matching found, less the duplicate links the identical texts got above
        # (two inserts of one row in one statement would collide).
        parts.append(
            f"found AS (INSERT INTO {CaseLink._meta.db_table} "
            "(case_id, other_id, relation, score, basis, created_at) "
            "SELECT new_case.id, r.other_id, r.relation, r.score, r.basis, now() FROM new_case, "
            "jsonb_to_recordset(%s::jsonb) AS r(other_id bigint, relation text, score float8, "
            "basis jsonb) WHERE NOT (r.relation = %s AND r.other_id IN (SELECT id FROM dup)))"
        )
    return "WITH " + ",\n".join(parts) + "\nSELECT id, ARRAY(SELECT id FROM dup) FROM new_case"


def _store_in_one_statement(
    case: Case,
    petitioners: Sequence[Petitioner],
    deadlines: Sequence[Deadline],
    event: CaseEvent,
    links: Sequence[CaseLink],
) -> list[int]:
    def rows(model: type[Model], objs: Sequence[Model]) -> str:
        fields = _columns(model, skip=("case_id",))
        return json.dumps([_record(o, fields) for o in objs], default=_iso)

    params: list[Any] = [
        case.content_hash,
        json.dumps(_record(case, _columns(Case)), default=_iso),
    ]
    if petitioners:
        params.append(rows(Petitioner, petitioners))
    params += [
        rows(Deadline, deadlines),
        json.dumps(_record(event, _columns(CaseEvent, skip=("case_id",))), default=_iso),
        CaseLink.Relation.DUPLICATE.value,
        json.dumps(list(EXACT_BASIS)),
    ]
    if links:
        params += [
            json.dumps(
                [
                    {
                        "other_id": link.other_id,
                        "relation": link.relation,
                        "score": link.score,
                        "basis": link.basis,
                    }
                    for link in links
                ]
            ),
            CaseLink.Relation.DUPLICATE.value,
        ]
    # One statement is one transaction by itself: no BEGIN/COMMIT round trips around it. It runs
    # as a server-side prepared statement, so PostgreSQL parses and plans it once per connection.
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_statement(bool(petitioners), bool(links)), params, prepare=True)
        row = cursor.fetchone()
    assert row is not None
    case_id, duplicates = row
    case.pk = case_id
    case._state.adding = False
    case._state.db = connection.alias
    for child in (*petitioners, *deadlines, event):
        child.case = case  # type: ignore[attr-defined]
    return sorted(duplicates, reverse=True)
