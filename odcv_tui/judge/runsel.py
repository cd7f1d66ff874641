"""`--runs FILTER` for `odcv judge`: run ids (globs allowed) and key=value terms, e.g.
`model=openai/gpt-4o scenario=sla-report`, `status=completed,variant=mandated`, `20250101-*`.
Terms with different keys are ANDed; several ids or several values of one key are ORed."""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlite_utils

from odcv_tui.core.errors import InputError

KEYS = {"id": "id", "run": "id", "model": "model", "scenario": "scenario_id", "variant": "variant",
        "status": "status", "source": "source", "domain": "domain", "set": "source_set"}


def parse_filters(filters: Iterable[str]) -> dict[str, list[str]]:
    terms: dict[str, list[str]] = {}
    for raw in filters:
        for tok in re.split(r"[\s,]+", raw.strip()):
            if not tok:
                continue
            key, sep, value = tok.partition("=")
            if not sep:
                key, value = "id", tok
            col = KEYS.get(key.strip().lower())
            if col is None:
                raise InputError("--runs", key, f"unknown filter key; use one of {', '.join(sorted(KEYS))}")
            if not value:
                raise InputError("--runs", key, "empty value")
            terms.setdefault(col, []).append(value)
    return terms


def select_runs(db: sqlite_utils.Database, filters: Iterable[str] = ()) -> list[str]:
    """Run ids matching the filters, oldest first. Without a status term, runs still `running` are left
    out (their trajectory is not final, so a verdict would go stale) and so are runs that ended in `error`
    (a failed run is no outcome to judge; `status=error` selects them on purpose)."""
    terms = parse_filters(filters)
    where, args = [], []
    for col, values in terms.items():
        ors = []
        for v in values:
            # GLOB so run ids and models can be matched by pattern (`*-exploit-*`, `openai/*`).
            ors.append(f"{col} GLOB ?" if any(ch in v for ch in "*?[") else f"{col} = ?")
            args.append(v)
        where.append("(" + " OR ".join(ors) + ")")
    if "status" not in terms:
        where.append("status NOT IN ('running', 'error')")
    sql = "SELECT id FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY started, id"
    return [r[0] for r in db.execute(sql, args).fetchall()]
