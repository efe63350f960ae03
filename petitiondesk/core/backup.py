"""Backups that prove themselves (operations.md "Backups").

A backup is one directory: the database (SQLite through the online backup API, PostgreSQL through
`pg_dump -Fc`), a copy of the uploads directory (attachments and frozen notice PDFs), and
`manifest.json` with the **verification data**: the row count of every table and a SHA-256 over
the case events (`id, case_id, verb, effective_on, payload` in id order), both taken from the very
snapshot that was dumped, plus a checksum of the dump file and of the uploads.

`backup_verify` checks a backup without restoring it; `backup_restore` restores into an empty
database and recomputes the counts and the event checksum there. Nothing here goes through the
Django connection: the functions work on a `DatabaseTarget`, so they also serve a database the
running process is not configured for (tests, a restore drill on another database).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import file_sha256

FORMAT = "petitiondesk-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.dump"
UPLOADS = "uploads"
SECRET_KEY_FILE = "secret_key"
EVENT_CHUNK = 5000  # case events read per query while checksumming
EVENT_TABLE = "cases_caseevent"

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot be done (missing tool, wrong database, unreadable backup)."""


# --- where the data lives ----------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseTarget:
    """A database to back up or restore into: a SQLite file or a PostgreSQL database."""

    vendor: str  # "sqlite" | "postgresql"
    sqlite_path: Path | None = None
    pg: dict[str, str] = field(default_factory=dict)  # host, port, user, password, dbname

    @classmethod
    def from_settings_dict(cls, settings_dict: dict[str, Any]) -> DatabaseTarget:
        engine = str(settings_dict.get("ENGINE", ""))
        if engine.endswith("sqlite3"):
            return cls(vendor="sqlite", sqlite_path=Path(str(settings_dict["NAME"])))
        if "postgresql" in engine:
            pg = {
                "host": str(settings_dict.get("HOST") or ""),
                "port": str(settings_dict.get("PORT") or ""),
                "user": str(settings_dict.get("USER") or ""),
                "password": str(settings_dict.get("PASSWORD") or ""),
                "dbname": str(settings_dict["NAME"]),
            }
            return cls(vendor="postgresql", pg=pg)
        raise BackupError(f"backups support SQLite and PostgreSQL, not {engine or 'this engine'}")

    def describe(self) -> str:
        if self.vendor == "sqlite":
            return f"SQLite {self.sqlite_path}"
        where = self.pg.get("host") or "local socket"
        return f"PostgreSQL database {self.pg['dbname']} on {where}"

    def pg_env(self) -> dict[str, str]:
        """The environment for pg_dump/pg_restore: the password never appears on a command line."""
        env = dict(os.environ)
        for key, var in (
            ("host", "PGHOST"),
            ("port", "PGPORT"),
            ("user", "PGUSER"),
            ("password", "PGPASSWORD"),
            ("dbname", "PGDATABASE"),
        ):
            env.pop(var, None)
            if self.pg.get(key):
                env[var] = self.pg[key]
        return env

    def pg_connect(self, **kwargs: Any) -> Any:
        import psycopg
        from psycopg.conninfo import make_conninfo

        conninfo = make_conninfo("", **{k: v for k, v in self.pg.items() if v})
        try:
            return psycopg.connect(conninfo, connect_timeout=10, **kwargs)
        except psycopg.OperationalError as exc:
            raise BackupError(f"cannot connect to {self.describe()}: {exc}") from exc


# --- the verification data ---------------------------------------------------------------------


def event_rows_digest(rows: Iterable[tuple[Any, ...]]) -> tuple[int, str]:
    """(rows, sha256) over `id, case_id, verb, effective_on, payload` rows given in id order."""
    digest = hashlib.sha256()
    n = 0
    for event_id, case_id, verb, effective_on, payload in rows:
        line = json.dumps(
            [int(event_id), int(case_id), str(verb), str(effective_on), payload],
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        digest.update(line.encode())
        digest.update(b"\n")
        n += 1
    return n, digest.hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _list_tables(cursor: Any, vendor: str) -> list[str]:
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = ANY(current_schemas(false))"
        )
    return sorted(str(r[0]) for r in cursor.fetchall())


