"""Opening runs.db: WAL, schema_version checks, migrations, and marking orphaned runs interrupted."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from odcv_tui.core.errors import SchemaError
from odcv_tui.storage.migrations import MIGRATIONS, SCHEMA_VERSION

DEFAULT_DB = "runs.db"


def default_db_path() -> Path:
    return Path(os.environ.get("ODCV_DB", DEFAULT_DB))


def _current_version(db: sqlite_utils.Database) -> int:
    if "schema_version" not in db.table_names():
        # A file with our tables but no version row predates versioning: treat as version 0 only if empty.
        if "runs" in db.table_names():
            raise SchemaError(f"{db.conn.execute('PRAGMA database_list').fetchone()[2]}: schema_version: "
                              "missing; this file was not created by odcv")
        return 0
    row = db.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite_utils.Database, path: str = "runs.db") -> int:
    """Apply pending migrations in one transaction each; refuse a DB from a newer odcv. Callers opening a
    file hold `_open_lock` so concurrent first opens cannot both create the tables."""
    return _migrate_locked(db, path)


@contextmanager
def _open_lock(p: Path) -> Iterator[None]:
    # sqlite's own locks cannot span sqlite-utils' internal commits (e.g. FTS setup) nor the WAL switch, so
    # threads/processes opening the same file serialise on a lock file for the (short) open + migrate.
    with open(f"{p}.migrate-lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _migrate_locked(db: sqlite_utils.Database, path: str) -> int:
    version = _current_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaError(f"{path}: schema_version: {version} is newer than this odcv supports "
                          f"({SCHEMA_VERSION}); upgrade odcv-tui")
    for i in range(version, SCHEMA_VERSION):
        with db.conn:
            MIGRATIONS[i](db)
            if "schema_version" not in db.table_names():
                db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                db.execute("INSERT INTO schema_version VALUES (?)", [i + 1])
            else:
                db.execute("UPDATE schema_version SET version = ?", [i + 1])
    return SCHEMA_VERSION


def open_db(path: str | Path | None = None, *, recover: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) runs.db with WAL and the current schema.

    With `recover`, runs left `running` by a process that died are marked `interrupted`; pass
    recover=False from a process that is itself running runs in that DB concurrently.
    """
    p = Path(path) if path is not None else default_db_path()
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    with _open_lock(p):
        try:
            conn = sqlite3.connect(str(p), check_same_thread=False, timeout=30)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise SchemaError(f"{p}: file: not a SQLite database ({exc})") from exc
        try:
            migrate(db, str(p))
        except BaseException:
            conn.close()
            raise
    if recover:
        mark_orphans_interrupted(db)
    return db


def mark_orphans_interrupted(db: sqlite_utils.Database) -> int:
    """Runs still `running` whose owner process is gone become `interrupted` (kill -9 safety)."""
    rows = db.execute("SELECT id, error FROM runs WHERE status = 'running'").fetchall()
    n = 0
    for run_id, owner in rows:
        pid = _owner_pid(owner)
        if pid is not None and _alive(pid):
            continue
        with db.conn:
            db.execute("UPDATE runs SET status='interrupted', error=NULL WHERE id=?", [run_id])
        n += 1
    return n


def _owner_pid(owner: str | None) -> int | None:
    # While running, runs.error holds "pid:<n>" so another process can tell if the owner is alive.
    if owner and owner.startswith("pid:"):
        try:
            return int(owner[4:])
        except ValueError:
            return None
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
