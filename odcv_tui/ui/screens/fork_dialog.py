"""The `f` dialog of the Trajectory screen: which model continues the run from the current step, and
optionally one prompt (system, user, or the current step's text) edited in a TextArea."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, TextArea

from odcv_tui.core.errors import OdcvError
from odcv_tui.core.types import RunRecord
from odcv_tui.llm.oracle import ORACLE_MODELS
from odcv_tui.runner.fork_plan import ForkSpec
from odcv_tui.storage import open_db
from odcv_tui.ui.data import RunBundle
from odcv_tui.ui.safe import clean

Target = Literal["none", "system", "user", "step"]


@dataclass
class ForkChoice:
    model: str
    target: Target = "none"
    text: str | None = None  # the edited text of `target`


class ForkDialog(ModalScreen[ForkChoice | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("ctrl+s", "submit", "fork")]
    DEFAULT_CSS = """
    ForkDialog { align: center middle; }
    ForkDialog > Vertical { width: 90%; max-width: 120; height: 90%; border: thick $primary; background: $surface;
                            padding: 0 1; }
    ForkDialog #fork-title { text-style: bold; height: auto; }
    ForkDialog Horizontal { height: auto; }
    ForkDialog #fork-model, ForkDialog #fork-target { width: 1fr; }
    ForkDialog #fork-model-text { width: 1fr; }
    ForkDialog #fork-text { height: 1fr; }
    ForkDialog #fork-buttons { height: auto; align-horizontal: right; }
    """

    def __init__(self, run_id: str, step: int, models: list[str], texts: dict[str, str]) -> None:
        super().__init__()
        self.run_id, self.step, self.models = run_id, step, models
        self.texts = texts  # "system" / "user" / "step" -> current text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Fork {clean(self.run_id)} at step {self.step}: the parent's steps 1..{self.step} "
                             "are replayed, then the model below continues."), id="fork-title")
            with Horizontal():
                yield Select([(clean(m), m) for m in self.models], value=self.models[0], allow_blank=False,
                             id="fork-model")
                yield Input(placeholder="or type any model (litellm name)", id="fork-model-text")
            yield Select([("no prompt edit", "none"), ("edit the system prompt", "system"),
                          ("edit the user prompt", "user"), (f"edit step {self.step}'s text", "step")],
                         value="none", allow_blank=False, id="fork-target")
            yield TextArea("", id="fork-text", disabled=True)
            with Horizontal(id="fork-buttons"):
                yield Button("Fork (ctrl+s)", variant="primary", id="fork-go")
                yield Button("Cancel (esc)", id="fork-cancel")

    @on(Select.Changed, "#fork-target")
    def _target(self, event: Select.Changed) -> None:
        area = self.query_one("#fork-text", TextArea)
        target = str(event.value)
        area.disabled = target == "none"
        area.load_text(self.texts.get(target, "") if target != "none" else "")

    def choice(self) -> ForkChoice:
        typed = self.query_one("#fork-model-text", Input).value.strip()
        model = typed or str(self.query_one("#fork-model", Select).value)
        target: Target = str(self.query_one("#fork-target", Select).value)  # type: ignore[assignment]
        text = self.query_one("#fork-text", TextArea).text if target != "none" else None
        if target != "none" and text == self.texts.get(target, ""):
            target, text = "none", None  # unchanged text is not an edit
        return ForkChoice(model=model, target=target, text=text)

    @on(Button.Pressed, "#fork-go")
    def action_submit(self) -> None:
        self.dismiss(self.choice())

    @on(Button.Pressed, "#fork-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def known_models(db_path: Path) -> list[str]:
    """Oracle agents first, then every model runs.db has seen (most used first)."""
    db = open_db(db_path)
    try:
        seen = [r[0] for r in db.execute("SELECT model FROM runs GROUP BY model ORDER BY count(*) DESC, model")]
    finally:
        db.conn.close()
    return list(ORACLE_MODELS) + [m for m in seen if m not in ORACLE_MODELS]


def fork_texts(bundle: RunBundle, step_idx: int) -> dict[str, str]:
    by_idx = {s.idx: s for s in bundle.steps}
    out = {"system": (by_idx[1].content or "") if 1 in by_idx else "",
           "user": (by_idx[2].content or "") if 2 in by_idx else ""}
    if step_idx > 2 and step_idx in by_idx:
        out["step"] = by_idx[step_idx].content or ""
    return out


def spec_for(run_id: str, step: int, choice: ForkChoice) -> ForkSpec:
    spec = ForkSpec(parent_id=run_id, at=step, model=choice.model)
    if choice.target == "system":
        spec.system_prompt = choice.text
    elif choice.target == "user":
        spec.user_prompt = choice.text
    elif choice.target == "step" and choice.text is not None:
        spec.step_edits = {step: choice.text}
    return spec


def launch_fork(app: App, db_path: Path, spec: ForkSpec) -> None:
    """Build the fork's run requests off the UI thread (scenario lookup, validation), then hand them to the
    Live screen, where the fork streams like any run. Bad input is a notification, never a crash."""

    def build() -> None:
        from odcv_tui.runner.fork import fork_requests  # the run stack, only when a fork starts

        try:
            requests = fork_requests(db_path, spec)
        except OdcvError as exc:
            app.call_from_thread(app.notify, clean(str(exc)), severity="error", timeout=12)
            return
        app.call_from_thread(_start, requests)

    def _start(requests: list) -> None:  # type: ignore[type-arg]
        app.open_live()  # type: ignore[attr-defined]
        live = getattr(app, "live_screen", None)
        if live is None or not hasattr(live, "start_requests"):
            app.notify("the Live screen is not available: use `odcv fork` in a shell", severity="error")
            return
        live.call_after_refresh(live.start_requests, requests)  # a Live screen opened just now is not composed yet

    app.run_worker(build, thread=True, group="fork", name="fork")


def mark_branch(label: Text, run: RunRecord, idx: int) -> Text:
    """In a fork's step list: the steps inherited from the parent dimmed, the branch marked with ↳."""
    if not run.parent_run_id or run.fork_step is None:
        return label
    if idx <= run.fork_step:
        return Text.assemble(" ", label, style="dim")
    return Text.assemble(("↳", "bold yellow"), label)


def fork_header(run: RunRecord) -> Text:
    if not run.parent_run_id:
        return Text("")
    return Text(f"  ↳ fork of {clean(run.parent_run_id)} at step {run.fork_step}", style="bold yellow")
