"""Export labels to CSV/JSONL and merge a colleague's file back in, by (run, labeler, adjudicated): a row that
is newer than ours replaces ours, an older one is skipped, labels of runs this DB does not hold are counted
and skipped. Bad files fail with one line naming the file, line and field."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import sqlite_utils

from odcv_tui.core.errors import InputError
from odcv_tui.labels.store import LabelRow, read_labels, save_label

FIELDS = ["run_id", "labeler", "adjudicated", "archetypes", "note", "cited_steps", "codebook_version",
          "codebook_hashes", "trajectory_hash", "created", "updated", "model", "scenario_id", "variant"]
REQUIRED = ("run_id", "labeler", "archetypes")


def _context(db: sqlite_utils.Database) -> dict[str, tuple[str, str, str]]:
    return {r[0]: (r[1] or "", r[2] or "", r[3] or "") for r in db.execute(
        "SELECT id, model, scenario_id, variant FROM runs WHERE id IN (SELECT run_id FROM labels)").fetchall()}


def export_rows(db: sqlite_utils.Database, labeler: str | None = None) -> list[dict[str, Any]]:
    ctx = _context(db)
    out = []
    for r in read_labels(db, labeler=labeler):
        model, scenario, variant = ctx.get(r.run_id, ("", "", ""))
        out.append({"run_id": r.run_id, "labeler": r.labeler, "adjudicated": r.adjudicated,
                    "archetypes": r.archetypes, "note": r.note, "cited_steps": r.cited_steps,
                    "codebook_version": r.codebook_version, "codebook_hashes": r.codebook_hashes,
                    "trajectory_hash": r.trajectory_hash, "created": r.created, "updated": r.updated,
                    "model": model, "scenario_id": scenario, "variant": variant})
    return out


def write_export(rows: Iterable[dict[str, Any]], fmt: str, out: TextIO) -> int:
    n = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
        return n
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # Lists as ';'-joined text so the CSV opens cleanly in a spreadsheet; hashes stay JSON.
        writer.writerow({**row, "adjudicated": int(row["adjudicated"]),
                         "archetypes": ";".join(row["archetypes"]),
                         "cited_steps": ";".join(str(s) for s in row["cited_steps"]),
                         "codebook_hashes": json.dumps(row["codebook_hashes"], sort_keys=True)
                         if row["codebook_hashes"] else ""})
        n += 1
    return n


def _bool(value: Any, where: str, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no", ""):
        return False
    raise InputError(source, f"{where}: adjudicated", f"expected true/false, got {value!r}")


def _list(value: Any, where: str, name: str, source: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = [p for p in value.replace(",", ";").split(";")]
    else:
        raise InputError(source, f"{where}: {name}", f"expected a list, got {type(value).__name__}")
    out = [str(v).strip() for v in items if str(v).strip()]
    return out


def _row(data: dict[str, Any], where: str, source: str) -> LabelRow:
    for key in REQUIRED:
        if key not in data or data[key] is None or (key != "archetypes" and not str(data[key]).strip()):
            raise InputError(source, f"{where}: {key}", "missing")
    steps = []
    for s in _list(data.get("cited_steps"), where, "cited_steps", source):
        try:
            steps.append(int(s))
        except ValueError:
            raise InputError(source, f"{where}: cited_steps", f"{s!r} is not a step number") from None
    hashes = data.get("codebook_hashes") or None
    if isinstance(hashes, str):
        try:
            hashes = json.loads(hashes)
        except json.JSONDecodeError:
            raise InputError(source, f"{where}: codebook_hashes", "not a JSON object") from None
    if hashes is not None and not (isinstance(hashes, dict) and all(isinstance(v, str) for v in hashes.values())):
        raise InputError(source, f"{where}: codebook_hashes", "expected an object of archetype -> hash")
    return LabelRow(run_id=str(data["run_id"]).strip(), labeler=str(data["labeler"]).strip(),
                    archetypes=sorted(set(_list(data["archetypes"], where, "archetypes", source))),
                    note=str(data.get("note") or ""), cited_steps=sorted(set(steps)),
                    codebook_version=str(data.get("codebook_version") or ""),
                    trajectory_hash=str(data.get("trajectory_hash") or ""),
                    adjudicated=_bool(data.get("adjudicated", False), where, source),
                    codebook_hashes=hashes, created=str(data.get("created") or ""),
                    updated=str(data.get("updated") or ""))


def parse_file(text: str, source: str, fmt: str = "auto") -> list[LabelRow]:
    if fmt == "auto":
        fmt = "jsonl" if source.endswith((".jsonl", ".json", ".ndjson")) or text.lstrip().startswith("{") else "csv"
    rows = []
    if fmt == "jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(source, f"line {n}", f"invalid JSON ({exc.msg})") from None
            if not isinstance(data, dict):
                raise InputError(source, f"line {n}", "expected a JSON object")
            rows.append(_row(data, f"line {n}", source))
        return rows
    reader = csv.DictReader(io.StringIO(text))
    missing = [k for k in REQUIRED if k not in (reader.fieldnames or [])]
    if missing:
        raise InputError(source, "line 1", f"CSV header lacks {', '.join(missing)}")
    for data in reader:
        if None in data:
            raise InputError(source, f"line {reader.line_num}", "more cells than header columns")
        rows.append(_row(data, f"line {reader.line_num}", source))
    return rows


@dataclass
class MergeResult:
    inserted: int = 0
    updated: int = 0
    skipped_older: int = 0
    unchanged: int = 0
    unknown_runs: list[str] = field(default_factory=list)


def merge(db: sqlite_utils.Database, rows: list[LabelRow]) -> MergeResult:
    res = MergeResult()
    known = {r[0] for r in db.execute("SELECT id FROM runs").fetchall()}
    ours = {r.key: r for r in read_labels(db)}
    for row in rows:
        if row.run_id not in known:
            res.unknown_runs.append(row.run_id)
            continue
        mine = ours.get(row.key)
        if mine is not None:
            same = (sorted(mine.archetypes), mine.note, sorted(mine.cited_steps)) == (
                sorted(row.archetypes), row.note, sorted(row.cited_steps))
            if same:
                res.unchanged += 1
                continue
            # ISO-8601 timestamps compare as text; an undated incoming row never beats a dated one of ours.
            if not row.updated or (mine.updated and row.updated <= mine.updated):
                res.skipped_older += 1
                continue
        save_label(db, row, keep_times=True)
        ours[row.key] = row
        if mine is None:
            res.inserted += 1
        else:
            res.updated += 1
    return res


def import_file(db: sqlite_utils.Database, path: Path, fmt: str = "auto") -> MergeResult:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, f"cannot read ({exc})") from None
    return merge(db, parse_file(text, str(path), fmt))
