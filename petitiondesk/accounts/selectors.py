"""Read-side queries over the org tree."""

from __future__ import annotations

from .models import Organisation


def org_ancestor_ids(org_id: int) -> list[int]:
    """Ids of the org's superiors, nearest first."""
    parent_of = dict(Organisation.objects.values_list("id", "parent_id"))
    out: list[int] = []
    cur = parent_of.get(org_id)
    while cur is not None and cur not in out:
        out.append(cur)
        cur = parent_of.get(cur)
    return out


def org_subtree_ids(*org_ids: int) -> set[int]:
    """The given orgs and all their subordinates."""
    children: dict[int, list[int]] = {}
    for oid, pid in Organisation.objects.values_list("id", "parent_id"):
        if pid is not None:
            children.setdefault(pid, []).append(oid)
    out = set(org_ids)
    stack = list(org_ids)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def org_accused_scope(*accused_ids: int) -> set[int]:
    """Orgs that may never receive or see an accusation against `accused_ids` (Art. 30 ¶3, 46):
    the accused and their subordinates, except the petition departments below them, which are the
    channel that must register the accusation and forward it to the discipline organ."""
    below = org_subtree_ids(*accused_ids) - set(accused_ids)
    petition_departments = set(
        Organisation.objects.filter(
            pk__in=below, kind=Organisation.Kind.PETITION_DEPARTMENT
        ).values_list("id", flat=True)
    )
    return (below - petition_departments) | set(accused_ids)


def org_shielding_ids(org_id: int) -> list[int]:
    """The accused orgs whose accusations `org_id` may not see: itself, and its superiors unless it
    is a petition department (the inverse of `org_accused_scope`)."""
    org = Organisation.objects.filter(pk=org_id).values_list("kind", flat=True).first()
    if org == Organisation.Kind.PETITION_DEPARTMENT:
        return [org_id]
    return [org_id, *org_ancestor_ids(org_id)]
