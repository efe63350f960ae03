"""`petitiondesk backup` and `petitiondesk restore` (operations.md "Backups").

Exit status: 0 when the backup/restore verified, 1 when the verification found a difference
(every difference is printed), 2 for a request that cannot be done (one error line)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

EXIT_MISMATCH = 1


def _secret_key_file(data_dir: Path) -> Path | None:
    """The data dir's generated key, unless the key comes from the environment."""
    if os.environ.get("PETITIONDESK_SECRET_KEY", "").strip():
        return None
    return data_dir / "secret_key"


def _target_and_dirs() -> tuple[Any, Path, Path]:
    from django.conf import settings
    from django.db import connections

    from .backup import DatabaseTarget

    target = DatabaseTarget.from_settings_dict(connections["default"].settings_dict)
    return target, Path(settings.PETITIONDESK_UPLOAD_DIR), Path(settings.DATA_DIR)


def _progress(quiet: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return None
    return lambda msg: print(f"… {msg}", file=sys.stderr, flush=True)


def _report(check: Any, command: str, ok_line: str) -> None:
    for line in check.lines:
        print(line)
    if check.ok:
        print(f"OK: {ok_line}")
        return
    for problem in check.problems:
        print(f"MISMATCH: {problem}")
    print(
        f"petitiondesk {command}: MISMATCH: {len(check.problems)} difference(s) from the "
        "backup's manifest (listed above)",
        file=sys.stderr,
    )
    raise SystemExit(EXIT_MISMATCH)


def cmd_backup(args: argparse.Namespace) -> None:
    from petitiondesk.cli import CliError

    from .backup import BackupError, backup_create, backup_verify

    try:
        if args.verify:
            check = backup_verify(Path(args.verify))
            _report(check, "backup", f"{args.verify} is intact and matches its manifest")
            return
        target, uploads, data_dir = _target_and_dirs()
        out = Path(args.out) if args.out else data_dir / "backups"
        result = backup_create(
            target,
            out,
            uploads_dir=uploads,
            secret_key_file=_secret_key_file(data_dir),
            progress=_progress(args.quiet),
        )
    except BackupError as exc:
        raise CliError(str(exc)) from None
    m = result.manifest
    rows = sum(m["tables"].values())
    print(f"backup written to {result.path}")
    print(
        f"{target.describe()}: {len(m['tables'])} tables, {rows:,} rows, "
        f"{m['events']['rows']:,} case events (checksum {m['events']['sha256'][:12]}); "
        f"{m['uploads']['files']} upload file(s), {m['uploads']['bytes']:,} bytes"
    )
    for note in result.notes:
        print(f"note: {note}")


def cmd_restore(args: argparse.Namespace) -> None:
    from petitiondesk.cli import CliError

    from .backup import BackupError, backup_restore, load_manifest

    path = Path(args.directory)
    try:
        manifest = load_manifest(path)
        target, uploads, data_dir = _target_and_dirs()
        if not args.yes:
            if not sys.stdin.isatty():
                raise CliError("add --yes to restore without being asked (stdin is not a terminal)")
            answer = input(
                f"Restore the backup of {manifest['created_at']} into {target.describe()} "
                f"and {uploads}? [y/N] "
            )
            if answer.strip().lower() not in {"y", "yes"}:
                raise CliError("not restored")
        check = backup_restore(
            path,
            target,
            uploads_dir=uploads,
            secret_key_file=_secret_key_file(data_dir),
            force=args.force,
            progress=_progress(args.quiet),
        )
    except BackupError as exc:
        raise CliError(str(exc)) from None
    _report(check, "restore", f"the restored data matches the backup of {manifest['created_at']}")
    print(
        "next: the near-duplicate index is kept outside the database: rebuild it with "
        "`petitiondesk index rebuild`. The dashboards' daily counts came back with the database; "
        "`petitiondesk counts rebuild` recounts them from the case events if in doubt."
    )


def add_backup_commands(sub: Any) -> None:
    b = sub.add_parser(
        "backup", help="back up the database and uploads, with counts and checksums to verify"
    )
    b.add_argument(
        "--out", metavar="DIR", help="where to write the backup (default <data>/backups)"
    )
    b.add_argument(
        "--verify", metavar="BACKUP_DIR", help="check an existing backup instead of writing one"
    )
    b.add_argument("--quiet", action="store_true", help="no progress on stderr")
    b.set_defaults(func=cmd_backup)

    r = sub.add_parser("restore", help="restore a backup into an empty database, then verify it")
    r.add_argument("directory", metavar="BACKUP_DIR")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.add_argument(
        "--force", action="store_true", help="replace the contents of a database that is not empty"
    )
    r.add_argument("--quiet", action="store_true", help="no progress on stderr")
    r.set_defaults(func=cmd_restore)