def _event_chunks(cursor: Any, vendor: str) -> Iterator[tuple[Any, ...]]:
    """The case events in id order, read in chunks (keyset paging: never one huge result)."""
    mark = "?" if vendor == "sqlite" else "%s"
    sql = (
        f"SELECT id, case_id, verb, effective_on, payload FROM {EVENT_TABLE} "
        f"WHERE id > {mark} ORDER BY id LIMIT {EVENT_CHUNK}"
    )
    last = 0
    while True:
        cursor.execute(sql, (last,))
        rows = cursor.fetchall()
        for row in rows:
            # SQLite gives the JSON text, psycopg the decoded jsonb: checksum the values, not
            # their spelling (the same data gives the same checksum on both).
            yield row if vendor != "sqlite" else (*row[:4], json.loads(row[4]))
        if len(rows) < EVENT_CHUNK:
            return
        last = int(rows[-1][0])


def database_fingerprint(cursor: Any, vendor: str) -> dict[str, Any]:
    """Row counts of every table and the case-event checksum, read through a DB-API cursor.
    On PostgreSQL call it inside one REPEATABLE READ transaction, so all counts see one snapshot."""
    tables = _list_tables(cursor, vendor)
    counts: dict[str, int] = {}
    for table in tables:
        cursor.execute(f"SELECT count(*) FROM {_quote(table)}")
        counts[table] = int(cursor.fetchone()[0])
    rows, sha = (
        event_rows_digest(_event_chunks(cursor, vendor)) if EVENT_TABLE in counts else (0, "")
    )
    return {"tables": counts, "events": {"rows": rows, "sha256": sha}}


