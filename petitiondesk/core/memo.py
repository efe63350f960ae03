"""Per-process memos with a time to live, for reference data read on every request.

Each process keeps its own copy; changes elsewhere are seen once an entry expires (or at once in
the process that calls `clear`). Use only where a short delay is acceptable and documented.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


_all: list[TTLMemo[Any]] = []


def clear_all_memos() -> None:
    """Forget everything memoised in this process (tests; after bulk reference-data changes)."""
    for memo in _all:
        memo.clear()


class TTLMemo(Generic[V]):
    def __init__(self, ttl_seconds: Callable[[], float], *, max_entries: int = 10_000) -> None:
        _all.append(self)
        self._ttl = ttl_seconds
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = load()  # outside the lock: a slow load must not stall other keys
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = (now + self._ttl(), value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
