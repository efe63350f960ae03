"""Routing and classification suggestions (docs/intelligence.md "Classifiers").

The classifiers named `category`, `topic` and `org` (trained with `petitiondesk model train … --name
NAME`, or `--from-history`) give their top three with a confidence; what they gave is kept with the
case (`RoutingAdvice`), and the verbs that decide the category, topic and organ record what staff
chose, so that the hit rate can be measured and the history keeps teaching the next model.
"""

from __future__ import annotations

from typing import Any

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases.models import Case
from petitiondesk.reference.selectors import topic_names

from .models import RoutingAdvice
from .similarity import case_text

FIELDS = ("category", "topic", "org")  # also the model names intake asks for
TOP = 3


def _labels(field: str, values: list[str]) -> dict[str, str]:
    if field == "category":
        return {v: str(Case.Category(v).label) for v in values if v in Case.Category.values}
    if field == "topic":
        names = topic_names()
        return {v: names[v] for v in values if v in names}
    return dict(
        Organisation.objects.filter(code__in=values, is_active=True).values_list("code", "name")
    )


def suggestions_for(
    title: str, content: str
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """The top suggestions for each field a model exists for, and those models' versions. Values
    the deployment does not know (an organ since dissolved, a topic removed) are left out."""
    from .modelstore import current_version, predict_top

    text = case_text(title, content)
    suggested: dict[str, list[dict[str, Any]]] = {}
    versions: dict[str, str] = {}
    for field in FIELDS:
        top = predict_top(field, text, TOP)
        if not top:
            continue
        labels = _labels(field, [value for value, _confidence in top])
        rows = [
            {"value": value, "label": labels[value], "confidence": round(float(confidence), 3)}
            for value, confidence in top
            if value in labels
        ]
        if rows:
            suggested[field] = rows
            versions[field] = current_version(field) or ""
    return suggested, versions


def advise(case: Case, *, new: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The case's suggestions, computed and kept the first time they are asked for (`new`: the
    case was just registered, so nothing is kept yet and the lookup is skipped)."""
    if not new:
        advice = RoutingAdvice.objects.filter(case=case).first()
        if advice is not None:
            return advice.suggested
    suggested, versions = suggestions_for(case.title, case.content)
    if suggested:
        RoutingAdvice.objects.get_or_create(
            case=case, defaults={"suggested": suggested, "model_versions": versions}
        )
    return suggested


def record_choice(case_id: int, **chosen: str) -> None:
    """Note what staff decided (called by the verbs inside their transaction); nothing to do when
    no suggestion was given."""
    values = {k: v for k, v in chosen.items() if v}
    if not values:
        return
    advice = RoutingAdvice.objects.filter(case_id=case_id).first()
    if advice is not None:
        advice.chosen = {**advice.chosen, **values}
        advice.save(update_fields=["chosen"])


def hit_rates() -> dict[str, dict[str, float | int]]:
    """For each field: of the cases where staff decided after a suggestion, how often the first
    suggestion, or one of the three, was what they chose."""
    rates: dict[str, dict[str, float | int]] = {}
    counts = {f: [0, 0, 0] for f in FIELDS}  # decided, top-1, top-3
    for suggested, chosen in (
        RoutingAdvice.objects.exclude(chosen={})
        .values_list("suggested", "chosen")
        .iterator(chunk_size=2000)
    ):
        for field in FIELDS:
            if field in chosen and suggested.get(field):
                values = [row["value"] for row in suggested[field]]
                counts[field][0] += 1
                counts[field][1] += values[0] == chosen[field]
                counts[field][2] += chosen[field] in values
    for field, (decided, top1, top3) in counts.items():
        rates[field] = {
            "decided": decided,
            "top1": round(top1 / decided, 3) if decided else 0.0,
            "top3": round(top3 / decided, 3) if decided else 0.0,
        }
    return rates
