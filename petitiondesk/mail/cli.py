"""The `petitiondesk mail` commands (added to petitiondesk/cli.py's parser; docs/email.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _actor(args: argparse.Namespace) -> Any:
    from petitiondesk.mail.services import mail_clerk

    return mail_clerk(args.as_user)


def _progress(ref: str, what: str) -> None:
    print(f"{ref}: {what}", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> None:
    from petitiondesk.mail.sources import mail_import

    summary = mail_import(paths=args.paths, actor=_actor(args), progress=_progress)
    print(summary.line())


def cmd_poll(args: argparse.Namespace) -> None:
    from petitiondesk.mail.sources import mail_poll

    summary = mail_poll(actor=_actor(args), progress=_progress)
    print(summary.line())


def cmd_quarantine_list(args: argparse.Namespace) -> None:
    from petitiondesk.mail.selectors import review_list

    rows = list(review_list(_actor(args)))
    for m in rows:
        when = m.received_at.astimezone().strftime("%Y-%m-%d %H:%M")
        reason = m.reason or m.state
        print(f"{m.pk}\t{when}\t{reason}\t{m.from_address}\t{m.subject}")
    print(f"{len(rows)} message(s) to review")


def cmd_quarantine_release(args: argparse.Namespace) -> None:
    from petitiondesk.mail.services import mail_release

    row = mail_release(message_pk=args.id, actor=_actor(args))
    assert row.case is not None
    print(f"message {row.pk} registered as {row.case.tracking_number}")


def cmd_quarantine_dismiss(args: argparse.Namespace) -> None:
    from petitiondesk.mail.services import mail_dismiss

    row = mail_dismiss(message_pk=args.id, actor=_actor(args))
    print(f"message {row.pk} dismissed")


def add_mail_commands(sub: Any) -> None:
    """`mail import|poll|quarantine …` on the top-level subparsers `sub`."""
    mail = sub.add_parser("mail", help="e-mail intake").add_subparsers(dest="sub", required=True)
    as_help = "the clerk who registers the mail (default PETITIONDESK_MAIL_CLERK)"
    mi = mail.add_parser("import", help="import .eml files, directories of them, Maildir folders")
    mi.add_argument("paths", nargs="+", metavar="PATH")
    mi.add_argument("--as", dest="as_user", metavar="USER", help=as_help)
    mi.set_defaults(func=cmd_import)
    mp = mail.add_parser("poll", help="fetch the unseen mail of the IMAP mailbox once")
    mp.add_argument("--as", dest="as_user", metavar="USER", help=as_help)
    mp.set_defaults(func=cmd_poll)
    q = mail.add_parser("quarantine", help="review quarantined mail").add_subparsers(
        dest="action", required=True
    )
    ql = q.add_parser("list", help="messages waiting for review")
    ql.set_defaults(func=cmd_quarantine_list)
    qr = q.add_parser("release", help="register a quarantined message as a petition")
    qr.add_argument("id", type=int)
    qr.set_defaults(func=cmd_quarantine_release)
    qd = q.add_parser("dismiss", help="close a quarantined message without registering it")
    qd.add_argument("id", type=int)
    qd.set_defaults(func=cmd_quarantine_dismiss)
    for p in (ql, qr, qd):
        p.add_argument("--as", dest="as_user", metavar="USER", help=as_help)
