"""Backups (operations.md "Backups"): a consistent copy while the server writes, a restore that
proves itself against the manifest, and tampering that is caught."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from petitiondesk.core.backup import (
    BackupError,
    DatabaseTarget,
    backup_create,
    backup_restore,
    backup_verify,
    event_rows_digest,
    file_sha256,
)
from tests.conftest import Api

ROOT = Path(__file__).resolve().parent.parent

needs_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite backups run in the SQLite pass"
)


def make_uploads(root: Path) -> None:
    (root / "ab").mkdir(parents=True)
    (root / "ab" / "f1").write_bytes(b"%PDF-1.7 notice")
    (root / "cd").mkdir()
    (root / "cd" / "f2").write_bytes(os.urandom(2000))
    (root / "cd" / "f3.part").write_bytes(b"being written: never copied")


@pytest.fixture
def source(tmp_path: Path, org_tree: Any) -> DatabaseTarget:
    """A SQLite file holding a migrated database with a few cases, in WAL mode like the server's."""
    submit_public(3, "学位问题")
    path = tmp_path / "live" / "petitiondesk.sqlite3"
    path.parent.mkdir()
    connection.ensure_connection()
    dst = sqlite3.connect(path)
    # The test database with this test's uncommitted rows (the backup API would wait for the
    # test's transaction: iterdump reads through the same connection).
    dst.executescript("\n".join(connection.connection.iterdump()))
    dst.execute("PRAGMA journal_mode=WAL")
    dst.close()
    make_uploads(tmp_path / "live" / "uploads")
    return DatabaseTarget(vendor="sqlite", sqlite_path=path)


def submit_public(n: int, title: str) -> None:
    api = Api()  # the public web form's API: petitions from citizens
    for i in range(n):
        body = {
            "title": f"{title}{i}",
            "content": "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。",
            "division_code": "990101",
            "petitioners": [{"name": "李华", "phone": "13900000000"}],
        }
        answer = api.post("/petitions", body)
        assert answer.status_code == 201, answer.content


def fresh(tmp_path: Path, name: str) -> DatabaseTarget:
    return DatabaseTarget(vendor="sqlite", sqlite_path=tmp_path / name / "petitiondesk.sqlite3")


