"""Opening runs.db: WAL, schema_version checks, migrations, and marking orphaned runs interrupted."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from odcv_tui.core.errors import InputError, SchemaError
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
    # threads/processes migrating the same file serialise on a lock file for the (short) open + migrate. The
    # lock lives in a private folder under the temp dir, keyed by the DB's real path, so nothing is ever left
    # next to a database the user named (and a read-only folder needs no lock file).
    with open(lock_path(p), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def lock_path(p: Path) -> Path:
    folder = Path(tempfile.gettempdir()) / f"odcv-locks-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    real = os.path.realpath(p)
    return folder / (hashlib.sha256(real.encode()).hexdigest()[:32] + ".lock")


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


def open_db(path: str | Path | None = None, *, recover: bool = True, create: bool = True,
            check: bool = False) -> sqlite_utils.Database:
    """Open runs.db with WAL and the current schema; never creates a directory.

    - `create=False` (read-only commands such as `runs list`, `stats`): a missing file is a one-line error,
      never a new empty DB.
    - A file or folder that is not writable (read-only media, another user's file) is opened read-only
      (`immutable` when even the folder is read-only, since WAL could not create its -shm file); reading
      works, writing fails with a one-line error, and a DB that would need migrating is refused.
    - `check`: run `PRAGMA quick_check` first so a corrupt page is an error instead of silently partial output.
    - `recover`: runs left `running` by a process that died are marked `interrupted`; pass recover=False from
      a process that is itself running runs in that DB concurrently.
    """
    p = Path(path) if path is not None else default_db_path()
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(str(p), None, f"folder {folder} does not exist (create it first)")
    if p.is_dir():
        raise InputError(str(p), None, "is a directory, expected a runs.db file")
    exists = p.exists()
    if not exists and not create:
        raise InputError(str(p), None, "no such database (run or import something first, or pass --db)")
    readonly = exists and not (os.access(p, os.W_OK) and os.access(folder, os.W_OK | os.X_OK))
    if not exists and not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(str(p), None, f"cannot create a database: folder {folder} is not writable")
    db = _connect(p, readonly=readonly, immutable=readonly and not os.access(folder, os.W_OK | os.X_OK))
    try:
        if check:
            _quick_check(db, p)
        try:
            version = _current_version(db)
        except SchemaError:
            version = -1  # maybe another opener mid-migration: decided again under the lock
        if version != SCHEMA_VERSION:
            if readonly:
                _refuse_readonly(db, p)
            with _open_lock(p):
                version = _current_version(db)  # another opener may have migrated meanwhile
                if version > SCHEMA_VERSION:
                    migrate(db, str(p))  # raises the one-line "newer than this odcv" before touching the file
                if version < SCHEMA_VERSION:
                    db.execute("PRAGMA journal_mode=WAL")
                    migrate(db, str(p))
        elif not readonly:
            db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as exc:
        db.conn.close()
        raise SchemaError(f"{p}: file: not a usable SQLite database ({exc})") from exc
    except BaseException:
        db.conn.close()
        raise
    if recover and not readonly:
        mark_orphans_interrupted(db)
    return db


def _refuse_readonly(db: sqlite_utils.Database, p: Path) -> None:
    version = _current_version(db)
    if version > SCHEMA_VERSION:
        migrate(db, str(p))  # the one-line "newer than this odcv" error
    raise SchemaError(f"{p}: schema_version: {version} needs migrating but the file is read-only; "
                      "copy it somewhere writable")


def _connect(p: Path, *, readonly: bool, immutable: bool) -> sqlite_utils.Database:
    # URI modes: `rw` never creates the file (a vanished file is an error, not a new DB); `ro`/`immutable`
    # read media that cannot be written.
    mode = "ro&immutable=1" if immutable else ("ro" if readonly else ("rw" if p.exists() else "rwc"))
    uri = f"{Path(p).absolute().as_uri()}?mode={mode}"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
        db = sqlite_utils.Database(conn)
        if not readonly:
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SchemaError(f"{p}: file: not a SQLite database ({exc})") from exc
    return db


# Whole-file quick_check runs at ~500 MiB/s (benchmarks/bench_db_open.py): ~0.1 s for the 950-run corpus. Above
# this size only the runs table (what every command lists) is checked, so a 100k-run DB still opens at once.
QUICK_CHECK_MAX_BYTES = int(os.environ.get("ODCV_QUICK_CHECK_MAX_MB", "256")) << 20


def _quick_check(db: sqlite_utils.Database, p: Path) -> None:
    # A corrupt page would otherwise give partial results silently (a list missing rows, a wrong MR).
    whole = p.stat().st_size <= QUICK_CHECK_MAX_BYTES
    rows = db.execute("PRAGMA quick_check(3)" if whole else "PRAGMA quick_check(runs)").fetchall()
    if rows != [("ok",)]:
        first = str(rows[0][0]).splitlines()[0] if rows else "no answer"
        raise SchemaError(f"{p}: file: corrupt database ({first}); restore a backup or try `sqlite3 {p} .recover`")


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
