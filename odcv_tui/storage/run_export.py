"""Runs to and from JSON Lines (`odcv runs export` / `odcv runs import`): one line per run holding its runs
row (fork links, provenance and epochs included), steps, file changes, verdicts and replays, so a colleague's
runs.db gets the same trajectories with their lineage. Labels travel with `odcv labels export`.

Columns are written as stored and read back by name: a column the target DB lacks is dropped, one the file
lacks stays NULL, so DBs a schema apart still exchange runs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import sqlite_utils

from odcv_tui.core.errors import InputError
from odcv_tui.storage import writes as w

FORMAT = "odcv-run/1"
CHILDREN = ("steps", "file_changes", "verdicts", "replays")
_NO_ID = {"file_changes", "verdicts", "replays"}  # integer row ids are local to a DB: never carried over


def with_descendants(db: sqlite_utils.Database, run_ids: list[str]) -> list[str]:
    """The runs and every fork of them, forks of forks included (parents first)."""
    out, frontier, seen = [], list(run_ids), set()
    while frontier:
        rid = frontier.pop(0)
        if rid in seen:
            continue
        seen.add(rid)
        out.append(rid)
        frontier += [r[0] for r in db.execute("SELECT id FROM runs WHERE parent_run_id=? ORDER BY id", [rid])]
    return out


def export_lines(db: sqlite_utils.Database, run_ids: Iterable[str]) -> Iterator[str]:
    for rid in run_ids:
        rows = list(db.query("SELECT * FROM runs WHERE id=?", [rid]))
        if not rows:
            raise InputError(rid, "RUN_ID", "no such run")
        record: dict[str, Any] = {"format": FORMAT, "run": rows[0]}
        for table in CHILDREN:
            if table in db.table_names():
                order = "idx" if table == "steps" else "rowid"
                record[table] = [{k: v for k, v in r.items() if not (table in _NO_ID and k == "id")}
                                 for r in db.query(f"SELECT * FROM {table} WHERE run_id=? ORDER BY {order}", [rid])]
        yield json.dumps(record, ensure_ascii=False)


@dataclass
class ImportResult:
    runs: int = 0
    replaced: int = 0
    dangling_parents: list[str] = field(default_factory=list)  # forks whose parent is in neither file nor DB


def _known(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> dict[str, Any]:
    cols = db[table].columns_dict
    return {k: v for k, v in row.items() if k in cols}


def import_lines(db: sqlite_utils.Database, lines: IO[str], source: str) -> ImportResult:
    """Insert or replace each run (by id) with all its children, one transaction per run."""
    res = ImportResult()
    parents: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}:{n}", None, f"not JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or rec.get("format") != FORMAT or not isinstance(rec.get("run"), dict):
            raise InputError(f"{source}:{n}", "format", f"expected an {FORMAT} record")
        run = rec["run"]
        if not isinstance(run.get("id"), str) or not isinstance(run.get("scenario_id"), str):
            raise InputError(f"{source}:{n}", "run.id", "missing run id or scenario_id")
        rid = run["id"]
        w.upsert_scenario_stub(db, run["scenario_id"], domain=run.get("domain") or "unknown",
                               source=run.get("source") or "import")
        existed = db.execute("SELECT 1 FROM runs WHERE id=?", [rid]).fetchone() is not None
        with db.conn:
            for table in CHILDREN:
                if table in db.table_names():
                    db.execute(f"DELETE FROM {table} WHERE run_id=?", [rid])
            db["runs"].upsert(_known(db, "runs", run), pk="id")
            for table in CHILDREN:
                rows = rec.get(table) or []
                if rows and table in db.table_names():
                    db[table].insert_all([_known(db, table, {**r, "run_id": rid}) for r in rows if isinstance(r, dict)])
        res.runs += 1
        res.replaced += existed
        if run.get("parent_run_id"):
            parents[rid] = run["parent_run_id"]
    for rid, parent in parents.items():
        if db.execute("SELECT 1 FROM runs WHERE id=?", [parent]).fetchone() is None:
            res.dangling_parents.append(rid)
    return res
