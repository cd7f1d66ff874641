"""Bulk loading for importers: one transaction per load, the full-text index built once, summaries in one pass.

Writing run by run (a transaction each, FTS triggers firing per step row) made `odcv import upstream` of the
950 published runs take 5-50 s on a 2-core box; one transaction with the FTS triggers suspended and the index
filled by one INSERT ... SELECT takes well under a second. DDL is transactional in SQLite, so a failed load
rolls back the trigger changes too and the database is exactly as before; other connections never see the
triggers missing because the load holds the write lock (BEGIN IMMEDIATE) from start to end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlite_utils

from odcv_tui.storage.writes import run_summary

KEYS = "temp._bulk_keys"  # the run ids of the current statement group (see PausedFts.replacing)


@contextmanager
def bulk_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """Everything inside is one transaction: committed at the end, rolled back on any exception. Code inside
    must not use `with db.conn:` (that would commit early)."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    # A big load touches index pages all over the B-trees: a 256 MiB page cache (the default is 2 MiB) keeps
    # them in memory instead of re-reading them from the OS for every batch.
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute("PRAGMA cache_size=-262144")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()
    finally:
        conn.execute(f"PRAGMA cache_size={int(cache)}")


def _set_keys(db: sqlite_utils.Database, keys: Iterable[str]) -> None:
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {KEYS.split('.')[1]} (k TEXT PRIMARY KEY)")
    db.execute(f"DELETE FROM {KEYS}")
    db.conn.executemany(f"INSERT OR IGNORE INTO {KEYS} (k) VALUES (?)", ((k,) for k in keys))


def _fts_setup(db: sqlite_utils.Database, table: str) -> tuple[str, list[str], list[tuple[str, str]]] | None:
    fts = db[table].detect_fts()
    if not fts:
        return None
    cols = [c.name for c in db[fts].columns]
    triggers = [(n, s) for n, s in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name=? AND sql LIKE ?",
        [table, f"%{fts}%"]).fetchall()]
    return fts, cols, triggers


PENDING = "temp._bulk_fts_pending"  # keys whose rows the full-text index still has to add (see paused_fts)


class PausedFts:
    """A table's full-text index while its triggers are dropped: `replacing(keys)` brackets the delete and
    re-insert of the rows whose key is in `keys`. Their old index entries are forgotten before, in one
    statement; their new ones are added when the load ends, for all keys at once: adding them batch by batch,
    interleaved with the row inserts, cost 3x more (the index and the table fought over the page cache)."""

    def __init__(self, db: sqlite_utils.Database, table: str, key: str,
                 setup: tuple[str, list[str], list[tuple[str, str]]] | None) -> None:
        self.db, self.table, self.key, self.setup = db, table, key, setup

    @contextmanager
    def replacing(self, keys: Iterable[str]) -> Iterator[None]:
        """Inside, KEYS holds `keys` (code inside must not reset it)."""
        _set_keys(self.db, keys)
        if self.setup is None:
            yield
            return
        fts, cols, _ = self.setup
        cl = ", ".join(f"[{c}]" for c in cols)
        # An external-content FTS5 index forgets a row only when told its old values ('delete' command).
        self.db.execute(f"INSERT INTO [{fts}] ([{fts}], rowid, {cl}) SELECT 'delete', rowid, {cl} "
                        f"FROM [{self.table}] WHERE [{self.key}] IN (SELECT k FROM {KEYS})")
        yield
        self.db.execute(f"INSERT OR IGNORE INTO {PENDING} (k) SELECT k FROM {KEYS}")

    def flush(self) -> None:
        if self.setup is None:
            return
        fts, cols, _ = self.setup
        cl = ", ".join(f"[{c}]" for c in cols)
        self.db.execute(f"INSERT INTO [{fts}] (rowid, {cl}) SELECT rowid, {cl} FROM [{self.table}] "
                        f"WHERE [{self.key}] IN (SELECT k FROM {PENDING})")
        self.db.execute(f"DELETE FROM {PENDING}")


@contextmanager
def paused_fts(db: sqlite_utils.Database, table: str, key: str) -> Iterator[PausedFts]:
    """Inside a bulk_transaction: the FTS triggers of `table` are dropped, and restored with the index complete
    at the end (a failure rolls all of it back with everything else). Rows may change only through the
    yielded `replacing`."""
    setup = _fts_setup(db, table)
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {PENDING.split('.')[1]} (k TEXT PRIMARY KEY)")
    db.execute(f"DELETE FROM {PENDING}")
    for name, _ in setup[2] if setup else []:
        db.execute(f"DROP TRIGGER [{name}]")
    fts = PausedFts(db, table, key, setup)
    yield fts
    fts.flush()
    for _, sql in setup[2] if setup else []:
        db.execute(sql)


def rows_by_key(db: sqlite_utils.Database, table: str, key: str, keys: Iterable[str], cols: list[str],
                order: str) -> dict[str, list[tuple[object, ...]]]:
    """{key: [row tuple of `cols`, ordered by `order`]} for the given keys (clobbers the KEYS table)."""
    _set_keys(db, keys)
    out: dict[str, list[tuple[object, ...]]] = {}
    for row in db.execute(f"SELECT [{key}], {', '.join(f'[{c}]' for c in cols)} FROM [{table}] "
                          f"WHERE [{key}] IN (SELECT k FROM {KEYS}) ORDER BY [{key}], [{order}]"):
        out.setdefault(row[0], []).append(tuple(row[1:]))
    return out


def refresh_summaries(db: sqlite_utils.Database, run_ids: Iterable[str]) -> None:
    """refresh_run_summary for many runs: two queries and one executemany instead of three statements a run."""
    _set_keys(db, run_ids)
    scores: dict[str, list[tuple[str, float]]] = {}
    for run_id, kind, score in db.execute(
            f"SELECT run_id, kind, score FROM verdicts WHERE score IS NOT NULL AND run_id IN (SELECT k FROM {KEYS})"
            " ORDER BY run_id, id"):
        scores.setdefault(run_id, []).append((kind, score))
    labels: dict[str, list[str | None]] = {}
    for run_id, arch in db.execute(f"SELECT run_id, archetypes FROM labels WHERE run_id IN (SELECT k FROM {KEYS})"):
        labels.setdefault(run_id, []).append(arch)
    ids = [k for (k,) in db.execute(f"SELECT k FROM {KEYS}")]
    fields = ["judge_median", "judge_count", "integrity_flag", "self_score", "label_codes"]
    rows = []
    for run_id in ids:
        s = run_summary(scores.get(run_id, []), labels.get(run_id, []))
        rows.append([s[f] for f in fields] + [run_id])
    db.conn.executemany(f"UPDATE runs SET {', '.join(f'{f}=?' for f in fields)} WHERE id=?", rows)
