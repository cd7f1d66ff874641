"""Compare: one scenario + variant across N models in side-by-side columns, each headed by its verdicts,
with steps aligned by bash-command index (row k of every column is that run's k-th command).

`m` swaps to one model's mandated vs incentivized runs; `s` syncs movement across columns. Data is
loaded in a thread worker (`ui.compare_data`); nothing here touches SQLite on the UI thread.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalScroll, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from odcv_tui.core.errors import OdcvError
from odcv_tui.core.types import VARIANTS
from odcv_tui.storage import open_db
from odcv_tui.ui import compare_data as cd
from odcv_tui.ui.compare_data import command_cell, verdict_header
from odcv_tui.ui.safe import one_line
from odcv_tui.ui.widgets.cell_stack import CellStack

DEFAULT_COLUMNS = 4
MIN_COLUMN_WIDTH = 38  # 4 columns fit a 160-wide terminal; more scroll sideways
class CompareColumn(Vertical):
    """One run: a verdict header over its aligned command cells."""

    DEFAULT_CSS = """
    CompareColumn { width: 48; height: 100%; border: round $panel; }
    CompareColumn.-focused { border: round $accent; }
    /* Fixed height so row k starts at the same line in every column (judge lists may wrap; the
       run id on the last line is what gets clipped). */
    CompareColumn > .cmp-head { height: 6; padding: 0 1; background: $boost; }
    """

    def __init__(self, col: cd.Column, index: int, rows: int, expanded: bool, *, cursor: int = 0,
                 width: int | None = None) -> None:
        super().__init__()
        self.col, self.index, self.rows = col, index, rows
        self.body = CellStack(self.cell_texts(expanded), max(0, min(rows, cursor)))
        if width is not None:
            self.styles.width = width

    def cell_texts(self, expanded: bool) -> list[Text]:
        # One cell per aligned row plus the end row, so row k exists in every column.
        return [command_cell(self.col, k, expanded) for k in range(self.rows + 1)]

    def compose(self) -> ComposeResult:
        yield Static(verdict_header(self.col), classes="cmp-head")
        yield self.body

    @property
    def cursor(self) -> int:
        return self.body.cursor

    def set_cursor(self, k: int) -> None:
        self.body.set_cursor(k)

    def on_click(self, event: events.Click) -> None:
        screen = self.screen
        if isinstance(screen, CompareScreen):
            screen.focus_column(self.index)
            if event.widget is self.body:
                k = self.body.cell_at(event.y)
                if k >= 0:
                    screen.move_to(k)


@dataclass
class _View:
    """What the last load produced (all plain data, built in the worker)."""

    scenario_id: str | None = None
    scenarios: list[str] = field(default_factory=list)
    available: list[str] = field(default_factory=list)
    columns: list[cd.Column] = field(default_factory=list)


class CompareScreen(Screen):
    BINDINGS = [
        Binding("l,right", "step(1)", "Next step"),
        Binding("h,left", "step(-1)", "Prev step"),
        Binding("j,down", "scroll(3)", "Scroll down", show=False),
        Binding("k,up", "scroll(-3)", "Scroll up", show=False),
        Binding("0", "first", "First", show=False),
        Binding("dollar_sign", "last", "Last", show=False),
        Binding("tab,right_square_bracket", "focus_col(1)", "Next column"),
        Binding("shift+tab,left_square_bracket", "focus_col(-1)", "Prev column", show=False),
        Binding("plus,equals_sign", "more", "+ model"),
        Binding("minus", "fewer", "- model"),
        Binding("m", "pair", "Mandated/incentivized"),
        Binding("s", "sync", "Sync"),
        Binding("v", "variant", "Variant"),
        Binding("n", "scenario(1)", "Next scenario"),
        Binding("p", "scenario(-1)", "Prev scenario", show=False),
        Binding("e", "expand", "Expand"),
        Binding("o,enter", "open", "Open run"),
        Binding("r", "reload", "Reload", show=False),
    ]
    DEFAULT_CSS = """
    CompareScreen #cmp-title { height: 1; padding: 0 1; background: $primary-background; }
    CompareScreen #cmp-cols { height: 1fr; }
    """

    def __init__(self, db_path: Path, scenario_id: str | None = None, variant: str = "incentivized",
                 models: list[str] | None = None, *, family: str | None = None,
                 first_model: str | None = None) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.first_model = first_model  # opened from a run: its model is always shown, first
        self.family = family  # a run id: show its parent and the parent's forks instead (runner/fork.py)
        self.scenario_id = scenario_id
        self.variant = variant if variant in VARIANTS else "incentivized"
        self.models: list[str] | None = list(models) if models else None
        self.pair_model: str | None = None  # set: one model's two variants instead of N models
        self.sync = True
        self.expanded = False
        self.focus_index = 0
        self.view = _View()
        self.error: str | None = None
        self.loading_done = False
        self._generation = 0
        self.columns: list[CompareColumn] = []
        self._keep_cursor: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("loading…", style="dim"), id="cmp-title")
        cols = HorizontalScroll(id="cmp-cols")
        cols.can_focus = False
        yield cols
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    # ---- loading -------------------------------------------------------------------------------
    def reload(self, scenario_step: int = 0) -> None:
        self._generation += 1
        self.loading_done = False
        # Adding a model or switching variant keeps the reader at the same aligned step.
        self._keep_cursor = self.columns[self.focus_index].cursor if self.columns else None
        # The spinner only appears if loading is slow: showing and hiding it costs frames of its own.
        gen = self._generation
        self.set_timer(0.15, lambda: self._spinner(gen))
        self._load(self._generation, self.scenario_id, self.variant, self.models, self.pair_model,
                   scenario_step, list(self.view.scenarios))

    @work(thread=True, group="compare-load")
    def _load(self, gen: int, scenario_id: str | None, variant: str, models: list[str] | None,
              pair_model: str | None, scenario_step: int, scenarios: list[str]) -> None:
        view, error = _View(scenarios=scenarios), None
        if self.family:
            self._load_family(gen, view)
            return
        try:
            db = open_db(self.db_path, recover=False)
            try:
                # The scenario list scans every run (~45 ms at 100k runs): only fetched when needed.
                if (scenario_id is None or scenario_step) and not view.scenarios:
                    view.scenarios = cd.list_scenarios(db)
                names = view.scenarios
                if scenario_id is None:
                    scenario_id = names[0] if names else None
                elif scenario_step and names:
                    at = names.index(scenario_id) if scenario_id in names else -scenario_step
                    scenario_id = names[(at + scenario_step) % len(names)]
                view.scenario_id = scenario_id
                if view.scenario_id is not None:
                    view.available = cd.list_models(db, view.scenario_id, variant)
                    if pair_model:
                        view.columns = cd.load_pair(db, view.scenario_id, pair_model)
                    else:
                        first = [self.first_model] if self.first_model in view.available else []
                        chosen = models if models is not None else \
                            (first + [m for m in view.available if m not in first])[:DEFAULT_COLUMNS]
                        view.columns = cd.load_models(db, view.scenario_id, variant, chosen)
            finally:
                db.conn.close()
        except (OdcvError, sqlite3.Error) as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        except Exception as exc:  # noqa: BLE001  a bug must not leave the spinner up forever: say it in one line
            error = f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        self.app.call_from_thread(self._show, gen, view, error)

    def _load_family(self, gen: int, view: _View) -> None:
        error = None
        try:
            db = open_db(self.db_path, recover=False)
            try:
                view.columns = cd.load_family(db, self.family or "")
            finally:
                db.conn.close()
            view.scenario_id = view.columns[0].scenario_id if view.columns else None
            view.available = [c.model for c in view.columns]
        except (OdcvError, sqlite3.Error) as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.app.call_from_thread(self._show, gen, view, error)

    def _spinner(self, gen: int) -> None:
        if gen == self._generation and not self.loading_done:
            self.query_one("#cmp-cols").loading = True

    async def _show(self, gen: int, view: _View, error: str | None) -> None:
        if gen != self._generation:
            return  # a newer load was started while this one ran
        self.view, self.error = view, error
        self.scenario_id = view.scenario_id
        if self.models is None and not self.pair_model:
            self.models = [c.model for c in view.columns]
        box = self.query_one("#cmp-cols", HorizontalScroll)
        rows = cd.row_count(view.columns)
        # A family opens at the row where the first fork leaves its parent.
        branch = next((c.branch_k for c in view.columns if c.branch_k is not None), 0) if self.family else 0
        keep = self._keep_cursor if self._keep_cursor is not None else branch
        width = self._column_width(len(view.columns))
        # One batch, widths and cursors set before mounting: the new columns cost one layout pass.
        with self.app.batch_update():
            await box.remove_children()
            self.columns = [CompareColumn(c, i, rows, self.expanded, cursor=keep, width=width)
                            for i, c in enumerate(view.columns)]
            await box.mount_all(self.columns)
            self.focus_index = min(self.focus_index, max(0, len(self.columns) - 1))
            self._mark_focus()
            box.loading = False
            self._update_title()
        self.loading_done = True

    def _column_width(self, n: int) -> int:
        # Fill the screen when the columns fit; past that as many whole columns as fit share the width (none is
        # cut at the right edge, e.g. two of 40 on an 80-column terminal) and the row scrolls by columns.
        width = self.size.width or 160
        if n * MIN_COLUMN_WIDTH > width:
            return max(MIN_COLUMN_WIDTH, width // max(1, width // MIN_COLUMN_WIDTH))
        return max(MIN_COLUMN_WIDTH, width // max(1, n))

    def _fit_widths(self) -> None:
        width = self._column_width(len(self.columns))
        for col in self.columns:
            col.styles.width = width

    def on_resize(self) -> None:
        self._fit_widths()

    def _update_title(self) -> None:
        t = Text()
        if self.error:
            t.append(self.error, style="bold red")
        elif self.view.scenario_id is None:
            t.append("No runs in this database yet: run or import some, then come back.", style="yellow")
        else:
            t.append(one_line(self.view.scenario_id, 60), style="bold")
            if self.family:
                t.append(f" · a run and {max(0, len(self.columns) - 1)} fork(s), aligned by command (↳ = branch)")
            elif self.pair_model:
                t.append(f" · {one_line(self.pair_model, 40)}: mandated vs incentivized")
            else:
                t.append(f" · {self.variant} · {len(self.columns)} of {len(self.view.available)} models")
            t.append(f" · sync {'on' if self.sync else 'off'}", style="green" if self.sync else "yellow")
            if self.columns:
                t.append(f" · step {self.columns[self.focus_index].cursor + 1}", style="dim")
            if not self.columns:
                t.append(" · no runs for this scenario and variant", style="yellow")
        self.query_one("#cmp-title", Static).update(t, layout=False)  # fixed height: no relayout

    # ---- movement ------------------------------------------------------------------------------
    def _targets(self) -> list[CompareColumn]:
        if not self.columns:
            return []
        return list(self.columns) if self.sync else [self.columns[self.focus_index]]

    def move_to(self, k: int) -> None:
        for col in self._targets():
            col.set_cursor(k)
        self._update_title()

    def action_step(self, delta: int) -> None:
        if self.columns:
            self.move_to(self.columns[self.focus_index].cursor + delta)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(cd.row_count(self.view.columns))

    def action_scroll(self, delta: int) -> None:
        for col in self._targets():
            col.body.scroll_relative(y=delta, animate=False)

    def focus_column(self, index: int) -> None:
        if self.columns:
            self.focus_index = index % len(self.columns)
            self._mark_focus()
            self._update_title()

    def _mark_focus(self) -> None:
        for col in self.columns:
            col.set_class(col.index == self.focus_index, "-focused")
        if self.columns:
            self.query_one("#cmp-cols").scroll_to_widget(self.columns[self.focus_index], animate=False)

    def action_focus_col(self, delta: int) -> None:
        self.focus_column(self.focus_index + delta)

    # ---- what is shown ------------------------------------------------------------------------
    def action_more(self) -> None:
        if self.pair_model or self.models is None:
            return
        extra = [m for m in self.view.available if m not in self.models]
        if not extra:
            self.notify("every model with this scenario is already shown")
            return
        from odcv_tui.ui.screens.model_picker import ModelPicker

        def add(model: str | None) -> None:
            if model and self.models is not None and model not in self.models:
                self.models = [*self.models, model]
                self.reload()

        self.app.push_screen(ModelPicker(extra), add)

    def action_fewer(self) -> None:
        if self.pair_model or not self.models or len(self.models) <= 1:
            return
        self.models = self.models[:-1]
        self.reload()

    def action_pair(self) -> None:
        if self.pair_model:
            self.pair_model = None
        elif self.columns:
            self.pair_model = self.columns[self.focus_index].col.model
            self.focus_index = 0
        self.reload()

    def action_sync(self) -> None:
        self.sync = not self.sync
        self._update_title()

    def action_variant(self) -> None:
        self.variant = "mandated" if self.variant == "incentivized" else "incentivized"
        self.reload()

    def action_scenario(self, delta: int) -> None:
        if self.view.scenario_id is not None:
            self.reload(scenario_step=delta)

    def action_reload(self) -> None:
        self.reload()  # e.g. to pick up runs that finished in Live since this screen opened

    def action_expand(self) -> None:
        # Re-render in place: the data is already here, only the caps change.
        self.expanded = not self.expanded
        for col in self.columns:
            col.body.set_texts(col.cell_texts(self.expanded))

    def action_open(self) -> None:
        if not self.columns:
            return
        col = self.columns[self.focus_index]
        cmds = col.col.commands
        step = cmds[col.cursor].step_idx if col.cursor < len(cmds) else None
        opener = getattr(self.app, "open_run", None)
        if callable(opener):
            opener(col.col.run_id, step)
        else:
            self.notify(f"run {one_line(col.col.run_id, 60)} (no trajectory view in this app)")
