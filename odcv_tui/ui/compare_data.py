"""Headless data for the Compare screen: which runs to put side by side, their verdict headers,
their steps aligned by bash-command index (row k of every column is that run's k-th command), and the rich Texts of headers and cells.

No textual import: the screen calls these from a worker thread with its own connection, and the
benchmark / tests call them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils
from rich.text import Text

from odcv_tui.core.types import MISALIGNED_THRESHOLD, VARIANTS, Step
from odcv_tui.storage.queries import get_steps, get_verdicts
from odcv_tui.ui.safe import literal, one_line

JUDGE_KINDS = ("imported", "llm")


@dataclass
class CommandStep:
    """The k-th bash command of a run with what it printed; `step_idx` is the step row to jump to."""

    k: int
    step_idx: int
    command: str
    stdout: str | None = None
    stderr: str | None = None
    exit_code: int | None = None
    reasoning: str | None = None  # the issuing assistant message's reasoning/content, for context
    ran: bool = True  # False when the call was made but no result was recorded (run cut off)


@dataclass
class VerdictSummary:
    median: float | None = None
    judges: list[tuple[str, float | None]] = field(default_factory=list)  # (judge, score) of the panel
    table_median: float | None = None  # an imported median table cell, when present
    integrity: bool | None = None  # True flagged, False clean, None not checked
    self_score: float | None = None

    @property
    def misaligned(self) -> bool | None:
        return None if self.median is None else self.median >= MISALIGNED_THRESHOLD


@dataclass
class Column:
    run_id: str
    model: str
    variant: str
    scenario_id: str
    status: str
    verdicts: VerdictSummary
    commands: list[CommandStep]
    final: str | None = None  # the run's closing words (task_complete reason or last assistant text)
    fork_step: int | None = None  # a fork: its steps 1..fork_step are the parent's (runner/fork.py)

    @property
    def branch_k(self) -> int | None:
        """Index of a fork's first own command (the row where it leaves its parent)."""
        if self.fork_step is None:
            return None
        return next((c.k for c in self.commands if c.step_idx > self.fork_step), len(self.commands))


def list_scenarios(db: sqlite_utils.Database) -> list[str]:
    """Scenarios with at least one run, the ones run by the most models first (best to compare)."""
    rows = db.execute("SELECT scenario_id, COUNT(DISTINCT model) AS n FROM runs GROUP BY scenario_id "
                      "ORDER BY n DESC, scenario_id").fetchall()
    return [r[0] for r in rows]


def list_models(db: sqlite_utils.Database, scenario_id: str, variant: str) -> list[str]:
    rows = db.execute("SELECT DISTINCT model FROM runs WHERE scenario_id=? AND variant=? ORDER BY model",
                      [scenario_id, variant]).fetchall()
    return [r[0] for r in rows]


def pick_run(db: sqlite_utils.Database, scenario_id: str, variant: str, model: str) -> dict | None:
    """The run to show for a cell: finished runs before unfinished ones, then the most recent."""
    rows = list(db.query(
        "SELECT id, status, judge_median FROM runs WHERE scenario_id=? AND variant=? AND model=? "
        "ORDER BY (status = 'running'), (judge_median IS NULL), started DESC, id LIMIT 1",
        [scenario_id, variant, model]))
    return rows[0] if rows else None


def summarize_verdicts(db: sqlite_utils.Database, run_id: str, judge_median: float | None) -> VerdictSummary:
    out = VerdictSummary(median=judge_median)
    for v in get_verdicts(db, run_id):
        if v.kind in JUDGE_KINDS:
            out.judges.append((v.judge, v.score))
        elif v.kind == "median":
            out.table_median = v.score
        elif v.kind == "integrity" and v.score is not None:
            out.integrity = bool(out.integrity) or v.score > 0
        elif v.kind == "self" and v.score is not None and out.self_score is None:
            out.self_score = v.score
    if out.median is None:
        out.median = out.table_median
    return out


def _text(value: str | None) -> str | None:
    # Upstream logs write an absent message body as the literal word "None", and some providers'
    # reasoning as an opaque encrypted blob: neither says anything to a reader comparing runs.
    if not value or value.strip() in ("", "None"):
        return None
    if value.startswith("[{'type': 'reasoning.encrypted'"):
        return "(encrypted reasoning)"
    return value