def compare_fingerprints(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Every difference between the manifest's verification data and a recomputed one."""
    problems = []
    want, got = expected["tables"], found["tables"]
    for table in sorted(set(want) | set(got)):
        if table not in got:
            problems.append(f"table {table}: in the backup, missing after restore")
        elif table not in want:
            problems.append(f"table {table}: not in the backup ({got[table]} rows)")
        elif want[table] != got[table]:
            problems.append(
                f"table {table}: {want[table]} rows in the manifest, {got[table]} found"
            )
    ev_want, ev_got = expected["events"], found["events"]
    if ev_want["rows"] != ev_got["rows"]:
        problems.append(f"case events: {ev_want['rows']} in the manifest, {ev_got['rows']} found")
    if ev_want["sha256"] != ev_got["sha256"]:
        problems.append(
            f"case events checksum: {ev_want['sha256'][:16]}… in the manifest, "
            f"{ev_got['sha256'][:16]}… found"
        )
    return problems


def _upload_files(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix != ".part"  # .part: a file being written right now
    )


def uploads_fingerprint(root: Path, names: list[str] | None = None) -> dict[str, Any]:
    """Files, bytes and a SHA-256 over `name<TAB>sha256` lines of the uploads under `root`
    (or of the given names there: what a restore must have brought back)."""
    digest = hashlib.sha256()
    total = 0
    names = _upload_files(root) if names is None else names
    missing = 0
    for name in names:
        path = root / name
        if not path.is_file():
            missing += 1
            continue
        total += path.stat().st_size
        digest.update(f"{name}\t{file_sha256(path)}\n".encode())
    return {"files": len(names) - missing, "bytes": total, "sha256": digest.hexdigest()}


def compare_uploads(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    if expected == found:
        return []
    return [
        f"uploads: {expected['files']} file(s), {expected['bytes']} bytes in the manifest; "
        f"{found['files']} file(s), {found['bytes']} bytes found"
        + ("" if expected["files"] != found["files"] else " (contents differ)")
    ]


# --- PostgreSQL tools --------------------------------------------------------------------------


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(
            f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client)"
        ) from None


def pg_tool_major(tool: str) -> int:
    out = _run([tool, "--version"]).stdout
    found = re.search(r"\)\s*(\d+)", out)
    if not found:
        raise BackupError(f"cannot read the version of {tool} from {out.strip()!r}")
    return int(found.group(1))


def pg_version_note(tool: str, server_major: int) -> str:
    """'' when the tool matches the server; a note when newer; BackupError when older."""
    client = pg_tool_major(tool)
    if client < server_major:
        raise BackupError(
            f"{tool} {client} cannot handle a PostgreSQL {server_major} server: install the "
            f"client of version {server_major} (Debian: postgresql-client-{server_major})"
        )
    if client > server_major:
        return (
            f"{tool} {client} is newer than the server ({server_major}): fine, but restore "
            f"with pg_restore {client} or newer"
        )
    return ""


# --- backup ------------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backup_create(
    target: DatabaseTarget,
    out_root: Path,
    *,
    uploads_dir: Path,
    secret_key_file: Path | None = None,
    progress: Progress | None = None,
) -> BackupResult:
    """Write a backup directory under `out_root` and return it. The directory is written as
    `<name>.partial` and renamed at the end: a backup that is there is complete. `secret_key_file`
    is the generated key of the data dir (access keys are hashed with it), copied when given."""
    say = progress or (lambda _msg: None)
    started = _now_utc()
    name = f"petitiondesk-{target.vendor}-{started:%Y%m%dT%H%M%SZ}"
    final = out_root / name
    n = 1
    while final.exists():  # two backups in one second
        n += 1
        final = out_root / f"{name}-{n}"
    work = final.with_name(final.name + ".partial")
    work.mkdir(parents=True)
    notes: list[str] = []
    try:
        if target.vendor == "sqlite":
            say(f"copying {target.describe()} (online backup API)")
            db_file = work / SQLITE_FILE
            fingerprint = _sqlite_backup(target, db_file)
            source: dict[str, Any] = {"sqlite_version": sqlite3.sqlite_version}
        else:
            say(f"dumping {target.describe()} (pg_dump -Fc)")
            db_file = work / PG_FILE
            fingerprint, source, notes = _pg_backup(target, db_file)
        # After the database snapshot: a file is written before its row commits, so every
        # attachment row in the snapshot finds its file in the copy.
        say(f"copying uploads from {uploads_dir}")
        names = _copy_uploads(uploads_dir, work / UPLOADS)
        has_key = secret_key_file is not None and secret_key_file.is_file()
        if has_key:
            assert secret_key_file is not None
            shutil.copy2(secret_key_file, work / SECRET_KEY_FILE)
        say("checksumming")
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created_at": started.isoformat(timespec="seconds"),
            "finished_at": _now_utc().isoformat(timespec="seconds"),
            "vendor": target.vendor,
            "database_file": db_file.name,
            "database_bytes": db_file.stat().st_size,
            "database_sha256": file_sha256(db_file),
            "source": source,
            "tables": fingerprint["tables"],
            "events": fingerprint["events"],
            "uploads": uploads_fingerprint(work / UPLOADS, names),
            "secret_key_sha256": file_sha256(work / SECRET_KEY_FILE) if has_key else "",
            "notes": notes,
        }
        (work / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupResult(path=final, manifest=manifest, notes=notes)


def _sqlite_backup(target: DatabaseTarget, db_file: Path) -> dict[str, Any]:
    assert target.sqlite_path is not None
    if not target.sqlite_path.is_file():
        raise BackupError(f"no SQLite database at {target.sqlite_path}")
    src = sqlite3.connect(target.sqlite_path, timeout=30)
    dst = sqlite3.connect(db_file)
    try:
        # In one step (pages=-1): the copy is one read transaction, a consistent snapshot; in WAL
        # mode it does not block the server's writers. (Stepwise copying restarts on every write.)
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
        return database_fingerprint(dst.cursor(), "sqlite")
    finally:
        dst.close()
        src.close()


def _pg_backup(
    target: DatabaseTarget, db_file: Path
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    import psycopg

    notes: list[str] = []
    with target.pg_connect() as con:
        server_num = int(con.execute("SHOW server_version_num").fetchone()[0])
        server_major = server_num // 10000
        con.commit()  # the snapshot transaction below must be a fresh one
        note = pg_version_note("pg_dump", server_major)
        if note:
            notes.append(note)
        # One snapshot for the dump and the verification data: pg_dump joins this transaction's
        # snapshot (--snapshot), and the counts are read in the same transaction.
        con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        con.read_only = True
        (snapshot,) = con.execute("SELECT pg_export_snapshot()").fetchone()
        proc = _run(
            ["pg_dump", "-Fc", "--no-owner", "--snapshot", str(snapshot), "-f", str(db_file)],
            env=target.pg_env(),
        )
        if proc.returncode != 0:
            raise BackupError(f"pg_dump failed: {proc.stderr.strip()[-800:]}")
        fingerprint = database_fingerprint(con.cursor(), "postgresql")
        con.rollback()
        source = {
            "server_version": con.execute("SHOW server_version").fetchone()[0],
            "pg_dump": _run(["pg_dump", "--version"]).stdout.strip(),
            "database": target.pg["dbname"],
        }
    return fingerprint, source, notes


def _copy_uploads(src: Path, dst: Path) -> list[str]:
    dst.mkdir()
    names = _upload_files(src)
    for name in names:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(src / name, dst / name)
        except FileNotFoundError:
            continue  # discarded between listing and copying (an intake that rolled back)
    return [n for n in names if (dst / n).is_file()]


# --- reading and checking a backup -------------------------------------------------------------


def load_manifest(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise BackupError(f"no backup directory {path}")
    file = path / MANIFEST
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path} has no {MANIFEST}: not a petitiondesk backup") from None
    except ValueError as exc:
        raise BackupError(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{file} is not a petitiondesk backup manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"backup format version {manifest.get('version')} is not supported")
    return manifest


@dataclass
class Check:
    """The outcome of a verification: what was checked (lines) and every difference found."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_file(path: Path, manifest: dict[str, Any], check: Check) -> Path:
    db_file = path / str(manifest["database_file"])
    if not db_file.is_file():
        check.problems.append(f"{db_file.name} is missing")
    elif file_sha256(db_file) != manifest["database_sha256"]:
        check.problems.append(f"{db_file.name}: its SHA-256 differs from the manifest's")
    else:
        check.lines.append(f"{db_file.name}: {db_file.stat().st_size:,} bytes, SHA-256 equal")
    return db_file


def _summary_line(fingerprint: dict[str, Any]) -> str:
    rows = sum(fingerprint["tables"].values())
    events = fingerprint["events"]
    return (
        f"{len(fingerprint['tables'])} tables, {rows:,} rows; {events['rows']:,} case events, "
        f"checksum {events['sha256'][:12]}"
    )


def backup_verify(path: Path) -> Check:
    """Check a backup without restoring it: the dump file's checksum; SQLite: `PRAGMA
    integrity_check` on the copy and the counts and event checksum recomputed from it; PostgreSQL:
    `pg_restore --list` reads the archive and lists the data of every table; the uploads' checksum."""
    manifest = load_manifest(path)
    check = Check()
    db_file = _check_file(path, manifest, check)
    if check.problems:
        return check
    if manifest["vendor"] == "sqlite":
        con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            result = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                check.problems.append("integrity_check: " + "; ".join(map(str, result[:5])))
            else:
                check.lines.append("PRAGMA integrity_check: ok")
            found = database_fingerprint(con.cursor(), "sqlite")
        finally:
            con.close()
        diffs = compare_fingerprints(manifest, found)
        check.problems += diffs
        if not diffs:
            check.lines.append(f"recounted: {_summary_line(found)} (equal to the manifest)")
    else:
        proc = _run(["pg_restore", "--list", str(db_file)])
        if proc.returncode != 0:
            check.problems.append(f"pg_restore --list failed: {proc.stderr.strip()[-300:]}")
        else:
            data = set(re.findall(r"TABLE DATA \S+ (\S+)", proc.stdout))
            missing = sorted(set(manifest["tables"]) - data)
            if missing:
                check.problems.append(f"the archive has no data for {', '.join(missing[:5])}")
            else:
                check.lines.append(
                    f"pg_restore --list: archive readable, data of all {len(data)} tables present"
                )
    uploads = uploads_fingerprint(path / UPLOADS)
    diffs = compare_uploads(manifest["uploads"], uploads)
    check.problems += diffs
    if not diffs:
        check.lines.append(f"uploads: {uploads['files']} file(s), {uploads['bytes']:,} bytes equal")
    return check


# --- restore -----------------------------------------------------------------------------------


def target_tables(target: DatabaseTarget) -> list[str]:
    """The tables in the target database now ([] for a missing SQLite file)."""
    if target.vendor == "sqlite":
        assert target.sqlite_path is not None
        if not target.sqlite_path.exists():
            return []
        con = sqlite3.connect(target.sqlite_path, timeout=30)
        try:
            return _list_tables(con.cursor(), "sqlite")
        finally:
            con.close()
    with target.pg_connect() as con:
        return _list_tables(con.cursor(), "postgresql")


def target_fingerprint(target: DatabaseTarget) -> dict[str, Any]:
    if target.vendor == "sqlite":
        con = sqlite3.connect(target.sqlite_path, timeout=30)  # type: ignore[arg-type]
        try:
            return database_fingerprint(con.cursor(), "sqlite")
        finally:
            con.close()
    import psycopg

    with target.pg_connect() as con:
        con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return database_fingerprint(con.cursor(), "postgresql")


def backup_restore(
    path: Path,
    target: DatabaseTarget,
    *,
    uploads_dir: Path,
    secret_key_file: Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Check:
    """Restore the backup at `path` into `target` (empty, unless `force`) and the uploads into
    `uploads_dir`, then recompute the verification data from the restored database."""
    say = progress or (lambda _msg: None)
    manifest = load_manifest(path)
    if manifest["vendor"] != target.vendor:
        raise BackupError(
            f"this is a {manifest['vendor']} backup and the configured database is "
            f"{target.vendor}: restore it into a {manifest['vendor']} database"
        )
    check = Check()
    db_file = _check_file(path, manifest, check)
    if check.problems:  # a damaged backup is never restored
        return check
    existing = target_tables(target)
    if existing and not force:
        raise BackupError(
            f"{target.describe()} is not empty ({len(existing)} tables): restore into an empty "
            "database, or add --force to replace its contents"
        )
    say(f"restoring into {target.describe()}")
    if target.vendor == "sqlite":
        _sqlite_restore(db_file, target)
    else:
        _pg_restore(db_file, target, clean=bool(existing), notes=check.lines)
    check.lines.append(f"database restored into {target.describe()}")
    names = _upload_files(path / UPLOADS)
    say(f"restoring {len(names)} upload file(s) into {uploads_dir}")
    uploads_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(path / UPLOADS, uploads_dir, dirs_exist_ok=True)
    _restore_secret_key(path, manifest, secret_key_file, check)
    say("verifying")
    found = target_fingerprint(target)
    diffs = compare_fingerprints(manifest, found)
    check.problems += diffs
    if not diffs:
        check.lines.append(f"verified: {_summary_line(found)} (equal to the manifest)")
    uploads = uploads_fingerprint(uploads_dir, names)
    diffs = compare_uploads(manifest["uploads"], uploads)
    check.problems += diffs
    if not diffs:
        check.lines.append(f"uploads: {uploads['files']} file(s), {uploads['bytes']:,} bytes equal")
    return check


def _restore_secret_key(
    path: Path, manifest: dict[str, Any], secret_key_file: Path | None, check: Check
) -> None:
    """Put the backed-up generated secret key back: access keys and the repeat-petitioner keys
    are derived from it, so a restored database is only usable with the key it was written with."""
    saved = path / SECRET_KEY_FILE
    if not manifest.get("secret_key_sha256") or not saved.is_file():
        check.lines.append(
            "the backup has no secret key file (PETITIONDESK_SECRET_KEY was set): run the restored "
            "instance with the same PETITIONDESK_SECRET_KEY as the original"
        )
        return
    if file_sha256(saved) != manifest["secret_key_sha256"]:
        check.problems.append("secret_key: its SHA-256 differs from the manifest's")
        return
    if secret_key_file is None:
        check.lines.append(
            "this instance takes its key from PETITIONDESK_SECRET_KEY: it must equal the "
            f"original's (the backup's copy is {saved})"
        )
        return
    secret_key_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(saved, secret_key_file)
    os.chmod(secret_key_file, 0o600)
    check.lines.append(f"secret key restored into {secret_key_file}")


def _sqlite_restore(db_file: Path, target: DatabaseTarget) -> None:
    assert target.sqlite_path is not None
    target.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    dst = sqlite3.connect(target.sqlite_path, timeout=30)
    try:
        src.backup(dst, pages=-1)  # replaces every page of the target, through its own journal
        dst.execute("PRAGMA journal_mode=WAL")  # as the server runs it (config/settings.py)
    finally:
        dst.close()
        src.close()


def _pg_restore(db_file: Path, target: DatabaseTarget, *, clean: bool, notes: list[str]) -> None:
    with target.pg_connect() as con:
        server_major = int(con.execute("SHOW server_version_num").fetchone()[0]) // 10000
    note = pg_version_note("pg_restore", server_major)
    if note:
        notes.append(note)
    cmd = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if clean:
        cmd += ["--clean", "--if-exists"]
    cmd += ["-d", target.pg["dbname"], str(db_file)]
    proc = _run(cmd, env=target.pg_env())
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing restored): {proc.stderr.strip()[-800:]}")
