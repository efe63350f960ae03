"""Write transactions that queue fairly on SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

# SQLite has one writer at a time. Threads of the embedded server wait here, in order, instead of
# in SQLite's busy handler, which sleeps with back-off and gives second-long tail latencies.
_sqlite_writer = threading.Lock()


@contextmanager
def write_transaction() -> Iterator[None]:
    """`transaction.atomic()`, serialised per process on SQLite when it is the outermost block."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with _sqlite_writer, transaction.atomic():
            yield
    else:
        with transaction.atomic():
            yield