def _bash_command(step: Step) -> list[tuple[str, str]]:
    """(tool_call_id, command) of each bash call an assistant message made."""
    out = []
    for call in step.tool_calls:
        if call.name != "bash":
            continue
        args = call.parsed_args()
        cmd = args.get("command") if args else None
        out.append((call.id, cmd if isinstance(cmd, str) else call.arguments))
    return out


def align_commands(steps: list[Step]) -> tuple[list[CommandStep], str | None]:
    """The run's bash commands in order, each paired with its tool result, plus its closing words.

    Results are matched to calls by tool_call_id; a tool row with a command but no matching call
    (importers that keep only tool rows) still counts as a command, so every source aligns.
    """
    commands: list[CommandStep] = []
    pending: dict[str, CommandStep] = {}
    context: str | None = None
    final: str | None = None
    for s in steps:
        if s.role == "assistant":
            context = _text(s.reasoning) or _text(s.content)
            for call in s.tool_calls:
                if call.name == "task_complete":
                    args = call.parsed_args() or {}
                    reason = args.get("reason")
                    final = reason if isinstance(reason, str) else call.arguments
            if _text(s.content) and not s.tool_calls:
                final = s.content
            for call_id, cmd in _bash_command(s):
                cs = CommandStep(k=len(commands), step_idx=s.idx, command=cmd, reasoning=context, ran=False)
                commands.append(cs)
                pending[call_id or f"#{cs.k}"] = cs
                context = None  # the reasoning belongs to the first command of the message only
        elif s.role == "tool":
            cs = pending.pop(s.tool_call_id or "", None)
            if cs is None and s.command is None:
                continue  # a non-bash tool result (task_complete acknowledgement)
            if cs is None:
                cs = CommandStep(k=len(commands), step_idx=s.idx, command=s.command or "")
                commands.append(cs)
            cs.step_idx, cs.ran = s.idx, True
            cs.stdout, cs.stderr, cs.exit_code = s.stdout, s.stderr, s.exit_code
            if s.stdout is None and s.stderr is None and s.content:
                cs.stdout = s.content  # a tool result kept only as raw text
    return commands, final


def load_column(db: sqlite_utils.Database, scenario_id: str, variant: str, model: str) -> Column | None:
    run = pick_run(db, scenario_id, variant, model)
    if run is None:
        return None
    commands, final = align_commands(get_steps(db, run["id"]))
    return Column(run_id=run["id"], model=model, variant=variant, scenario_id=scenario_id,
                  status=run["status"] or "", verdicts=summarize_verdicts(db, run["id"], run["judge_median"]),
                  commands=commands, final=final)


def load_models(db: sqlite_utils.Database, scenario_id: str, variant: str, models: list[str]) -> list[Column]:
    """One column per model (models without a run for this scenario+variant are skipped)."""
    cols = (load_column(db, scenario_id, variant, m) for m in models)
    return [c for c in cols if c is not None]


def load_pair(db: sqlite_utils.Database, scenario_id: str, model: str) -> list[Column]:
    """A model's mandated and incentivized runs of one scenario, side by side."""
    cols = (load_column(db, scenario_id, v, model) for v in VARIANTS)
    return [c for c in cols if c is not None]


def load_run(db: sqlite_utils.Database, run_id: str) -> Column | None:
    row = db.execute("SELECT model, variant, scenario_id, status, judge_median, fork_step, parent_run_id FROM runs "
                     "WHERE id=?", [run_id]).fetchone()
    if row is None:
        return None
    commands, final = align_commands(get_steps(db, run_id))
    return Column(run_id=run_id, model=row[0], variant=row[1], scenario_id=row[2], status=row[3] or "",
                  verdicts=summarize_verdicts(db, run_id, row[4]), commands=commands, final=final,
                  fork_step=row[5] if row[6] else None)


def load_family(db: sqlite_utils.Database, run_id: str, limit: int = 12) -> list[Column]:
    """A parent and its forks side by side (from the parent or from any of its forks). Rows align by command
    index, and a fork holds its parent's commands up to the fork point, so both sides meet there."""
    row = db.execute("SELECT parent_run_id FROM runs WHERE id=?", [run_id]).fetchone()
    root = row[0] if row and row[0] else run_id
    kids = [r[0] for r in db.execute("SELECT id FROM runs WHERE parent_run_id=? ORDER BY fork_step, started, id "
                                     "LIMIT ?", [root, limit]).fetchall()]
    cols = (load_run(db, i) for i in [root, *kids])
    return [c for c in cols if c is not None]


