"""Reads of the analytics app from a PostgreSQL read replica (PETITIONDESK_REPLICA_URL adds the
`replica` alias; docs/deploy.md). Dashboards read pre-computed counts that a replica may serve a
few seconds late; everything else, and any read inside a transaction (the rollup reads what it
then updates), stays on the primary."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections

REPLICA = "replica"
REPLICA_APPS = frozenset({"analytics"})


class AnalyticsReplicaRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if (
            model._meta.app_label in REPLICA_APPS
            and REPLICA in settings.DATABASES
            and not connections["default"].in_atomic_block
        ):
            return REPLICA
        return None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica holds the same rows: objects from either side relate.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # A physical replica follows the primary's schema; it is never migrated itself.
        return db != REPLICA
