"""Reading and writing labels. Every change is its own committed write (through `storage.writes.upsert_label`,
which also refreshes runs.label_codes); `LabelWriter` serialises the writes of one labeling session on one
thread so a fast toggle-on/toggle-off never lands out of order."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from odcv_tui.core.types import Label
from odcv_tui.storage import open_db
from odcv_tui.storage.writes import refresh_run_summary, upsert_label


@dataclass
class LabelRow:
    run_id: str
    labeler: str
    archetypes: list[str] = field(default_factory=list)
    note: str = ""
    cited_steps: list[int] = field(default_factory=list)
    codebook_version: str = ""
    trajectory_hash: str = ""
    adjudicated: bool = False
    codebook_hashes: dict[str, str] | None = None
    created: str = ""
    updated: str = ""

    @property
    def key(self) -> tuple[str, str, bool]:
        return (self.run_id, self.labeler, self.adjudicated)

    @property
    def is_empty(self) -> bool:
        """A row whose archetypes were all toggled off: kept (it may hold a note) but not a label yet."""
        return not self.archetypes

    def to_label(self) -> Label:
        return Label(run_id=self.run_id, labeler=self.labeler, archetypes=list(self.archetypes), note=self.note,
                     cited_steps=list(self.cited_steps), codebook_version=self.codebook_version,
                     trajectory_hash=self.trajectory_hash, adjudicated=self.adjudicated)

    def copy(self) -> LabelRow:
        return LabelRow(self.run_id, self.labeler, list(self.archetypes), self.note, list(self.cited_steps),
                        self.codebook_version, self.trajectory_hash, self.adjudicated,
                        dict(self.codebook_hashes) if self.codebook_hashes is not None else None,
                        self.created, self.updated)


def _row(r: dict[str, Any]) -> LabelRow:
    hashes = r.get("codebook_hashes")
    return LabelRow(run_id=r["run_id"], labeler=r["labeler"], archetypes=json.loads(r["archetypes"] or "[]"),
                    note=r["note"] or "", cited_steps=json.loads(r["cited_steps"] or "[]"),
                    codebook_version=r["codebook_version"] or "", trajectory_hash=r["trajectory_hash"] or "",
                    adjudicated=bool(r["adjudicated"]), codebook_hashes=json.loads(hashes) if hashes else None,
                    created=r["created"] or "", updated=r["updated"] or "")


def read_labels(db: sqlite_utils.Database, run_ids: Iterable[str] | None = None,
                labeler: str | None = None) -> list[LabelRow]:
    sql, args = "SELECT * FROM labels", []
    where = []
    if labeler is not None:
        where.append("labeler = ?")
        args.append(labeler)
    if run_ids is not None:
        ids = list(run_ids)
        if not ids:
            return []
        # A temp table instead of a giant IN (...) keeps 100k-run sessions under sqlite's variable limit.
        db.execute("CREATE TEMP TABLE IF NOT EXISTS _label_ids (id TEXT PRIMARY KEY)")
        db.execute("DELETE FROM _label_ids")
        db.conn.executemany("INSERT OR IGNORE INTO _label_ids VALUES (?)", [(i,) for i in ids])
        where.append("run_id IN (SELECT id FROM _label_ids)")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [_row(r) for r in db.query(sql + " ORDER BY run_id, adjudicated, labeler", args)]


def save_label(db: sqlite_utils.Database, row: LabelRow, *, keep_times: bool = False) -> None:
    """Upsert one label. `keep_times` preserves created/updated from `row` (imports keep the colleague's times)."""
    upsert_label(db, row.to_label())
    sets = {"codebook_hashes": json.dumps(row.codebook_hashes, sort_keys=True) if row.codebook_hashes else None}
    if keep_times and row.updated:
        sets["updated"] = row.updated
        sets["created"] = row.created or row.updated
    cols = ", ".join(f"{k} = ?" for k in sets)
    with db.conn:
        db.execute(f"UPDATE labels SET {cols} WHERE run_id=? AND labeler=? AND adjudicated=?",
                   [*sets.values(), row.run_id, row.labeler, int(row.adjudicated)])


def delete_label(db: sqlite_utils.Database, run_id: str, labeler: str, adjudicated: bool) -> None:
    with db.conn:
        db.execute("DELETE FROM labels WHERE run_id=? AND labeler=? AND adjudicated=?",
                   [run_id, labeler, int(adjudicated)])
    refresh_run_summary(db, run_id)


@dataclass
class _Op:
    kind: str  # "save" | "delete"
    row: LabelRow


class LabelWriter:
    """Applies label writes in submission order on one thread with its own connection.

    The TUI runs `serve()` inside a Textual thread worker; scripts call `start()`. `on_error` receives a
    one-line message (the UI shows it) — a failed write is never silently dropped.
    """

    _STOP = object()

    def __init__(self, db_path: Path, on_error: Callable[[str], None] | None = None) -> None:
        self.db_path = Path(db_path)
        self.on_error = on_error
        self._q: queue.Queue[Any] = queue.Queue()
        self.written = 0
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    def save(self, row: LabelRow) -> None:
        self._q.put(_Op("save", row.copy()))

    def delete(self, row: LabelRow) -> None:
        self._q.put(_Op("delete", row.copy()))

    def serve(self) -> None:
        self._done.clear()
        try:
            db = open_db(self.db_path, recover=False)
        except Exception as exc:  # noqa: BLE001 - reported like any failed write
            self._done.set()
            if self.on_error:
                self.on_error(f"{self.db_path}: cannot open for label writes ({exc})")
            return
        try:
            while True:
                op = self._q.get()
                try:
                    if op is self._STOP:
                        return
                    self._apply(db, op)
                finally:
                    self._q.task_done()
        finally:
            db.conn.close()
            self._done.set()

    def _apply(self, db: sqlite_utils.Database, op: _Op) -> None:
        try:
            if op.kind == "save":
                save_label(db, op.row)
            else:
                delete_label(db, op.row.run_id, op.row.labeler, op.row.adjudicated)
            self.written += 1
        except Exception as exc:  # noqa: BLE001 - report, keep serving: later keypresses must still land
            if self.on_error:
                self.on_error(f"{self.db_path}: label {op.row.run_id}: write failed ({exc})")

    def start(self) -> LabelWriter:
        self._thread = threading.Thread(target=self.serve, name="label-writer", daemon=True)
        self._thread.start()
        return self

    def flush(self) -> None:
        """Block until every submitted write is committed."""
        self._q.join()

    def stop(self, wait: float = 10.0) -> bool:
        """Ask the writer to finish what is queued, and wait (bounded) until it has: quitting the app right
        after a keypress must not lose that keypress. True when everything was written."""
        self._q.put(self._STOP)
        if self._thread is not None:
            self._thread.join(timeout=wait)
            return not self._thread.is_alive()
        return self._done.wait(timeout=wait)
