"""Read-side queries over the org tree.

Every staff request asks who is above or below whom (scope, accusation shields, appeal levels), so
the tree is read once into a per-process snapshot instead of once per question. Loading orgs through
`accounts.services` refreshes it at once in that process; other processes see changes within
PETITIONDESK_ORG_CACHE_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from petitiondesk.core.memo import TTLMemo

from .models import Organisation


@dataclass(frozen=True)
class OrgTree:
    parent_of: dict[int, int | None]
    kind_of: dict[int, str]
    children_of: dict[int, list[int]]


def _load_tree() -> OrgTree:
    parent_of: dict[int, int | None] = {}
    kind_of: dict[int, str] = {}
    children_of: dict[int, list[int]] = {}
    for oid, pid, kind in Organisation.objects.values_list("id", "parent_id", "kind"):
        parent_of[oid] = pid
        kind_of[oid] = kind
        if pid is not None:
            children_of.setdefault(pid, []).append(oid)
    return OrgTree(parent_of, kind_of, children_of)


_tree: TTLMemo[OrgTree] = TTLMemo(lambda: settings.PETITIONDESK_ORG_CACHE_SECONDS, max_entries=1)


def org_tree() -> OrgTree:
    return _tree.get(None, _load_tree)


def invalidate_org_tree() -> None:
    _tree.clear()
    _active.clear()


def org_ancestor_ids(org_id: int) -> list[int]:
    """Ids of the org's superiors, nearest first."""
    parent_of = org_tree().parent_of
    out: list[int] = []
    cur = parent_of.get(org_id)
    while cur is not None and cur not in out:
        out.append(cur)
        cur = parent_of.get(cur)
    return out


def org_subtree_ids(*org_ids: int) -> set[int]:
    """The given orgs and all their subordinates."""
    children_of = org_tree().children_of
    out = set(org_ids)
    stack = list(org_ids)
    while stack:
        for child in children_of.get(stack.pop(), []):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def org_accused_scope(*accused_ids: int) -> set[int]:
    """Orgs that may never receive or see an accusation against `accused_ids` (Art. 30 ¶3, 46):
    the accused and their subordinates, except the petition departments below them, which are the
    channel that must register the accusation and forward it to the discipline organ."""
    kind_of = org_tree().kind_of
    below = org_subtree_ids(*accused_ids) - set(accused_ids)
    channels = {o for o in below if kind_of.get(o) == Organisation.Kind.PETITION_DEPARTMENT}
    return (below - channels) | set(accused_ids)


def org_shielding_ids(org_id: int) -> list[int]:
    """The accused orgs whose accusations `org_id` may not see: itself, and its superiors unless it
    is a petition department (the inverse of `org_accused_scope`)."""
    if org_tree().kind_of.get(org_id) == Organisation.Kind.PETITION_DEPARTMENT:
        return [org_id]
    return [org_id, *org_ancestor_ids(org_id)]


def org_names(codes: list[str]) -> dict[str, str]:
    """code → name of the given organisations (unknown codes are left out)."""
    if not codes:
        return {}
    return dict(Organisation.objects.filter(code__in=codes).values_list("code", "name"))


_active: TTLMemo[list[tuple[int, str, str]]] = TTLMemo(
    lambda: settings.PETITIONDESK_ORG_CACHE_SECONDS, max_entries=1
)


def active_orgs() -> list[tuple[int, str, str]]:
    """(id, code, name) of every active organisation, by code: the forms' organisation pickers,
    read once per process (refreshed with the org tree)."""
    return _active.get(
        None,
        lambda: list(
            Organisation.objects.filter(is_active=True)
            .order_by("code")
            .values_list("id", "code", "name")
        ),
    )
