"""A parsed run as the rows runs.db stores (runs, steps, verdicts), built where the run is parsed.

Importers parse in worker processes; handing back plain tuples instead of pickled pydantic models, with the
summary columns already computed, leaves the single writer process nothing to do per run but insert (it was
the bottleneck of a 100k-run import).
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass

from odcv_tui.core.types import RunRecord, Step, ToolCall, Verdict, trajectory_hash
from odcv_tui.storage.writes import run_summary

STEP_COLS = ["run_id", "idx", "role", "content", "reasoning", "tool_calls", "tool_call_id", "command", "stdout",
             "stderr", "exit_code", "duration", "tokens_in", "tokens_out", "cost", "note", "created"]
VERDICT_COLS = ["run_id", "judge", "kind", "score", "reasoning", "cited_steps", "rubric_version", "error",
                "tokens", "cost", "cache_key", "created"]
_KIND, _SCORE = VERDICT_COLS.index("kind"), VERDICT_COLS.index("score")
_STEP_ROW = operator.itemgetter(*STEP_COLS[:-1])  # a Step's fields -> its row (`created` appended)
Row = tuple[object, ...]


@dataclass
class RunRows:
    """One run ready to insert: the runs row (every column but `domain`; summary columns computed without
    labels), its steps and its verdicts (both with `created`)."""
    run: dict[str, object]
    steps: list[Row]
    verdicts: list[Row]

    @property
    def id(self) -> str:
        return str(self.run["id"])

    def kinds(self) -> list[str]:
        return [str(v[_KIND]) for v in self.verdicts]


def _call_dict(c: ToolCall) -> dict[str, str]:
    return {"id": c.id, "name": c.name, "arguments": c.arguments}  # = c.model_dump(), field order kept


def step_tuples(steps: list[Step], created: str) -> list[Row]:
    rows = []
    for s in steps:
        # The fields as validated (all plain values but tool_calls): model_dump per step cost ~10% of an import.
        r = dict(s.__dict__)
        r["tool_calls"] = json.dumps([_call_dict(c) for c in s.tool_calls]) if s.tool_calls else None
        rows.append((*_STEP_ROW(r), created))
    return rows


def verdict_row(v: Verdict, created: str) -> Row:
    r = dict(v.__dict__)  # plain fields: = model_dump() at a tenth of the cost
    r["cited_steps"] = json.dumps(v.cited_steps) if v.cited_steps else "[]"
    r["created"] = created
    return tuple(r.get(c) for c in VERDICT_COLS)


def table_verdict_row(run_id: str, judge: str, kind: str, score: float, reasoning: str, rubric_version: str,
                      created: str) -> Row:
    """= verdict_row(Verdict(...)) for a score read from a published table, without building the model."""
    return (run_id, judge, kind, score, reasoning, "[]", rubric_version, None, 0, 0.0, None, created)


def run_rows(run: RunRecord, steps: list[Step], verdicts: list[Row], created: str) -> RunRows:
    row = dict(run.__dict__)
    row.update(steps=len(steps), trajectory_hash=trajectory_hash(steps),
               model_calls=sum(s.role == "assistant" for s in steps))
    row.update(run_summary([(str(v[_KIND]), float(v[_SCORE])) for v in verdicts  # type: ignore[arg-type]
                            if v[_SCORE] is not None], []))
    return RunRows(row, step_tuples(steps, created), verdicts)
