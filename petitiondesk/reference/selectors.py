"""Reading reference data for forms and pages, memoised per process (it changes rarely)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import get_language

from petitiondesk.core.memo import TTLMemo

from .models import Division, Topic


@dataclass
class TopicNode:
    code: str
    name: str
    name_en: str
    children: list[TopicNode] = field(default_factory=list)

    def label(self) -> str:
        """The name in the active language (Chinese unless English is chosen and known)."""
        return (
            self.name_en if (get_language() or "").startswith("en") and self.name_en else self.name
        )


def _load_topics() -> list[TopicNode]:
    nodes = {t.code: TopicNode(t.code, t.name, t.name_en) for t in Topic.objects.all()}
    roots: list[TopicNode] = []
    for code, parent in Topic.objects.values_list("code", "parent__code"):
        (nodes[parent].children if parent else roots).append(nodes[code])
    return roots


_topics: TTLMemo[list[TopicNode]] = TTLMemo(lambda: 60, max_entries=1)
_divisions: TTLMemo[dict[str, tuple[str, str, str | None]]] = TTLMemo(lambda: 60, max_entries=1)


def topic_tree() -> list[TopicNode]:
    return _topics.get(None, _load_topics)


def topic_names() -> dict[str, str]:
    """Every topic code with its label in the active language."""
    out: dict[str, str] = {}
    stack = list(topic_tree())
    while stack:
        node = stack.pop()
        out[node.code] = node.label()
        stack.extend(node.children)
    return out


def _load_divisions() -> dict[str, tuple[str, str, str | None]]:
    return {
        code: (name, level, parent)
        for code, name, level, parent in Division.objects.values_list(
            "code", "name", "level", "parent__code"
        )
    }


def divisions() -> dict[str, tuple[str, str, str | None]]:
    """code → (name, level, parent code)."""
    return _divisions.get(None, _load_divisions)


def division_children(parent: str | None) -> list[tuple[str, str]]:
    """(code, name) of the divisions directly under `parent` (None: the top level)."""
    return sorted((c, n) for c, (n, _lv, p) in divisions().items() if p == (parent or None))


def division_path(code: str) -> list[tuple[str, str]]:
    """(code, name) from the top division down to `code`; empty if unknown."""
    known = divisions()
    path: list[tuple[str, str]] = []
    cur: str | None = code
    while cur and cur in known and len(path) < 5:
        name, _level, parent = known[cur]
        path.insert(0, (cur, name))
        cur = parent
    return path


def invalidate_reference() -> None:
    _topics.clear()
    _divisions.clear()