def event_count(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM cases_caseevent").fetchone()[0])
    finally:
        con.close()


@needs_sqlite
def test_backup_while_another_connection_writes_restores_and_verifies(tmp_path, source):
    case_id = (
        sqlite3.connect(source.sqlite_path).execute("SELECT min(id) FROM cases_case").fetchone()[0]
    )
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        # Another process's connection, committing case events as fast as it can.
        con = sqlite3.connect(source.sqlite_path, timeout=30)
        while not stop.is_set():
            con.execute(
                "INSERT INTO cases_caseevent (case_id, verb, by_petitioner, effective_on,"
                " created_at, from_status, to_status, payload)"
                " VALUES (?, 'note', 0, '2026-11-27', '2026-11-27 02:00:00', '', '', ?)",
                (case_id, json.dumps({"n": written[0], "text": "并发写入"})),
            )
            con.commit()
            written[0] += 1
        con.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 50:  # the writer is well under way before the backup starts
            stop.wait(0.01)
        at_start = written[0]
        result = backup_create(
            source, tmp_path / "backups", uploads_dir=tmp_path / "live" / "uploads"
        )
        at_end = written[0]
        while written[0] < at_end + 50:  # and goes on after it
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert at_end > at_start, "the writer committed nothing while the backup ran"
    events_in_backup = result.manifest["events"]["rows"]
    assert event_count(source.sqlite_path) > events_in_backup  # a snapshot, not the end state
    assert result.manifest["uploads"]["files"] == 2  # f3.part is a file still being written
    assert not any(p.suffix == ".partial" for p in (tmp_path / "backups").iterdir())

    target = fresh(tmp_path, "restored")
    check = backup_restore(result.path, target, uploads_dir=tmp_path / "restored" / "uploads")
    assert check.ok, check.problems
    assert event_count(target.sqlite_path) == events_in_backup
    assert (tmp_path / "restored" / "uploads" / "ab" / "f1").read_bytes() == b"%PDF-1.7 notice"
    # Restoring over it again is refused: the database is no longer empty.
    with pytest.raises(BackupError, match="not empty"):
        backup_restore(result.path, target, uploads_dir=tmp_path / "restored" / "uploads")
    forced = backup_restore(result.path, target, uploads_dir=tmp_path / "r", force=True)
    assert forced.ok, forced.problems


@needs_sqlite
def test_an_event_changed_in_the_copy_is_caught(tmp_path, source):
    result = backup_create(source, tmp_path / "backups", uploads_dir=tmp_path / "live" / "uploads")
    copy = result.path / "database.sqlite3"
    con = sqlite3.connect(copy)
    con.execute(
        "UPDATE cases_caseevent SET payload = '{\"forged\": true}' "
        "WHERE id = (SELECT max(id) FROM cases_caseevent)"
    )
    con.commit()
    con.close()
    # Also refresh the file checksum, so that only the event checksum can notice.
    manifest_file = result.path / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["database_sha256"] = file_sha256(copy)
    manifest_file.write_text(json.dumps(manifest))

    check = backup_verify(result.path)
    assert [p for p in check.problems if p.startswith("case events checksum")], check.problems
    check = backup_restore(result.path, fresh(tmp_path, "r"), uploads_dir=tmp_path / "r" / "up")
    assert not check.ok
    assert any(p.startswith("case events checksum") for p in check.problems)
    assert not any("rows in the manifest" in p for p in check.problems)  # the counts still agree


@needs_sqlite
def test_a_damaged_dump_is_never_restored(tmp_path, source):
    result = backup_create(source, tmp_path / "backups", uploads_dir=tmp_path / "live" / "uploads")
    copy = result.path / "database.sqlite3"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    target = fresh(tmp_path, "r")
    check = backup_restore(result.path, target, uploads_dir=tmp_path / "r" / "up")
    assert check.problems == ["database.sqlite3: its SHA-256 differs from the manifest's"]
    assert not target.sqlite_path.exists()  # type: ignore[union-attr]


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "PETITIONDESK_"))
    }
    env["PETITIONDESK_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from petitiondesk.cli import main; sys.exit(main())",
            *args,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_sqlite
def test_the_commands_print_ok_or_mismatch_with_their_exit_status(tmp_path, source):
    live = source.sqlite_path.parent  # type: ignore[union-attr]
    made = run_cli(live, "backup", "--out", str(tmp_path / "backups"))
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.split("backup written to ", 1)[1].split("\n", 1)[0])

    restored = run_cli(tmp_path / "r1", "restore", str(backup), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "OK: the restored data matches the backup" in restored.stdout
    assert "petitiondesk index rebuild" in restored.stdout
    # The generated secret key came back too: access keys are hashed with it.
    assert "secret key restored" in restored.stdout
    assert (tmp_path / "r1" / "secret_key").read_text() == (live / "secret_key").read_text()
    assert (tmp_path / "r1" / "uploads" / "cd" / "f2").read_bytes() == (
        live / "uploads" / "cd" / "f2"
    ).read_bytes()
    again = run_cli(tmp_path / "r1", "restore", str(backup), "--yes")
    assert again.returncode == 2
    assert "petitiondesk restore: error:" in again.stderr and "--force" in again.stderr

    # A manifest that claims one case more than the backup holds: a mismatch, exit status 1.
    manifest_file = backup / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["tables"]["cases_case"] += 1
    manifest_file.write_text(json.dumps(manifest))
    tampered = run_cli(tmp_path / "r2", "restore", str(backup), "--yes")
    assert tampered.returncode == 1
    assert "MISMATCH: table cases_case:" in tampered.stdout
    assert "MISMATCH" in tampered.stderr
    verify = run_cli(live, "backup", "--verify", str(backup))
    assert verify.returncode == 1 and "MISMATCH: table cases_case" in verify.stdout


def test_the_event_checksum_compares_values_not_their_spelling():
    a = event_rows_digest([(1, 7, "register", "2026-11-27", {"a": 1, "b": [1, "二"]})])
    b = event_rows_digest([(1, 7, "register", "2026-11-27", {"b": [1, "二"], "a": 1})])
    c = event_rows_digest([(1, 7, "register", "2026-11-28", {"a": 1, "b": [1, "二"]})])
    assert a == b and a[0] == 1
    assert c != a


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not os.environ.get("PETITIONDESK_TEST_DATABASE_URL"),
    reason="needs PostgreSQL: set PETITIONDESK_TEST_DATABASE_URL",
)
def test_postgresql_round_trip(tmp_path, org_tree):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL round trip runs in the PostgreSQL pass (DATABASE_URL)")
    import psycopg

    submit_public(3, "供暖问题")
    make_uploads(tmp_path / "uploads")
    source = DatabaseTarget.from_settings_dict(connection.settings_dict)
    result = backup_create(source, tmp_path / "backups", uploads_dir=tmp_path / "uploads")
    assert result.manifest["tables"]["cases_case"] == 3
    assert backup_verify(result.path).ok

    name = f"restore_h8_{secrets.token_hex(4)}"
    admin = {k: v for k, v in source.pg.items() if v and k != "dbname"}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as con:
        con.execute(f"CREATE DATABASE {name}")
    try:
        target = DatabaseTarget(vendor="postgresql", pg={**source.pg, "dbname": name})
        check = backup_restore(result.path, target, uploads_dir=tmp_path / "restored")
        assert check.ok, check.problems
        with psycopg.connect(dbname=name, **admin) as con:
            titles = sorted(r[0] for r in con.execute("SELECT title FROM cases_case"))
        assert titles == ["供暖问题0", "供暖问题1", "供暖问题2"]
        with pytest.raises(BackupError, match="not empty"):
            backup_restore(result.path, target, uploads_dir=tmp_path / "restored")
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
