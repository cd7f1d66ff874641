"""Forks vs parents: for every (continuation model, edit) the violation rate of the continuations and the
parents' outcome at the same fork points, with scenario-style bootstrap CIs over fork points.

The unit is the fork point (parent run, fork step): epochs of one point share its state, so they are
averaged within the point before resampling (like runs within a scenario in the main table)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import sqlite_utils
from scipy import stats as sps

from odcv_tui.core.literal import cell
from odcv_tui.core.types import MISALIGNED_THRESHOLD
from odcv_tui.stats.inference import _percentile_ci, _resample_counts

Outcome = Literal["judge", "integrity"]


@dataclass
class ForkGroup:
    model: str
    edit: str
    points: int  # fork points with a scored parent and >= 1 scored continuation
    forks: int  # continuations scored
    unscored: int  # continuations without the outcome (not judged yet, errors)
    child_rate: float | None = None  # percent violating
    child_ci: tuple[float | None, float | None] = (None, None)
    parent_rate: float | None = None
    parent_ci: tuple[float | None, float | None] = (None, None)
    diff: float | None = None  # child - parent, percentage points
    diff_ci: tuple[float | None, float | None] = (None, None)
    child_cp_upper: float | None = None  # exact upper bound when no continuation violated


@dataclass
class ForkReport:
    outcome: str
    groups: list[ForkGroup] = field(default_factory=list)


def _violates(row: dict[str, object], outcome: Outcome) -> float | None:
    if row["status"] == "error":  # a failed run says nothing about the model's behaviour
        return None
    if outcome == "integrity":
        flag = row["integrity_flag"]
        return None if flag is None else float(bool(flag))
    median = row["judge_median"]
    return None if median is None else float(float(median) >= MISALIGNED_THRESHOLD)  # type: ignore[arg-type]


def _intervals(child: np.ndarray, parent: np.ndarray, n: int, seed: int) -> tuple[tuple[float | None, float | None], ...]:
    """Percentile CIs of the child rate, the parent rate and their difference, from one matrix of fork-point
    resample counts (the main table's bootstrap, over fork points instead of scenarios): paired, so the
    difference resamples the same points for both sides."""
    if n <= 0 or len(child) < 2:
        return (None, None), (None, None), (None, None)
    w = _resample_counts(len(child), n, seed).astype(float)
    total = w.sum(axis=1)
    c, p = 100.0 * (w @ child) / total, 100.0 * (w @ parent) / total
    return _percentile_ci(c), _percentile_ci(p), _percentile_ci(c - p)


def compute_forks(db: sqlite_utils.Database, *, outcome: Outcome = "judge", bootstrap: int = 10_000,
                  seed: int = 0) -> ForkReport:
    cols = "id, model, status, fork_step, fork_edits, judge_median, integrity_flag, parent_run_id"
    children = [dict(zip(cols.split(", "), r, strict=True)) for r in db.execute(
        f"SELECT {cols} FROM runs WHERE parent_run_id IS NOT NULL ORDER BY id").fetchall()]
    parent_ids = sorted({c["parent_run_id"] for c in children})
    parents: dict[str, dict[str, object]] = {}
    for i in range(0, len(parent_ids), 500):
        chunk = parent_ids[i:i + 500]
        for r in db.execute(f"SELECT {cols} FROM runs WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            parents[r[0]] = dict(zip(cols.split(", "), r, strict=True))
    # (model, edit) -> point -> (child outcomes, parent outcome)
    cells: dict[tuple[str, str], dict[tuple[str, int], list[float]]] = {}
    unscored: dict[tuple[str, str], int] = {}
    for c in children:
        edit = str(json.loads(c["fork_edits"] or "{}").get("edit_key", "none"))  # type: ignore[arg-type]
        key = (str(c["model"]), edit)
        cells.setdefault(key, {})
        parent = parents.get(str(c["parent_run_id"]))
        v = _violates(c, outcome)
        if v is None or parent is None or _violates(parent, outcome) is None:
            unscored[key] = unscored.get(key, 0) + 1
            continue
        cells[key].setdefault((str(c["parent_run_id"]), int(c["fork_step"] or 0)), []).append(v)
    report = ForkReport(outcome=outcome)
    for (model, edit), points in sorted(cells.items()):
        g = ForkGroup(model, edit, len(points), sum(len(v) for v in points.values()), unscored.get((model, edit), 0))
        report.groups.append(g)
        if not points:
            continue
        child = np.array([np.mean(v) for v in points.values()])
        parent = np.array([_violates(parents[p], outcome) for p, _ in points]).astype(float)
        g.child_rate, g.parent_rate = float(100 * child.mean()), float(100 * parent.mean())
        g.diff = g.child_rate - g.parent_rate
        g.child_ci, g.parent_ci, g.diff_ci = _intervals(child, parent, bootstrap, seed)
        if g.child_rate == 0.0:
            ci = sps.binomtest(0, g.forks).proportion_ci(confidence_level=0.95, method="exact")
            g.child_cp_upper = 100.0 * float(ci.high)
    return report


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _ci(ci: tuple[float | None, float | None]) -> str:
    return "-" if ci[0] is None or ci[1] is None else f"[{ci[0]:.1f}, {ci[1]:.1f}]"


HEADERS = ["model", "edit", "points", "forks", "unscored", "fork %", "fork CI", "parent %", "parent CI",
           "diff pp", "diff CI"]


def rows(rep: ForkReport) -> list[list[str]]:
    # Model names come from imports and users: literal (no escape sequence reaches the terminal).
    return [[cell(g.model), cell(g.edit), str(g.points), str(g.forks), str(g.unscored), _pct(g.child_rate)
             + (f" (<= {g.child_cp_upper:.1f})" if g.child_cp_upper is not None else ""), _ci(g.child_ci),
             _pct(g.parent_rate), _ci(g.parent_ci), _pct(g.diff), _ci(g.diff_ci)] for g in rep.groups]


def render_forks(rep: ForkReport, fmt: str) -> str:
    """table (plain aligned text), markdown, csv or json. Model names are printed literally."""
    if fmt == "json":
        return json.dumps({"outcome": rep.outcome, "groups": [asdict(g) for g in rep.groups]}, indent=2)
    body = rows(rep)
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows([HEADERS, *body])
        return buf.getvalue()
    title = f"forks vs parents ({rep.outcome} outcome: % of runs violating; CIs: 95% bootstrap over fork points)"
    if fmt == "markdown":
        lines = [f"**{title}**", "", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in body]
        return "\n".join(lines) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(HEADERS)]
    out = [title, "  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(out) + "\n"


def fork_stats_text(db: sqlite_utils.Database, fmt: str, resamples: int, seed: int, outcome: str) -> str:
    """What `odcv stats --forks` prints (closes the connection)."""
    from odcv_tui.core.errors import InputError

    try:
        rep = compute_forks(db, outcome=outcome, bootstrap=resamples, seed=seed)  # type: ignore[arg-type]
    finally:
        db.conn.close()
    if not rep.groups:
        raise InputError("runs.db", "runs.parent_run_id", "no forks stored (make some with `odcv fork`)")
    return render_forks(rep, fmt)
