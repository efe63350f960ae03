"""`petitiondesk check`: what a production deployment still lacks, item by item, each with a
one-line fix. `fail` items make the command exit 1 (deployment scripts stop on them); `warn`
items are worth a look but may be right for a given site."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

from django.conf import settings
from django.db import DatabaseError, connection

Status = Literal["ok", "warn", "fail"]

DEFAULT_HOSTS = frozenset({"127.0.0.1", "localhost", "testserver", "::1"})
MIN_SECRET_KEY_LENGTH = 40
LOW_DISK_BYTES = 1 << 30


@dataclass(frozen=True)
class CheckItem:
    name: str
    status: Status
    message: str
    fix: str = ""


def check_secret_key() -> CheckItem:
    if not os.environ.get("PETITIONDESK_SECRET_KEY", "").strip():
        return CheckItem(
            "secret_key",
            "fail",
            "the secret key is the one generated into the data directory",
            "set PETITIONDESK_SECRET_KEY to the same long random value on every machine "
            "(copy the generated one when access keys were issued with it)",
        )
    if len(settings.SECRET_KEY) < MIN_SECRET_KEY_LENGTH:
        return CheckItem(
            "secret_key",
            "fail",
            f"PETITIONDESK_SECRET_KEY has fewer than {MIN_SECRET_KEY_LENGTH} characters",
            "use python -c 'import secrets; print(secrets.token_urlsafe(50))'",
        )
    return CheckItem("secret_key", "ok", "set from PETITIONDESK_SECRET_KEY")


def check_debug() -> CheckItem:
    if settings.DEBUG:
        return CheckItem(
            "debug",
            "fail",
            "DEBUG is on: errors show code and settings",
            "unset PETITIONDESK_DEBUG",
        )
    return CheckItem("debug", "ok", "DEBUG is off")


def check_allowed_hosts() -> CheckItem:
    hosts = set(settings.ALLOWED_HOSTS)
    if "*" in hosts:
        return CheckItem(
            "allowed_hosts",
            "fail",
            "ALLOWED_HOSTS accepts any host name",
            "set PETITIONDESK_ALLOWED_HOSTS to the site's host names",
        )
    if hosts <= DEFAULT_HOSTS:
        return CheckItem(
            "allowed_hosts",
            "fail",
            "only local host names are allowed",
            "set PETITIONDESK_ALLOWED_HOSTS=petitions.example.gov.cn (comma-separated)",
        )
    return CheckItem("allowed_hosts", "ok", ", ".join(sorted(hosts - DEFAULT_HOSTS)))


def check_https() -> CheckItem:
    if not settings.PETITIONDESK_HTTPS:
        return CheckItem(
            "https",
            "fail",
            "HTTPS is off: cookies and access keys would travel in clear text",
            "set PETITIONDESK_HTTPS=true (and PETITIONDESK_BEHIND_PROXY=true behind nginx)",
        )
    bad_origins = [o for o in settings.CSRF_TRUSTED_ORIGINS if not o.startswith("https://")]
    if bad_origins:
        return CheckItem(
            "https",
            "fail",
            f"CSRF trusted origins not on HTTPS: {', '.join(bad_origins)}",
            "list only https:// origins in PETITIONDESK_CSRF_TRUSTED_ORIGINS",
        )
    if not getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return CheckItem(
            "https",
            "warn",
            "HTTPS is on but X-Forwarded-Proto is not trusted",
            "behind a TLS-terminating proxy set PETITIONDESK_BEHIND_PROXY=true, or every "
            "request is redirected in a loop",
        )
    if not settings.SECURE_SSL_REDIRECT or not settings.SECURE_HSTS_SECONDS:
        return CheckItem(
            "https",
            "warn",
            "plain-HTTP redirect or HSTS is off",
            "unset PETITIONDESK_SSL_REDIRECT and PETITIONDESK_HSTS_SECONDS",
        )
    return CheckItem("https", "ok", "secure cookies, HSTS, redirect, proxy header trusted")


def check_database() -> CheckItem:
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        return CheckItem(
            "database",
            "fail",
            f"cannot connect: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}",
            "check DATABASE_URL and that the server is up",
        )
    if connection.vendor != "postgresql":
        return CheckItem(
            "database",
            "fail",
            f"{connection.vendor} is for embedded use (one machine, one process)",
            "set DATABASE_URL=postgresql://user@host/petitiondesk and run petitiondesk migrate",
        )
    return CheckItem("database", "ok", f"PostgreSQL {connection.pg_version // 10000}")  # type: ignore[attr-defined]


def check_migrations() -> CheckItem:
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return CheckItem("migrations", "fail", "cannot read the database", "see 'database'")
    if plan:
        return CheckItem(
            "migrations",
            "fail",
            f"{len(plan)} migration(s) not applied (first: {plan[0][0].app_label}.{plan[0][0].name})",
            "run petitiondesk migrate",
        )
    return CheckItem("migrations", "ok", "all applied")


def check_calendar() -> CheckItem:
    """A warning, not a failure: from October until the State Council publishes next year's
    schedule nobody can fix it, and clocks computed meanwhile are recomputed on loading."""
    from .health import CALENDAR_HORIZON_DAYS, calendar_covered_until, calendar_horizon

    try:
        covered = calendar_covered_until()
    except DatabaseError:
        return CheckItem("calendar", "fail", "cannot read the database", "see 'database'")
    if covered is None or covered < calendar_horizon():
        missing = (covered.year + 1) if covered else calendar_horizon().year
        return CheckItem(
            "calendar",
            "warn",
            f"official holiday schedule known until {covered or 'never'}: clocks reaching past it "
            f"within {CALENDAR_HORIZON_DAYS} days are provisional",
            f"petitiondesk calendar load {missing}.yaml once the State Council publishes it",
        )
    return CheckItem("calendar", "ok", f"official schedule known until {covered}")


def check_worker() -> CheckItem:
    from .health import heartbeat_age_seconds

    try:
        age = heartbeat_age_seconds()
    except DatabaseError:
        return CheckItem("worker", "fail", "cannot read the database", "see 'database'")
    if age is None:
        return CheckItem(
            "worker",
            "fail",
            "no worker has ever run: no overdue sweep, no notices sent",
            "start petitiondesk worker (a service on one or more machines)",
        )
    if age > settings.PETITIONDESK_HEARTBEAT_STALE_SECONDS:
        return CheckItem(
            "worker",
            "fail",
            f"no worker loop finished for {int(age)} s",
            "check that petitiondesk worker runs and reaches the database (its log)",
        )
    return CheckItem("worker", "ok", f"last heartbeat {int(age)} s ago")


def check_uploads() -> CheckItem:
    folder = settings.PETITIONDESK_UPLOAD_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        writable = os.access(folder, os.W_OK)
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return CheckItem("uploads", "fail", f"{folder}: {exc}", "create it, writable by the app")
    if not writable:
        return CheckItem("uploads", "fail", f"{folder} is not writable", "fix its owner")
    if free < LOW_DISK_BYTES:
        return CheckItem(
            "uploads",
            "warn",
            f"{free // (1 << 20)} MiB free in {folder}",
            "grow the volume: a full one refuses submissions with files (507)",
        )
    return CheckItem("uploads", "ok", f"{folder}, {free // (1 << 30)} GiB free")


def check_mail() -> CheckItem:
    if not settings.EMAIL_HOST:
        return CheckItem(
            "mail",
            "warn",
            "no SMTP server: e-mails are written to the outbox folder, not sent",
            "set PETITIONDESK_SMTP_HOST (and _USER, _PASSWORD)",
        )
    return CheckItem("mail", "ok", f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}")


CHECKS: tuple[Callable[[], CheckItem], ...] = (
    check_secret_key,
    check_debug,
    check_allowed_hosts,
    check_https,
    check_database,
    check_migrations,
    check_calendar,
    check_worker,
    check_uploads,
    check_mail,
)


def deployment_check() -> list[CheckItem]:
    return [check() for check in CHECKS]


def as_json(items: list[CheckItem]) -> dict[str, object]:
    return {"ok": not any(i.status == "fail" for i in items), "items": [asdict(i) for i in items]}


def as_text(items: list[CheckItem]) -> str:
    lines = []
    for item in items:
        lines.append(f"{item.status:<4}  {item.name:<13} {item.message}")
        if item.fix and item.status != "ok":
            lines.append(f"{'':<19} fix: {item.fix}")
    return "\n".join(lines)