def row_count(columns: list[Column]) -> int:
    """Aligned rows: the longest run's command count (shorter runs show an end marker)."""
    return max((len(c.commands) for c in columns), default=0)


# ---- cell texts (rich only: untrusted text goes through safe.literal / one_line) ----------------
HEAD_LINES, HEAD_CHARS = 12, 4000  # per output in a cell until `e` expands (then safe.literal's cap)


def _head(text: str | None, expanded: bool, lines: int = HEAD_LINES, chars: int = HEAD_CHARS) -> Text:
    """The first lines of an untrusted text, literal; slices before splitting so MBs cost nothing."""
    if not text:
        return Text("")
    if expanded:
        return literal(text)
    part = text[:chars]
    kept = part.split("\n")[:lines]
    shown = "\n".join(kept)
    out = literal(shown, cap=None)
    rest = len(text) - len(shown)
    # A trailing newline is not worth an expander (only a bounded slice is looked at: outputs can be MBs).
    if rest > 64 or (rest and text[len(shown):].strip()):
        out.append(f"\n… {rest:,} more characters (e expands)", style="yellow")
    return out


def _styled(text: Text, style: str) -> Text:
    text.stylize(style)  # stylize mutates and returns None, hence this helper
    return text


def _score(value: float | None) -> Text:
    if value is None:
        return Text("–", style="dim")
    return Text(f"{value:g}", style="bold red" if value >= 3 else "green")


def verdict_header(col: Column) -> Text:
    """Model, variant, status, then judge median / each judge / integrity / self score."""
    v = col.verdicts
    t = Text(no_wrap=False)
    t.append(one_line(col.model, 40), style="bold")
    t.append(f"  ↳ fork @ step {col.fork_step}\n" if col.fork_step is not None else "\n", style="bold yellow")
    t.append(f"{one_line(col.variant, 14)} · {one_line(col.status, 14)} · {len(col.commands)} cmds\n",
             style="dim")
    t.append("median ")
    t.append_text(_score(v.median))
    if v.misaligned is not None:
        t.append("  MISALIGNED" if v.misaligned else "  aligned", style="bold red" if v.misaligned else "green")
    t.append("\n")
    if v.judges:
        for i, (judge, score) in enumerate(v.judges):
            t.append(" " if i else "")
            t.append(one_line(judge, 16) + ":")
            t.append_text(_score(score))
    else:
        t.append("no judge scores", style="dim")
    t.append("\nintegrity ")
    if v.integrity is None:
        t.append("–", style="dim")
    else:
        t.append("FLAGGED" if v.integrity else "clean", style="bold red" if v.integrity else "green")
    t.append(" · self ")
    t.append_text(_score(v.self_score))
    if v.table_median is not None:
        t.append(" · table ")
        t.append_text(_score(v.table_median))
    t.append(f"\n{one_line(col.run_id, 80)}", style="dim")
    return t


def command_cell(col: Column, k: int, expanded: bool) -> Text:
    if k == len(col.commands):
        t = Text(f"■ end · {one_line(col.status, 14)} after {k} commands\n", style="bold")
        t.append_text(_head(col.final, expanded) if col.final else Text("(no closing message)", style="dim"))
        return t
    if k > len(col.commands):
        return Text(f"#{k + 1} —", style="dim")
    cs = col.commands[k]
    t = Text()
    if col.fork_step is not None:  # a fork: the parent's commands dimmed, its own first one marked
        if cs.step_idx <= col.fork_step:
            t.append("(parent) ", style="dim")
        elif k == col.branch_k:
            t.append("↳ branch ", style="bold yellow")
    t.append(f"#{k + 1} ", style="bold")
    if not cs.ran:
        t.append("no result recorded", style="yellow")
    elif cs.exit_code is not None:
        t.append(f"exit {cs.exit_code}", style="green" if cs.exit_code == 0 else "bold red")
    t.append(f"  step {cs.step_idx}\n", style="dim")
    if cs.reasoning:
        t.append_text(_styled(_head(cs.reasoning, expanded, 3, 400), "dim italic"))
        t.append("\n")
    t.append("$ ", style="bold cyan")
    t.append_text(_styled(_head(cs.command or "(bash call without a command)", expanded, 8, 1200), "cyan"))
    if cs.stdout:
        t.append("\n")
        t.append_text(_head(cs.stdout, expanded))
    if cs.stderr:
        t.append("\n")
        t.append_text(_styled(_head(cs.stderr, expanded), "red"))
    return t
