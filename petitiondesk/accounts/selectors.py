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
