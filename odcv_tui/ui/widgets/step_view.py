"""How one stored step reads on screen: reasoning, content, the bash command, its output, the file diffs it
caused (protected paths marked) and which verdicts cite it. Pure rich renderables built from untrusted text
through `safe.literal`, so nothing a model wrote is ever parsed as markup or reaches the terminal raw."""

from __future__ import annotations

import re

from rich.console import Group, RenderableType
from rich.text import Text

from odcv_tui.core.types import FileChange, Step, Verdict
from odcv_tui.ui.data import RunBundle
from odcv_tui.ui.safe import clean, literal
from odcv_tui.ui.search_text import HIT_STYLE

COLLAPSED_CAP = 6_000
EXPANDED_CAP = 400_000  # even "expanded" stays bounded: MBs of output would stall any terminal renderer
# A step that touched 200k files (issue #13.2) is drawn as its first changes (protected ones first, as loaded by
# ui.data) plus a count: drawing every diff froze the TUI for minutes. Diff text shares one budget per step.
CHANGES_COLLAPSED, CHANGES_EXPANDED = 40, 2_000
DIFF_BUDGET_COLLAPSED, DIFF_BUDGET_EXPANDED = 40_000, 1_000_000
ROLE_STYLE = {"system": "magenta", "user": "cyan", "assistant": "green", "tool": "yellow"}


def diff_text(change: FileChange, cap: int) -> Text:
    head = Text()
    mark = " PROTECTED" if change.protected else ""
    head.append(f"{change.kind.upper():9}", style="bold red" if change.protected else "bold")
    head.append(clean(change.path), style="bold")
    if mark:
        head.append(mark, style="bold white on red")
    if change.binary:
        head.append(f"  binary {change.sha_before or '-'} → {change.sha_after or '-'}", style="dim")
    raw = change.diff or ""
    body = clean(raw[:cap])  # cut before cleaning: a 50 MB diff costs what its visible part costs
    hidden = max(0, len(raw) - cap)
    for line in body.splitlines():
        style = ("green" if line.startswith("+") and not line.startswith("+++") else
                 "red" if line.startswith("-") and not line.startswith("---") else
                 "cyan" if line.startswith("@@") else "dim")
        head.append("\n" + line, style=style)
    if hidden:
        head.append(f"\n… {hidden:,} more characters of diff hidden (e expands)", style="bold yellow")
    return head


def _label(text: str, style: str) -> Text:
    return Text(text, style=f"bold {style}")


def capped(text: str | None, cap: int, style: str = "") -> Text:
    """`literal` with the cut made before cleaning, so an 8 MB output costs what its visible part costs."""
    if text is None or len(text) <= cap:
        return literal(text, style=style, cap=cap)
    out = literal(text[:cap], style=style, cap=None)
    out.append(f"\n… {len(text) - cap:,} more characters hidden (press e to expand)", style="bold yellow")
    return out


def changes_part(bundle: RunBundle, idx: int, expanded: bool, cap: int) -> list[RenderableType]:
    changes = bundle.changes.get(idx, [])
    total = max(bundle.change_counts.get(idx, 0), len(changes))
    shown = changes[: CHANGES_EXPANDED if expanded else CHANGES_COLLAPSED]
    budget = DIFF_BUDGET_EXPANDED if expanded else DIFF_BUDGET_COLLAPSED
    parts: list[RenderableType] = []
    if total > 1:
        parts.append(_label(f"file changes: {total:,}", "magenta"))
    for change in shown:
        if total == 1:
            parts.append(_label("file change", "magenta"))
        part = diff_text(change, min(cap, budget))
        budget = max(0, budget - len(change.diff or ""))
        parts.append(part)
    if total > len(shown):
        more = f"… {total - len(shown):,} more file changes not shown"
        more += " (all are in runs.db)" if expanded or len(shown) >= len(changes) else " (e shows more)"
        parts.append(Text(more, style="bold yellow"))
    return parts


