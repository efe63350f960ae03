"""The `petitiondesk` command (api.md "Command line"). Each command prints one clear line on error
and exits non-zero."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2


class CliError(Exception):
    pass


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _load_file(path: str) -> Any:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise CliError(f"no such file: {path}")
    try:
        text = p.read_text(encoding="utf-8")
        return json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CliError(
            f"{path} is not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {exc}"
        ) from exc


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def cmd_migrate(args: argparse.Namespace) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    print("database is up to date")


def cmd_serve(args: argparse.Namespace) -> None:
    from petitiondesk.core.server import serve

    cmd_migrate(args)
    serve(host=args.host, port=args.port, workers=args.workers, threads=args.threads)


def cmd_worker(args: argparse.Namespace) -> None:
    from petitiondesk.core.background import run_foreground

    print("worker running: tasks and periodic sweeps (Ctrl+C to stop)")
    run_foreground()


def cmd_manage(args: argparse.Namespace) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["petitiondesk manage", *args.args])


def cmd_demo(args: argparse.Namespace) -> None:
    from petitiondesk.core.demo import demo_load, demo_logins, demo_needed

    if args.if_empty and not demo_needed():
        print("database already has data: demo not loaded")
        logins = demo_logins()
        if logins:
            print(logins)
        return
    if not demo_needed():
        raise CliError("the database is not empty; the demo loads only into an empty database")
    summary = demo_load(progress=lambda msg: print(msg, flush=True))
    print(summary)


def cmd_orgs_load(args: argparse.Namespace) -> None:
    from petitiondesk.accounts.services import orgs_load

    data = _load_file(args.file)
    if isinstance(data, dict) and "orgs" in data:
        data = data["orgs"]
    if not isinstance(data, list):
        raise CliError("expected a list of organisations")
    created, updated = orgs_load(records=data)
    print(f"{created} organisation(s) created, {updated} updated")


def cmd_reference_load(args: argparse.Namespace) -> None:
    """`topics load` and `divisions load`: YAML, JSON, CSV or XLSX records into one loader."""
    from petitiondesk.reference import services

    kind = args.kind  # "topics" or "divisions"
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    load = services.topics_load if kind == "topics" else services.divisions_load
    created, updated = load(records=services.read_rows(path, kind))
    print(f"{created} {kind[:-1]}(s) created, {updated} updated")


def cmd_users_add(args: argparse.Namespace) -> None:
    from petitiondesk.accounts.services import user_add

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    user = user_add(username=args.username, org_code=args.org, role=args.role, password=password)
    assert user.org is not None
    print(f"user {user.username} added to {user.org.code} as {user.role}")


def cmd_tokens_create(args: argparse.Namespace) -> None:
    from petitiondesk.accounts.models import User
    from petitiondesk.accounts.services import token_create

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        raise CliError(f"no active user {args.username!r}")
    print(token_create(user=user, name=args.name or "cli"))


def cmd_tokens_list(args: argparse.Namespace) -> None:
    from petitiondesk.accounts.models import ApiToken

    tokens = ApiToken.objects.select_related("user").order_by("id")
    if args.username:
        tokens = tokens.filter(user__username=args.username)
    print("id\tprefix\tuser\tname\tcreated\tlast used\trevoked")
    for t in tokens:
        cells = [
            t.pk,
            t.prefix,
            t.user.username,
            t.name or "-",
            t.created_at,
            t.last_used_at,
            t.revoked_at,
        ]
        print("\t".join("-" if c is None else str(c) for c in cells))


def cmd_tokens_revoke(args: argparse.Namespace) -> None:
    from petitiondesk.accounts.models import ApiToken
    from petitiondesk.accounts.services import token_revoke

    match = ApiToken.objects.filter(prefix=args.token) if not args.token.isdigit() else None
    token = (
        match.first() if match is not None else ApiToken.objects.filter(pk=int(args.token)).first()
    )
    if token is None:
        raise CliError(f"no token with id or prefix {args.token!r} (see `tokens list`)")
    if token.revoked_at is not None:
        raise CliError(f"token {token.prefix}… was already revoked on {token.revoked_at}")
    token_revoke(token_id=token.pk)
    print(f"token {token.prefix}… of {token.user.username} revoked")


def cmd_users_otp(args: argparse.Namespace) -> None:
    import segno

    from petitiondesk.accounts.services import otp_enrol

    url = otp_enrol(username=args.username, replace=args.replace)
    print("Scan this with the user's authenticator app, or enter the URL (shown once; it holds")
    print("the secret key):")
    segno.make(url).terminal(compact=True)
    print(url)


def cmd_deadline(args: argparse.Namespace) -> None:
    from django.db import DatabaseError

    from petitiondesk.calendar.engine import WorkCalendar, compute_due, hearing_days_inclusive
    from petitiondesk.calendar.profiles import PUBLIC_RULES, get_profile
    from petitiondesk.calendar.sources import build_calendar, packaged_schedule

    if args.rule not in PUBLIC_RULES:
        raise CliError(f"unknown rule {args.rule!r}; one of: {', '.join(PUBLIC_RULES)}")
    if args.extension and args.rule != "handling":
        raise CliError("--extension applies to the handling clock only")
    if args.hearing and args.rule != "rereview_decision":
        raise CliError("--hearing applies to the rereview_decision clock only")
    if not 0 <= args.extension <= 366:
        raise CliError("--extension must be between 0 and 366 days")
    hearing_days = 0
    for span in args.hearing:
        try:
            first, last = (dt.date.fromisoformat(x) for x in span.split(":"))
            hearing_days += hearing_days_inclusive(first, last)
        except ValueError:
            raise CliError(f"--hearing {span!r} must be FROM:TO dates, FROM not after TO") from None
    profile_name = args.profile
    if profile_name is None:
        from django.conf import settings

        profile_name = settings.PETITIONDESK_PROFILE
    profile = get_profile(profile_name)
    try:
        calendar = build_calendar()
        calendar.is_working_day(args.start)
    except DatabaseError:
        # No database yet (fresh machine): the packaged schedules still answer.
        calendar = WorkCalendar({}, packaged_schedule)
    due = compute_due(
        start=args.start,
        spec=profile.clock(args.rule),
        calendar=calendar,
        extension_days=args.extension,
        hearing_days=hearing_days,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "rule": args.rule,
                    "start": args.start.isoformat(),
                    "due": due.due_on.isoformat(),
                    "nominal": due.nominal_on.isoformat(),
                    "method": str(due.method),
                    "calendar_version": due.calendar_version,
                    "provisional": due.provisional,
                    "profile": profile.name,
                    "extension_days": args.extension,
                    "hearing_days": hearing_days,
                }
            )
        )
    else:
        print(due.due_on.isoformat())


def cmd_calendar_load(args: argparse.Namespace) -> None:
    from petitiondesk.calendar.services import calendar_load

    data = _load_file(args.file)
    if not isinstance(data, dict):
        raise CliError("expected a mapping with year, holidays and workdays")
    row, changed = calendar_load(data=data, source=Path(args.file).name)
    print(f"calendar {row.year} loaded ({row.version}); {changed} open deadline(s) recomputed")


def cmd_import(args: argparse.Namespace) -> None:
    """Bulk import (docs/import-export.md): a summary on stdout, the progress bar on stderr."""
    from petitiondesk.accounts.models import User
    from petitiondesk.intake.imports import ProgressBar, import_file, summary_lines, write_report
    from petitiondesk.intake.mapping import load_mapping

    actor = User.objects.filter(username=args.as_user, is_active=True).first()
    if actor is None:
        raise CliError(f"no active user {args.as_user!r} (--as names the importing staff member)")
    mapping = load_mapping(Path(args.mapping))
    bar = ProgressBar(enabled=False if args.quiet else None)
    try:
        summary = import_file(
            path=Path(args.file), mapping=mapping, actor=actor, dry_run=args.dry_run, progress=bar
        )
    finally:
        bar.finish()
    print("\n".join(summary_lines(summary)))
    if args.report:
        write_report(summary, Path(args.report))
        print(f"refused rows written to {args.report}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="petitiondesk", description="Petition handling (信访) system")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="migrate and serve HTTP with the in-process worker")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1, help="web processes (default 1)")
    s.add_argument("--threads", type=int, default=8, help="threads per web process")
    s.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    m = sub.add_parser("manage", help="any Django management command")
    m.add_argument("args", nargs=argparse.REMAINDER)
    m.set_defaults(func=cmd_manage)
    sub.add_parser("worker", help="run background jobs and sweeps").set_defaults(func=cmd_worker)
    d = sub.add_parser("demo", help="load the demo into an empty database")
    d.add_argument("--if-empty", action="store_true", help="do nothing when there is data already")
    d.set_defaults(func=cmd_demo)

    orgs = sub.add_parser("orgs", help="organisations").add_subparsers(dest="sub", required=True)
    ol = orgs.add_parser("load", help="create or update organisations from YAML/JSON")
    ol.add_argument("file")
    ol.set_defaults(func=cmd_orgs_load)

    topics = sub.add_parser("topics", help="the topic taxonomy").add_subparsers(
        dest="sub", required=True
    )
    tl_ = topics.add_parser("load", help="create or update topics from YAML, CSV or XLSX")
    tl_.add_argument("file")
    tl_.set_defaults(func=cmd_reference_load, kind="topics")
    divisions = sub.add_parser("divisions", help="administrative divisions").add_subparsers(
        dest="sub", required=True
    )
    dvl = divisions.add_parser("load", help="create or update divisions from YAML, CSV or XLSX")
    dvl.add_argument("file")
    dvl.set_defaults(func=cmd_reference_load, kind="divisions")

    users = sub.add_parser("users", help="staff users").add_subparsers(dest="sub", required=True)
    ua = users.add_parser("add", help="add a user")
    ua.add_argument("username")
    ua.add_argument("--org", required=True)
    ua.add_argument(
        "--role",
        required=True,
        choices=["clerk", "handler", "head", "supervisor", "analyst", "admin"],
    )
    ua.add_argument("--password-stdin", action="store_true")
    ua.set_defaults(func=cmd_users_add)
    uo = users.add_parser("otp", help="enrol a TOTP second factor; prints the otpauth:// URL")
    uo.add_argument("username")
    uo.add_argument("--replace", action="store_true", help="replace an existing device")
    uo.set_defaults(func=cmd_users_otp)

    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="sub", required=True)
    tc = tokens.add_parser("create", help="print a new API token (shown once)")
    tc.add_argument("username")
    tc.add_argument("--name", default="")
    tc.set_defaults(func=cmd_tokens_create)
    tl = tokens.add_parser("list", help="list tokens (never their secret)")
    tl.add_argument("username", nargs="?")
    tl.set_defaults(func=cmd_tokens_list)
    tr = tokens.add_parser("revoke", help="revoke a token by id or prefix")
    tr.add_argument("token", help="the id or the prefix shown by `tokens list`")
    tr.set_defaults(func=cmd_tokens_revoke)

    dl = sub.add_parser("deadline", help="due date of a statutory clock")
    dl.add_argument("rule")
    dl.add_argument("start", type=_date)
    dl.add_argument("--extension", type=int, default=0, metavar="DAYS")
    dl.add_argument("--hearing", action="append", default=[], metavar="FROM:TO")
    dl.add_argument("--profile", default=None)
    dl.add_argument("--json", action="store_true")
    dl.set_defaults(func=cmd_deadline)

    cal = sub.add_parser("calendar", help="working-day calendar").add_subparsers(
        dest="sub", required=True
    )
    cl = cal.add_parser("load", help="load a year's holidays and make-up workdays")
    cl.add_argument("file")
    cl.set_defaults(func=cmd_calendar_load)

    from petitiondesk.mail.cli import add_mail_commands

    add_mail_commands(sub)

    from petitiondesk.analytics.cli import add_analytics_commands
    from petitiondesk.routing.cli import add_index_commands
    from petitiondesk.routing.model_cli import add_model_commands

    add_index_commands(sub)
    add_model_commands(sub)
    add_analytics_commands(sub)
    from petitiondesk.core.cli import add_ops_commands

    add_ops_commands(sub)
    from petitiondesk.core.backup_cli import add_backup_commands

    add_backup_commands(sub)

    im = sub.add_parser("import", help="import petitions from CSV, XLSX or JSON with a mapping")
    im.add_argument("file")
    im.add_argument("--mapping", required=True, metavar="MAPPING.yaml")
    im.add_argument("--as", dest="as_user", required=True, metavar="USER", help="importing staff")
    im.add_argument("--dry-run", action="store_true", help="check every row, store nothing")
    im.add_argument("--report", metavar="FILE.csv", help="write every refused row to FILE.csv")
    im.add_argument("--quiet", action="store_true", help="no progress bar")
    im.set_defaults(func=cmd_import)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup()
    from petitiondesk.core.errors import DomainError

    try:
        args.func(args)
    except (CliError, DomainError) as exc:
        print(f"petitiondesk {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
