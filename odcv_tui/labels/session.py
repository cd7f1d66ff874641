"""A labeling session: which runs, in which order. Orders: unlabeled first, disagreement first (judges split,
judge median vs integrity flag, labelers or labelers vs judges conflicting), random with a seed, and the
adjudication queue. Headless: the TUI passes the SQL filter it built from the user's filter string."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import MISALIGNED_THRESHOLD
from odcv_tui.labels.codebook import Codebook
from odcv_tui.labels.store import LabelRow, read_labels

ORDERS = ("unlabeled", "disagreement", "random", "adjudicate")


@dataclass
class SessionItem:
    run_id: str
    model: str
    scenario_id: str
    variant: str
    trajectory_hash: str = ""
    judge_median: float | None = None
    integrity_flag: int | None = None
    judge_scores: list[float] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why this run is contentious (disagreement order)


@dataclass
class Session:
    labeler: str
    order: str
    items: list[SessionItem]
    labels: dict[str, list[LabelRow]]  # run_id -> every stored label of that run
    adjudicate: bool = False
    seed: int = 0

    def mine(self, run_id: str) -> LabelRow | None:
        return next((r for r in self.labels.get(run_id, [])
                     if r.labeler == self.labeler and r.adjudicated == self.adjudicate), None)

    def others(self, run_id: str) -> list[LabelRow]:
        return [r for r in self.labels.get(run_id, [])
                if not (r.labeler == self.labeler and r.adjudicated == self.adjudicate)]

    def set_mine(self, row: LabelRow | None, run_id: str) -> None:
        rows = [r for r in self.labels.get(run_id, [])
                if not (r.labeler == self.labeler and r.adjudicated == self.adjudicate)]
        if row is not None:
            rows.append(row)
        self.labels[run_id] = rows

    def done(self) -> int:
        return sum(1 for it in self.items if (m := self.mine(it.run_id)) is not None and not m.is_empty)

    def index_of(self, run_id: str) -> int:
        return next((i for i, it in enumerate(self.items) if it.run_id == run_id), -1)


def human_misaligned(archetypes: Sequence[str], book: Codebook) -> bool:
    return bool(set(archetypes) & book.misaligned_keys)


def labelers_disagree(rows: Sequence[LabelRow]) -> bool:
    """Two or more (non-adjudicated, non-empty) labels whose archetype sets differ."""
    sets = {tuple(sorted(r.archetypes)) for r in rows if not r.adjudicated and not r.is_empty}
    return len(sets) > 1


def conflicts(item: SessionItem, rows: Sequence[LabelRow], book: Codebook) -> list[str]:
    """Every reason this run deserves a second look, most informative first."""
    out: list[str] = []
    scores = item.judge_scores
    bad = sum(1 for s in scores if s >= MISALIGNED_THRESHOLD)
    if 0 < bad < len(scores):
        out.append(f"judges split {bad}/{len(scores)} misaligned")
    if item.judge_median is not None and item.integrity_flag is not None:
        if (item.judge_median >= MISALIGNED_THRESHOLD) != (item.integrity_flag > 0):
            out.append(f"judge median {item.judge_median:g} vs integrity "
                       f"{'flagged' if item.integrity_flag else 'clean'}")
    if labelers_disagree(rows):
        out.append("labelers differ")
    humans = [r for r in rows if not r.is_empty]
    if item.judge_median is not None and humans:
        judge_bad = item.judge_median >= MISALIGNED_THRESHOLD
        if any(human_misaligned(r.archetypes, book) != judge_bad for r in humans):
            out.append("human label vs judge median")
    return out


def _items(db: sqlite_utils.Database, where: str, args: Sequence[Any]) -> list[SessionItem]:
    sql = ("SELECT id, model, scenario_id, variant, trajectory_hash, judge_median, integrity_flag FROM runs"
           f"{where} ORDER BY started, id")
    items = [SessionItem(r[0], r[1] or "", r[2] or "", r[3] or "", r[4] or "", r[5], r[6])
             for r in db.execute(sql, list(args)).fetchall()]
    by_id = {it.run_id: it for it in items}
    if by_id:
        for run_id, score in db.execute("SELECT run_id, score FROM verdicts WHERE kind IN ('llm', 'imported') "
                                        "AND score IS NOT NULL ORDER BY run_id, judge").fetchall():
            it = by_id.get(run_id)
            if it is not None:
                it.judge_scores.append(float(score))
    return items


def build_session(db: sqlite_utils.Database, book: Codebook, labeler: str, order: str = "unlabeled", *,
                  seed: int = 0, where: str = "", args: Sequence[Any] = ()) -> Session:
    """Runs matching `where` (a SQL WHERE clause over `runs`, with its leading ' WHERE '), ordered."""
    labeler = labeler.strip()
    if not labeler:
        raise InputError("label session", "labeler", "a labeler name is required")
    if order not in ORDERS:
        raise InputError("label session", "order", f"{order!r} is not one of {', '.join(ORDERS)}")
    items = _items(db, where, args)
    labels: dict[str, list[LabelRow]] = {}
    for row in read_labels(db, [it.run_id for it in items]):
        labels.setdefault(row.run_id, []).append(row)
    adjudicate = order == "adjudicate"
    session = Session(labeler=labeler, order=order, items=items, labels=labels, adjudicate=adjudicate, seed=seed)
    for it in items:
        it.reasons = conflicts(it, labels.get(it.run_id, []), book)
    if order == "unlabeled":
        # Stable sort keeps the started-time order inside each group.
        items.sort(key=lambda it: (m := session.mine(it.run_id)) is not None and not m.is_empty)
    elif order == "disagreement":
        items.sort(key=lambda it: (-len(it.reasons), -_spread(it.judge_scores), it.run_id))
    elif order == "random":
        items.sort(key=lambda it: it.run_id)
        random.Random(seed).shuffle(items)
    else:
        queue = adjudication_queue(labels)
        # Open cases first; already adjudicated ones stay reachable after them for review.
        session.items = [it for it in items if it.run_id in queue]
        session.items.sort(key=lambda it: (session.mine(it.run_id) is not None, it.run_id))
    return session


def _spread(scores: list[float]) -> float:
    return (max(scores) - min(scores)) if len(scores) > 1 else 0.0


def adjudication_queue(labels: dict[str, list[LabelRow]], *, open_only: bool = False) -> list[str]:
    """Runs whose labelers disagree; with `open_only`, only those no adjudicator has settled yet."""
    out = []
    for run_id, rows in labels.items():
        if not labelers_disagree(rows):
            continue
        if open_only and any(r.adjudicated and not r.is_empty for r in rows):
            continue
        out.append(run_id)
    return sorted(out)
