"""One run streaming in the Live screen (live or played back): a status header (status, elapsed time,
model calls, commands), a capped log of every reply/command/output as it arrives, and its verdicts.

Everything a model or a command produced goes through `ui.safe` and is written as rich Text into a
RichLog with markup off, so nothing can inject markup or escape sequences. Outputs are cut per
command and the log keeps a bounded number of lines, so MBs of output never pile up in the UI.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from odcv_tui.core.events import (
    CommandFinished,
    CommandStarted,
    Event,
    FilesChanged,
    ModelReplied,
    ModelRetrying,
    PromptAdded,
    RunFinished,
    RunPhase,
    RunStarted,
    VerdictAdded,
)
from odcv_tui.core.types import RunRecord, Verdict
from odcv_tui.ui.safe import literal, one_line

OUT_CAP_CHARS = 4_000  # per stdout/stderr/content block
OUT_CAP_LINES = 60
LOG_MAX_LINES = 2_000  # RichLog drops the oldest lines beyond this

STATUS_STYLE = {"queued": "dim", "running": "bold cyan", "completed": "bold green", "step_limit": "bold yellow",
                "error": "bold red", "interrupted": "bold magenta", "cancelling": "bold magenta",
                "cancelled": "magenta"}


def capped(text: str | None, style: str = "") -> Text:
    """Literal text cut to OUT_CAP_CHARS / OUT_CAP_LINES with a visible note of what is hidden.
    Slicing first keeps a 2 MB output from ever being cleaned or wrapped in full."""
    text = text or ""
    head = text[:OUT_CAP_CHARS]
    lines = head.split("\n")
    if len(lines) > OUT_CAP_LINES:
        head = "\n".join(lines[:OUT_CAP_LINES])
    out = literal(head, style=style, cap=None)
    hidden = len(text) - len(head)
    if hidden > 0:
        out.append(f"\n… {hidden:,} more characters not shown here (o opens the whole run)", style="yellow")
    return out


def _seconds(iso_a: str | None, iso_b: str | None) -> float | None:
    try:
        return (datetime.fromisoformat(str(iso_b)) - datetime.fromisoformat(str(iso_a))).total_seconds()
    except (TypeError, ValueError):
        return None


def fmt_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:d}:{seconds % 60:02d}"


def verdict_line(v: Verdict) -> Text:
    if v.kind == "integrity":
        if v.score is None:
            head = Text.assemble(("integrity ", "bold"), ("error", "bold red"))
        elif v.score > 0:
            head = Text.assemble(("integrity ", "bold"), (f"FLAGGED {v.score:g}", "bold red"))
        else:
            head = Text.assemble(("integrity ", "bold"), ("clean", "bold green"))
    else:
        score = "failed" if v.score is None else f"{v.score:g}"
        style = "bold red" if v.score is not None and v.score >= 3 else "bold"
        who = "" if v.judge == v.kind else one_line(v.judge, 30) + " "
        head = Text.assemble((f"{v.kind} ", "bold"), who, (score, style))
    reason = one_line(v.error or v.reasoning, 110)
    if reason:
        head.append("  ")
        head.append(reason, style="dim")
    return head


class RunPane(Vertical):
    """Feed it events with `handle(event)`; it buffers until mounted, so a fast run never loses its start."""

    can_focus = True

    DEFAULT_CSS = """
    RunPane { border: round $panel; height: 1fr; min-height: 12; padding: 0 1; }
    RunPane:focus-within { border: round $accent; }
    RunPane > .pane-head { height: 2; text-wrap: nowrap; text-overflow: ellipsis; }
    RunPane > RichLog { height: 1fr; background: $surface; scrollbar-size-vertical: 1; }
    RunPane > .pane-verdicts { height: auto; max-height: 8; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, run_id: str, *, model: str = "", scenario: str = "", variant: str = "",
                 playback: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_id = run_id
        self.model, self.scenario, self.variant = model, scenario, variant
        self.playback = playback
        self.status = "queued"
        self.model_calls = 0
        self.commands = 0
        self.verdicts: dict[tuple[str, str], Verdict] = {}
        self.seen: list[str] = []  # "kind:step" of every event handled, in order (tests and debugging)
        self.playback_note = ""
        self.phase = ""  # what the run is doing before/between steps (loading litellm, retrying the model)
        self.run: RunRecord | None = None
        self._t0: float | None = None
        self._t1: float | None = None
        self._recorded: float | None = None
        self._pending: list[Event] = []
        self._ready = False

    def compose(self) -> ComposeResult:
        yield Static(classes="pane-head")
        yield RichLog(max_lines=LOG_MAX_LINES, wrap=True, markup=False, highlight=False, auto_scroll=True)
        yield Static(classes="pane-verdicts")

    def on_mount(self) -> None:
        self._ready = True
        pending, self._pending = self._pending, []
        for ev in pending:
            self.handle(ev)
        self.refresh_head()
        self._render_verdicts()

    @property
    def log_widget(self) -> RichLog:
        return self.query_one(RichLog)

    def log_text(self) -> str:
        """What the log shows now, as plain text (rendered lines, so tests see what a user sees)."""
        log = self.log_widget
        return "\n".join(strip.text for strip in log.lines)

    @property
    def finished(self) -> bool:
        return self.status not in ("queued", "running", "cancelling")

    # events ---------------------------------------------------------------------------------------
    def handle(self, ev: Event) -> None:
        if not self._ready:
            self._pending.append(ev)
            return
        step = getattr(ev, "step_idx", None)
        self.seen.append(f"{ev.type}:{step if step is not None else ''}")
        log = self.log_widget
        if isinstance(ev, RunStarted):
            self._started(ev.run)
            log.write(Text.assemble(("▶ started ", "bold cyan"), one_line(ev.run.started, 40)))
        elif isinstance(ev, RunPhase):
            self.phase = ev.phase
            log.write(Text.assemble(("… ", "dim"), (one_line(ev.phase, 120), "italic")))
        elif isinstance(ev, PromptAdded):
            label = ev.note or ev.role
            log.write(Text(f"── step {ev.step_idx} · {one_line(label, 20)}", style="bold"))
            log.write(capped(ev.content, style="dim"))
        elif isinstance(ev, ModelRetrying):
            self.phase = f"model retry: attempt {ev.attempt}/{ev.attempts} in {ev.wait:g} s"
            log.write(Text.assemble(("⟳ ", "bold yellow"), (one_line(ev.error, 140), "yellow"),
                                    f"  attempt {ev.attempt}/{ev.attempts} in {ev.wait:g} s"))
        elif isinstance(ev, ModelReplied):
            self.phase = ""
            self.model_calls += 1
            log.write(Text(f"── step {ev.step_idx} · model reply {self.model_calls}", style="bold blue"))
            if ev.reply.reasoning:
                log.write(capped(ev.reply.reasoning, style="italic dim"))
            if ev.reply.content:
                log.write(capped(ev.reply.content))
            for call in ev.reply.tool_calls:
                if call.name != "bash":  # bash calls show as the command below, when it runs
                    args = call.parsed_args() or {}
                    detail = args.get("reason", call.arguments) if isinstance(args, dict) else call.arguments
                    log.write(Text.assemble((one_line(call.name, 40), "bold magenta"), ": ",
                                            capped(str(detail))))
        elif isinstance(ev, CommandStarted):
            log.write(Text.assemble(("$ ", "bold green"), capped(ev.command, style="bold")))
        elif isinstance(ev, CommandFinished):
            self.commands += 1
            if ev.stdout:
                log.write(capped(ev.stdout))
            if ev.stderr:
                log.write(capped(ev.stderr, style="red"))
            style = "green" if ev.exit_code == 0 else "bold red"
            log.write(Text(f"  exit {ev.exit_code} · {ev.duration:.2f}s", style=style))
        elif isinstance(ev, FilesChanged):
            for ch in ev.changes:
                line = Text.assemble(("  ✎ ", "yellow"), (ch.kind, "yellow"), " ", one_line(ch.path, 100))
                if ch.protected:
                    line.append("  PROTECTED", style="bold red")
                log.write(line)
        elif isinstance(ev, VerdictAdded):
            self.verdicts[(ev.verdict.kind, ev.verdict.judge)] = ev.verdict
            self._render_verdicts()
        elif isinstance(ev, RunFinished):
            self._finished(ev.run)
            msg = Text.assemble(("■ ", "bold"), (ev.run.status, STATUS_STYLE.get(ev.run.status, "bold")))
            if ev.run.error:
                msg.append("  ")
                msg.append(one_line(ev.run.error, 140), style="red")
            log.write(msg)
        self.refresh_head()

    def _started(self, run: RunRecord) -> None:
        self.run = run
        self.model, self.scenario, self.variant = run.model, run.scenario_id, run.variant
        self.status = "running"
        self._t0 = time.monotonic()

    def _finished(self, run: RunRecord) -> None:
        self.run = run
        self.status = run.status
        self._t1 = time.monotonic()
        self._recorded = _seconds(run.started, run.ended)

    def mark(self, status: str) -> None:
        """Statuses the runner does not emit: cancelling, cancelled (a queued run that never started)."""
        self.status = status
        if status == "cancelled":
            self._t1 = time.monotonic()
        self.refresh_head()

    # rendering ------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        if self._recorded is not None and not self.playback:
            return self._recorded
        if self._t0 is None:
            return 0.0
        return (self._t1 or time.monotonic()) - self._t0

    def refresh_head(self) -> None:
        if not self._ready:
            return
        head = Text.assemble(
            ("● ", STATUS_STYLE.get(self.status, "bold")), (self.status, STATUS_STYLE.get(self.status, "bold")),
            "  ", (one_line(self.model, 40), "bold"), "  ", one_line(self.scenario, 48), " / ",
            one_line(self.variant, 14), "  ",
            (f"⏱ {fmt_elapsed(self.elapsed())}", "cyan"),
            f"  model calls {self.model_calls} · commands {self.commands}",
        )
        if self.phase and not self.finished:
            head.append(f"  {one_line(self.phase, 60)}", style="yellow")
        if self.playback and self._recorded is not None:
            head.append(f"  (recorded {fmt_elapsed(self._recorded)})", style="dim")
        head.append("\n")
        if self.playback:
            head.append("playback ", style="bold magenta")
            head.append(self.playback_note + "  ", style="magenta")
        head.append(one_line(self.run_id, 100), style="dim")
        self.query_one(".pane-head", Static).update(head)

    def _render_verdicts(self) -> None:
        if not self._ready:
            return
        order = {"integrity": 0, "median": 1, "llm": 2, "imported": 3, "self": 4}
        items = sorted(self.verdicts.values(), key=lambda v: (order.get(v.kind, 9), v.judge))
        text = Text(no_wrap=True, overflow="ellipsis")  # one line per verdict, however long the reasoning
        for i, v in enumerate(items[:7]):
            if i:
                text.append("\n")
            text.append_text(verdict_line(v))
        if len(items) > 7:
            text.append(f"\n… {len(items) - 7} more verdicts (o opens the run)", style="dim")
        box = self.query_one(".pane-verdicts", Static)
        box.update(text)
        box.display = bool(items)
        # The verdict box takes rows from the log: keep the log's last lines (the run's end) in view.
        self.call_after_refresh(self.log_widget.scroll_end, animate=False)
