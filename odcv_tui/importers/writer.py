"""The importers' single writer: runs (as importers/rows.RunRows) into runs.db, in one transaction, in batches
that follow the parser so writing overlaps parsing."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterable, Iterator

import sqlite_utils

from odcv_tui.importers.common import ImportSummary
from odcv_tui.importers.rows import STEP_COLS, VERDICT_COLS, RunRows
from odcv_tui.scenarios.domains import guess_domain
from odcv_tui.storage import bulk

CHUNK = 256  # runs per write batch: big enough for cheap statements, small enough to follow the workers closely
# Runs between full-text index fills. At 100k runs one fill at the end cost 2x (measured) and one per batch
# 1.5x the time of a fill every 2048; a small import gains from filling often (the fills overlap the workers'
# parsing instead of running alone after it: 950 runs 2.39 -> 2.15 s median with an eighth of the import).
FTS_EVERY = 2048
Progress = Callable[[str, int, int], None]  # (phase, done, total)


def _insert_sql(table: str, cols: list[str]) -> str:
    return f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"


def write_runs(db: sqlite_utils.Database, runs: Iterable[RunRows], summary: ImportSummary,
               domain: str = "unknown", source: str = "upstream", progress: Progress | None = None,
               total: int | None = None) -> None:
    """Replace each run with its parsed content (children deleted and re-inserted, labels kept) in ONE
    transaction for the whole import, so a failure anywhere (a worker's parse error included) leaves runs.db
    as it was and a re-import is idempotent. `runs` may be lazy: they are written in batches as they come,
    the full-text index filled once at the end (storage/bulk.py)."""
    # Off while loading: a 100k-run import allocates tens of millions of row objects, and the collector's
    # passes over them cost ~3% and free nothing (rows are plain tuples, no cycles).
    gc_was = gc.isenabled()
    gc.disable()
    try:
        _write(db, runs, summary, domain, source, progress, total)
    finally:
        if gc_was:
            gc.enable()


def _write(db: sqlite_utils.Database, runs: Iterable[RunRows], summary: ImportSummary, domain: str, source: str,
           progress: Progress | None, total: int | None) -> None:
    step_sql, verdict_sql = _insert_sql("steps", STEP_COLS), _insert_sql("verdicts", VERDICT_COLS)
    domains: dict[str, str] = {}
    labelled: list[str] = []
    done = 0
    cols: list[str] = []
    # Smaller batches for small imports, so the bar moves (~20 ticks) and writing starts early.
    size = max(16, min(CHUNK, (total or CHUNK) // 20))
    fts_every = min(FTS_EVERY, max(size, (total or FTS_EVERY) // 8))
    with bulk.bulk_transaction(db), bulk.paused_fts(db, "steps", "run_id") as fts:
        for batch in _batches(runs, size):
            _scenarios(db, batch, domains, domain, source)
            by_id = {r.id: r for r in batch}
            # A re-import leaves a run's steps alone when every stored column is already what was parsed: the
            # full-text index then needs no delete + re-insert for it (that was most of a re-import's time).
            stored = bulk.rows_by_key(db, "steps", "run_id", by_id, STEP_COLS[:-1], order="idx")
            # Labels survive a re-import; their runs' summaries are recomputed with them at the end.
            labelled += [k for (k,) in db.execute(
                f"SELECT DISTINCT run_id FROM labels WHERE run_id IN (SELECT k FROM {bulk.KEYS})")]
            changed = {k for k, r in by_id.items()
                       if not r.steps or k not in stored or stored[k] != [s[:-1] for s in r.steps]}
            db.conn.executemany("DELETE FROM file_changes WHERE run_id=?", ((k,) for k in by_id))
            db.conn.executemany("DELETE FROM verdicts WHERE run_id=?", ((k,) for k in by_id))
            for r in batch:
                r.run["domain"] = domains.get(str(r.run["scenario_id"]), "")
                summary.count(r)
            cols = cols or list(batch[0].run)
            db.conn.executemany(
                f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in cols)}",
                [[r.run[c] for c in cols] for r in batch])
            with fts.replacing(changed):
                db.execute(f"DELETE FROM steps WHERE run_id IN (SELECT k FROM {bulk.KEYS})")
                db.conn.executemany(step_sql, (s for k in changed for s in by_id[k].steps))
            db.conn.executemany(verdict_sql, (v for r in batch for v in r.verdicts))
            done += len(batch)
            if done % fts_every < len(batch):
                fts.flush()
            if progress:
                progress("import", done, max(total or 0, done))
        if progress:
            progress("index", 0, 1)
        fts.flush()
        if progress:
            progress("index", 1, 1)
        if labelled:
            bulk.refresh_summaries(db, labelled)


def _batches(items: Iterable[RunRows], n: int) -> Iterator[list[RunRows]]:
    it = iter(items)
    while batch := list(itertools.islice(it, n)):
        yield batch


def _scenarios(db: sqlite_utils.Database, batch: Iterable[RunRows], domains: dict[str, str], domain: str,
               source: str) -> None:
    """Scenario rows for the batch's new scenario ids (known ones keep theirs); `domains` caches id -> domain."""
    for sid in sorted({str(r.run["scenario_id"]) for r in batch} - domains.keys()):
        db.execute("INSERT OR IGNORE INTO scenarios (id, domain, title, content_hash, source, path, gap_kinds, data)"
                   " VALUES (?, ?, ?, '', ?, '', '[]', '')",
                   [sid, guess_domain(sid) if domain == "unknown" else domain, sid.replace("-", " "), source])
        domains[sid] = db.execute("SELECT domain FROM scenarios WHERE id=?", [sid]).fetchone()[0]
