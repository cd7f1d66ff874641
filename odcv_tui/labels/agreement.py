"""Agreement between labelers and with the judges. Cohen's kappa for two labelers, Fleiss' kappa for more,
each per archetype (present/absent: several archetypes may apply to one run) and on the misaligned/not binary
the codebook implies; judge-vs-human agreement on misaligned/not (judge median >= 3). numpy only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import sqlite_utils

from odcv_tui.core.types import MISALIGNED_THRESHOLD
from odcv_tui.labels.codebook import Codebook, Staleness, staleness
from odcv_tui.labels.session import adjudication_queue, human_misaligned, labelers_disagree
from odcv_tui.labels.store import LabelRow, read_labels

MISALIGNED = "(misaligned)"  # the pseudo-archetype row of the binary derived from the codebook


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """(p_o - p_e) / (1 - p_e); None when undefined (no items, or both labelers used one category only)."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa: sequences differ in length")
    n = len(a)
    if n == 0:
        return None
    po = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[c] * cb[c] for c in set(ca) | set(cb)) / (n * n)
    if pe >= 1.0:
        return None
    return (po - pe) / (1.0 - pe)


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """`counts[i, j]` = how many raters put subject i in category j; every row must sum to the same n >= 2."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[0] == 0:
        return None
    n = counts.sum(axis=1)
    if not np.allclose(n, n[0]) or n[0] < 2:
        raise ValueError("fleiss_kappa: every subject needs the same number (>= 2) of ratings")
    raters = n[0]
    p_j = counts.sum(axis=0) / counts.sum()
    p_i = ((counts * counts).sum(axis=1) - raters) / (raters * (raters - 1))
    p_bar, pe_bar = p_i.mean(), float((p_j * p_j).sum())
    if pe_bar >= 1.0:
        return None
    return float((p_bar - pe_bar) / (1.0 - pe_bar))


@dataclass
class KappaRow:
    archetype: str
    method: str  # "cohen" | "fleiss"
    labelers: tuple[str, ...]
    n: int  # runs every one of these labelers labeled
    kappa: float | None
    agreement: float | None  # share of runs where all of them agree


@dataclass
class JudgeAgreement:
    who: str  # a labeler, or "resolved" (adjudicated / majority label)
    n: int
    agreement: float | None
    kappa: float | None
    both_misaligned: int = 0
    both_aligned: int = 0
    judge_only: int = 0  # judge says misaligned, human does not
    human_only: int = 0


@dataclass
class LabelReport:
    codebook_version: str
    labelers: list[str]
    runs_labeled: int
    archetypes: list[str]
    counts: list[dict[str, object]]  # model, variant, runs, <archetype>: count (resolved labels)
    kappas: list[KappaRow] = field(default_factory=list)
    judge: list[JudgeAgreement] = field(default_factory=list)
    queue_open: list[str] = field(default_factory=list)
    queue_total: int = 0
    stale: int = 0


def resolve(rows: Sequence[LabelRow]) -> list[str] | None:
    """One run's final archetypes: the adjudicated label if any, else those a strict majority of labelers
    chose (a single labeler's label stands). None when nobody labeled it."""
    adj = [r for r in rows if r.adjudicated and not r.is_empty]
    if adj:
        return sorted(adj[-1].archetypes)
    humans = [r for r in rows if not r.adjudicated and not r.is_empty]
    if not humans:
        return None
    votes = Counter(a for r in humans for a in set(r.archetypes))
    return sorted(a for a, v in votes.items() if v * 2 > len(humans))


def _binary_table(per_run: dict[str, dict[str, LabelRow]], labelers: Sequence[str], runs: list[str],
                  key: str, book: Codebook) -> list[list[int]]:
    def has(row: LabelRow) -> int:
        return int(human_misaligned(row.archetypes, book)) if key == MISALIGNED else int(key in row.archetypes)

    return [[has(per_run[r][lab]) for lab in labelers] for r in runs]


def labeler_kappas(rows: Sequence[LabelRow], book: Codebook, labelers: Sequence[str] | None = None) -> list[KappaRow]:
    per_run: dict[str, dict[str, LabelRow]] = {}
    for r in rows:
        if not r.adjudicated and not r.is_empty:
            per_run.setdefault(r.run_id, {})[r.labeler] = r
    labs = sorted(labelers or {lab for d in per_run.values() for lab in d})
    if len(labs) < 2:
        return []
    keys = [*book.keys, *sorted({a for r in rows for a in r.archetypes} - set(book.keys)), MISALIGNED]
    groups: list[tuple[str, tuple[str, ...]]] = [("fleiss", tuple(labs))] if len(labs) > 2 else []
    groups += [("cohen", pair) for pair in combinations(labs, 2)]
    out = []
    for method, group in groups:
        runs = sorted(r for r, d in per_run.items() if all(lab in d for lab in group))
        for key in keys:
            table = _binary_table(per_run, group, runs, key, book)
            agree = (sum(1 for row in table if len(set(row)) == 1) / len(table)) if table else None
            if method == "cohen":
                kappa = cohen_kappa([t[0] for t in table], [t[1] for t in table])
            else:
                counts = np.array([[len(row) - sum(row), sum(row)] for row in table]) if table else np.zeros((0, 2))
                kappa = fleiss_kappa(counts)
            out.append(KappaRow(key, method, group, len(runs), kappa, agree))
    return out


def judge_agreement(rows: Sequence[LabelRow], medians: dict[str, float], book: Codebook) -> list[JudgeAgreement]:
    by_who: dict[str, list[tuple[bool, bool]]] = {}
    per_run: dict[str, list[LabelRow]] = {}
    for r in rows:
        per_run.setdefault(r.run_id, []).append(r)
        if r.adjudicated or r.is_empty or r.run_id not in medians:
            continue
        by_who.setdefault(r.labeler, []).append((medians[r.run_id] >= MISALIGNED_THRESHOLD,
                                                 human_misaligned(r.archetypes, book)))
    for run_id, rs in per_run.items():
        final = resolve(rs)
        if final is not None and run_id in medians:
            by_who.setdefault("resolved", []).append((medians[run_id] >= MISALIGNED_THRESHOLD,
                                                      human_misaligned(final, book)))
    out = []
    for who in sorted(by_who, key=lambda w: (w == "resolved", w)):
        pairs = by_who[who]
        j, h = [p[0] for p in pairs], [p[1] for p in pairs]
        out.append(JudgeAgreement(
            who=who, n=len(pairs), agreement=sum(x == y for x, y in pairs) / len(pairs) if pairs else None,
            kappa=cohen_kappa(j, h), both_misaligned=sum(x and y for x, y in pairs),
            both_aligned=sum(not x and not y for x, y in pairs), judge_only=sum(x and not y for x, y in pairs),
            human_only=sum(y and not x for x, y in pairs)))
    return out


def stale_labels(db: sqlite_utils.Database, book: Codebook) -> list[tuple[LabelRow, Staleness]]:
    """Labels whose run was re-imported with other content or whose codebook definitions changed since."""
    hashes = dict(db.execute("SELECT id, trajectory_hash FROM runs WHERE id IN "
                             "(SELECT DISTINCT run_id FROM labels)").fetchall())
    out = []
    for r in read_labels(db):
        if r.run_id not in hashes or r.is_empty:
            continue
        st = staleness(book, archetypes=r.archetypes, label_hash=r.trajectory_hash, run_hash=hashes[r.run_id] or "",
                       label_version=r.codebook_version, label_hashes=r.codebook_hashes)
        if st.stale:
            out.append((r, st))
    return out


def build_report(db: sqlite_utils.Database, book: Codebook, labelers: Sequence[str] | None = None) -> LabelReport:
    rows = read_labels(db)
    runs = {r[0]: r for r in db.execute(
        "SELECT id, model, variant, judge_median FROM runs WHERE id IN "
        "(SELECT DISTINCT run_id FROM labels)").fetchall()}
    rows = [r for r in rows if r.run_id in runs]
    per_run: dict[str, list[LabelRow]] = {}
    for r in rows:
        per_run.setdefault(r.run_id, []).append(r)
    extra = sorted({a for r in rows for a in r.archetypes} - set(book.keys))
    keys = [*book.keys, *extra]
    cells: dict[tuple[str, str], Counter[str]] = {}
    totals: Counter[tuple[str, str]] = Counter()
    for run_id, rs in per_run.items():
        final = resolve(rs)
        if final is None:
            continue
        group = (runs[run_id][1] or "", runs[run_id][2] or "")
        totals[group] += 1
        cells.setdefault(group, Counter()).update(final)
    counts = [{"model": m, "variant": v, "runs": totals[(m, v)], **{k: cells[(m, v)][k] for k in keys}}
              for m, v in sorted(totals)]
    medians = {rid: float(r[3]) for rid, r in runs.items() if r[3] is not None}
    stale = len(stale_labels(db, book))
    return LabelReport(
        codebook_version=book.version,
        labelers=sorted({r.labeler for r in rows if not r.adjudicated and not r.is_empty}),
        runs_labeled=sum(totals.values()), archetypes=keys, counts=counts,
        kappas=labeler_kappas(rows, book, labelers), judge=judge_agreement(rows, medians, book),
        queue_open=adjudication_queue(per_run, open_only=True),
        queue_total=sum(1 for rs in per_run.values() if labelers_disagree(rs)), stale=stale)
