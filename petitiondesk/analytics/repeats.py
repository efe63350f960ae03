"""Repeat petitioners, repeat matters and the organs most petitioned about (docs/governance.md).

These read the case table (petitioner identities, links and accusations are not in the
pre-aggregated counts); they serve the reports, which are written by the CLI, the scheduler or a
download, never a dashboard page. Each is one grouped query over the period's cases.

Confidentiality (Art. 30 ¶3): the number of accusations against an organ is shown only to viewers
the accusation may be shown to — never to the organ itself or its superiors (unless the viewer's
organ is a petition department): `accusations_by_org(viewer_org_id=…)` leaves those organs out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from petitiondesk.accounts.models import Organisation
from petitiondesk.accounts.selectors import org_shielding_ids
from petitiondesk.cases.models import Case, CaseLink, Petitioner


def _cases(date_from: dt.date, date_to: dt.date, org_ids: Collection[int] | None) -> QuerySet[Case]:
    qs = Case.objects.filter(received_on__gte=date_from, received_on__lte=date_to)
    if org_ids is not None:
        qs = qs.filter(org_id__in=org_ids)
    return qs


@dataclass(frozen=True)
class RepeatPetitioner:
    key: str  # masked: the last four characters of the ID number or phone
    cases: int
    orgs: int
    last_on: dt.date


def _mask(identity: str) -> str:
    return "*" * max(0, len(identity) - 4) + identity[-4:]


def repeat_petitioners(
    *,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    min_cases: int = 2,
    limit: int = 20,
) -> list[RepeatPetitioner]:
    """People with `min_cases` or more cases received in the period, told apart by ID number
    (else phone); anonymous and confidential petitioners are not counted. Masked identities."""
    cases = _cases(date_from, date_to, org_ids).filter(anonymous=False, confidential=False)
    base = Petitioner.objects.filter(case__in=cases)
    out: list[RepeatPetitioner] = []
    for field in ("id_number", "phone"):
        rows = (
            base.exclude(**{field: ""})
            .values(field)
            .annotate(
                n=Count("case", distinct=True),
                orgs=Count("case__org", distinct=True),
            )
            .filter(n__gte=min_cases)
            .order_by("-n", field)[:limit]
        )
        last: dict[str, dt.date] = {}
        keys = [r[field] for r in rows]
        for key, day in base.filter(**{f"{field}__in": keys}).values_list(
            field, "case__received_on"
        ):
            last[key] = max(day, last.get(key, day))
        seen = {p.key for p in out}
        for r in rows:
            key = _mask(r[field])
            if field == "phone" and key in seen:
                continue
            out.append(
                RepeatPetitioner(key=key, cases=r["n"], orgs=r["orgs"], last_on=last[r[field]])
            )
        if field == "id_number" and out:
            break  # a deployment that records ID numbers counts by them
    out.sort(key=lambda p: (-p.cases, p.key))
    return out[:limit]


@dataclass(frozen=True)
class RepeatMatter:
    tracking_number: str
    title: str
    repeats: int  # other cases of the period linked to it as a duplicate or the same matter


def repeat_matters(
    *,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    limit: int = 20,
) -> list[RepeatMatter]:
    """Matters raised again: cases of the period that other cases were linked to as duplicates
    or the same matter, plus identical texts (same content hash) received more than once."""
    cases = _cases(date_from, date_to, org_ids)
    linked = (
        CaseLink.objects.filter(
            relation__in=[CaseLink.Relation.DUPLICATE, CaseLink.Relation.SAME_MATTER],
            case__in=cases,
        )
        .values("other__tracking_number", "other__title")
        .annotate(n=Count("case", distinct=True))
        .order_by("-n", "other__tracking_number")[:limit]
    )
    found = {
        r["other__tracking_number"]: RepeatMatter(
            r["other__tracking_number"], r["other__title"], r["n"]
        )
        for r in linked
    }
    identical = (
        cases.values("content_hash")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .order_by("-n", "content_hash")[:limit]
    )
    hashes = {r["content_hash"]: r["n"] for r in identical}
    firsts = cases.filter(content_hash__in=hashes).order_by("received_on", "id")
    for case in firsts.only("tracking_number", "title", "content_hash"):
        if case.content_hash in hashes:
            n = hashes.pop(case.content_hash)
            if case.tracking_number not in found:
                found[case.tracking_number] = RepeatMatter(case.tracking_number, case.title, n - 1)
    return sorted(found.values(), key=lambda m: (-m.repeats, m.tracking_number))[:limit]


def accusations_by_org(
    *,
    date_from: dt.date,
    date_to: dt.date,
    org_ids: Collection[int] | None = None,
    viewer_org_id: int | None = None,
    limit: int = 10,
) -> list[tuple[Organisation, int]]:
    """The organs most accused in the period's cases (Case.accused_orgs), largest first. With a
    `viewer_org_id`, the organs whose accusations that organ may not see are left out (module
    docstring); None is the whole deployment (the operator's CLI and scheduled reports)."""
    through = Case.accused_orgs.through.objects.filter(case__in=_cases(date_from, date_to, org_ids))
    if viewer_org_id is not None:
        through = through.exclude(organisation_id__in=org_shielding_ids(viewer_org_id))
    rows = list(
        through.values("organisation_id")
        .annotate(n=Count("case_id", distinct=True))
        .order_by("-n", "organisation_id")[:limit]
    )
    orgs = Organisation.objects.in_bulk([r["organisation_id"] for r in rows])
    return [(orgs[r["organisation_id"]], int(r["n"])) for r in rows]