def render_step(bundle: RunBundle, step: Step, *, expanded: bool = False) -> RenderableType:
    cap = EXPANDED_CAP if expanded else COLLAPSED_CAP
    parts: list[RenderableType] = []
    head = Text()
    head.append(f"step {step.idx}  ", style="bold")
    head.append(step.role, style=f"bold {ROLE_STYLE.get(step.role, '')}")
    if step.exit_code is not None:
        head.append(f"  exit {step.exit_code}", style="red" if step.exit_code else "green")
    if step.duration is not None:
        head.append(f"  {step.duration:.2f} s", style="dim")
    if step.tokens_in or step.tokens_out:
        head.append(f"  tokens {step.tokens_in}/{step.tokens_out}", style="dim")
    cited = bundle.cited.get(step.idx)
    if cited:
        head.append("  ◆ cited by " + ", ".join(clean(j) for j in cited), style="bold magenta")
    parts.append(head)
    if step.note:
        parts.append(capped(f"[harness] {step.note}", cap, "italic yellow"))
    if step.reasoning:
        parts += [_label("reasoning", "blue"), capped(step.reasoning, cap, "italic")]
    # A tool row's content is the JSON echo of stdout/stderr/exit code sent back to the model: shown below.
    if step.content and not (step.role == "tool" and (step.stdout is not None or step.exit_code is not None)):
        parts += [_label("content", "white"), capped(step.content, cap)]
    for call in step.tool_calls:
        args = call.parsed_args()
        if call.name == "bash" and args and isinstance(args.get("command"), str):
            parts += [_label("$ bash", "yellow"), capped(args["command"], cap, "bold yellow")]
        else:
            parts += [_label(f"→ {clean(call.name)}", "yellow"), capped(call.arguments, cap)]
    if step.role == "tool":
        if step.command:
            parts += [_label("$ command", "yellow"), capped(step.command, cap, "yellow")]
        parts += [_label("stdout", "white"), capped(step.stdout or "(empty)", cap)]
        if step.stderr:
            parts += [_label("stderr", "red"), capped(step.stderr, cap, "red")]
    replay = bundle.replays.get(step.idx)
    if replay and replay.get("diverged"):
        cls = replay.get("divergence_class") or "unclassified"
        parts.append(literal(f"replay diverged ({cls}): {replay.get('detail') or ''}", style="bold red", cap=500))
    parts += changes_part(bundle, step.idx, expanded, cap)
    return Group(*parts)


def highlight(renderable: RenderableType, pattern: re.Pattern[str] | None, style: str = HIT_STYLE) -> None:
    """Mark every match of `pattern` (the searched words) in the step's texts, in place."""
    if pattern is None:
        return
    parts = renderable.renderables if isinstance(renderable, Group) else [renderable]
    for part in parts:
        if isinstance(part, Text):
            part.highlight_regex(pattern, style=style)


def any_match(renderable: RenderableType, pattern: re.Pattern[str]) -> bool:
    parts = renderable.renderables if isinstance(renderable, Group) else [renderable]
    return any(isinstance(part, Text) and pattern.search(part.plain) for part in parts)


def verdict_text(v: Verdict) -> Text:
    out = Text()
    score = "FAILED" if v.score is None else f"{v.score:g}"
    bad = v.score is not None and ((v.kind == "integrity" and v.score > 0) or (v.kind != "integrity" and v.score >= 3))
    out.append(f"{clean(v.judge)} ", style="bold")
    out.append(f"[{v.kind}] ", style="dim")
    out.append(score, style="bold red" if bad or v.score is None else "bold green")
    if v.cited_steps:
        out.append("  steps " + ", ".join(str(s) for s in v.cited_steps), style="magenta")
    if v.error:
        out.append("\n" + clean(v.error), style="red")
    if v.reasoning:
        out.append("\n")
        out.append_text(literal(v.reasoning, cap=3_000))
    return out


DIVERGENCE_TAG = {"nondeterministic": ("≠nondet", "dim"), "environment": ("≠env", "yellow"),
                  "state": ("≠state", "cyan"), "other": ("≠other", "bold red")}


def step_label(step: Step, cited: bool, changed: bool, diverged: str | None = None) -> Text:
    """One line in the step list; `diverged` is the replay's divergence class at this step, if any."""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append("◆" if cited else " ", style="magenta")
    out.append("Δ" if changed else " ", style="bold red")
    out.append(f"{step.idx:>3} ", style="dim")
    out.append(f"{step.role[:4]:4} ", style=ROLE_STYLE.get(step.role, ""))
    text = step.command or step.content or step.reasoning or ""
    if not text and step.tool_calls:
        text = step.tool_calls[0].name
    out.append(" ".join(clean(text).split())[:34])
    if diverged:
        tag, style = DIVERGENCE_TAG.get(diverged, ("≠", "bold red"))
        out.append(f" {tag}", style=style)
    return out
