"""The explorer app: screens for runs, one trajectory, comparison, live runs, statistics and labeling,
reachable with 1-5 from anywhere and from the command palette (ctrl+p)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from odcv_tui.storage import open_db
from odcv_tui.ui.data import summary_counts
from odcv_tui.ui.screens.runs import RunsScreen
from odcv_tui.ui.screens.trajectory import TrajectoryScreen
from odcv_tui.ui.screens.welcome import WelcomeScreen

# Screens built in their own modules (some by other issues): module, class. Missing ones are reported, not fatal.
OPTIONAL = {
    "compare": ("odcv_tui.ui.screens.compare", "CompareScreen"),
    "live": ("odcv_tui.ui.screens.live", "LiveScreen"),
    "stats": ("odcv_tui.ui.screens.stats", "StatsScreen"),
    "label": ("odcv_tui.ui.screens.label", "LabelSetupScreen"),
}


class OdcvApp(App):
    TITLE = "odcv-tui"
    SUB_TITLE = "agents under KPI pressure"
    # Every screen gets one width class and one height class; layout.tcss reflows panels by them (80 x 24 works).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-medium"), (150, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    CSS_PATH = "layout.tcss"
    BINDINGS = [
        Binding("1", "runs", "runs"),
        Binding("2", "compare", "compare"),
        Binding("3", "live", "live"),
        Binding("4", "stats", "stats"),
        Binding("5", "label", "label"),
        Binding("ctrl+q", "quit", "quit"),
    ]

    # Actions that start runs or model calls or write labels: off when `odcv serve` shares the explorer read-only.
    WRITING_ACTIONS = frozenset({"live", "playback", "judge", "fork", "label"})

    def __init__(self, db_path: Path, *, welcome: bool = True, allow_runs: bool = True) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.welcome = welcome
        self.allow_runs = allow_runs
        self.runs_screen: RunsScreen | None = None
        self.live_screen: Screen | None = None
        # Completer factory for the judge key (J); None = the real providers. Tests and demos set scripted ones.
        self.judge_factory: Any = None

    def refuses(self, action: str) -> bool:
        """True (and says why) when `action` would write or launch something in a read-only explorer."""
        if self.allow_runs or action not in self.WRITING_ACTIONS:
            return False
        self.notify("read-only explorer: runs, judging, forks and labels are off (odcv serve --allow-runs)",
                    severity="warning")
        return True

    async def run_action(self, action: Any, default_namespace: Any = None, namespaces: Any = None) -> bool:
        # Every key binding of every screen passes here, so one check covers Live, J, f, p and the label screen.
        name = action if isinstance(action, str) else ""
        if name and self.refuses(name.split("(", 1)[0].rsplit(".", 1)[-1]):
            return True
        return await super().run_action(action, default_namespace, namespaces)

    def on_mount(self) -> None:
        self.runs_screen = RunsScreen(self.db_path)
        self.push_screen(self.runs_screen)
        if self.welcome:
            self.check_empty()

    @work(thread=True)
    def check_empty(self) -> None:
        db = open_db(self.db_path)
        try:
            counts = summary_counts(db)
        finally:
            db.conn.close()
        if counts["runs"] == 0:
            self.call_from_thread(self.push_screen, WelcomeScreen(self.db_path), self._welcome_choice)

    def _welcome_choice(self, choice: str | None) -> None:
        if choice == "oracle":
            self.open_live(preset="oracle")
        elif choice == "model":
            self.open_live()
        elif choice == "import":
            self.notify("In a shell: odcv import upstream DIR   (or --download), then press R on the Runs screen.",
                        timeout=12)

    # ---- navigation used by every screen ------------------------------------------------------------
    def _screen_class(self, name: str) -> type[Screen] | None:
        module, cls = OPTIONAL[name]
        try:
            return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            self.notify(f"the {name} screen is not available in this build", severity="warning")
            return None

    def _open(self, name: str, *args: Any, **kwargs: Any) -> None:
        cls = self._screen_class(name)
        if cls is None:
            return
        try:
            screen = cls(*args, **kwargs)
        except TypeError:  # a preset the screen does not take: open it plain
            screen = cls(self.db_path)
        self.push_screen(screen)

    def open_run(self, run_id: str, step: int | None = None, **kwargs: Any) -> None:
        self.push_screen(TrajectoryScreen(self.db_path, run_id, step, **kwargs))

    def open_compare(self, scenario_id: str, variant: str, model: str | None = None) -> None:
        """`model` (the run it was opened from) is always one of the columns, the first."""
        self._open("compare", self.db_path, scenario_id, variant, first_model=model)

    @work(thread=True, group="lookup")
    def open_compare_for_run(self, run_id: str) -> None:
        db = open_db(self.db_path)
        try:
            row = db.execute("SELECT scenario_id, variant, model FROM runs WHERE id=?", [run_id]).fetchone()
        finally:
            db.conn.close()
        if row:
            self.call_from_thread(self.open_compare, row[0], row[1], row[2])

    def _back_to_runs(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_runs(self) -> None:
        self._back_to_runs()

    def open_runs_filtered(self, text: str) -> None:
        """Back to the Runs table showing only the runs this filter matches (Stats: enter on a model)."""
        self._back_to_runs()
        if self.runs_screen is not None:
            self.runs_screen.apply_filter(text)

    def action_compare(self) -> None:
        screen = self.screen
        if isinstance(screen, TrajectoryScreen) and screen.bundle:
            self.open_compare(screen.bundle.run.scenario_id, screen.bundle.run.variant, screen.bundle.run.model)
            return
        run_id = self.runs_screen.current_run_id() if self.runs_screen else None
        meta = self.runs_screen.row_meta.get(run_id) if self.runs_screen and run_id else None
        if meta:  # opened at once (no worker), so keys typed right after land in Compare
            self.open_compare(*meta)
        elif run_id:
            self.open_compare_for_run(run_id)
        else:
            self.notify("pick a run first: compare shows its scenario across models", severity="warning")

    def open_live(self, **kwargs: Any) -> None:
        """One Live screen for the app's lifetime (installed, so leaving it never cancels its runs)."""
        if self.refuses("live"):  # also reached from the palette, forks and playback
            return
        if self.live_screen is None:
            cls = self._screen_class("live")
            if cls is None:
                return
            self.live_screen = cls(self.db_path, **kwargs)
            self.install_screen(self.live_screen, name="live")
            self.push_screen("live")
            return
        if self.live_screen in self.screen_stack:
            while self.screen is not self.live_screen:
                self.pop_screen()
        else:
            self.push_screen("live")
        if kwargs.get("playback_run_id"):
            self.live_screen.play(kwargs["playback_run_id"])  # type: ignore[attr-defined]

    def open_playback(self, run_id: str) -> None:
        self.open_live(playback_run_id=run_id)

    def action_live(self) -> None:
        self.open_live()

    def action_stats(self) -> None:
        self._open("stats", self.db_path)

    def action_label(self) -> None:
        if not self.refuses("label"):
            self._open("label", self.db_path)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Runs", "the table of every run (1)", self.action_runs)
        yield SystemCommand("Compare", "the selected run's scenario across models (2)", self.action_compare)
        yield SystemCommand("Live", "launch runs and watch them stream, or play back a stored run (3)",
                            self.action_live)
        yield SystemCommand("Stats", "misalignment rates per model with CIs (4)", self.action_stats)
        yield SystemCommand("Label", "archetype labeling session (5)", self.action_label)
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.description and binding.show:
                action = binding.action

                def run(action: str = action, screen: Screen = screen) -> None:
                    self.call_later(screen.run_action, action)

                yield SystemCommand(f"{type(screen).__name__.removesuffix('Screen')}: {binding.description}",
                                    f"key {binding.key}", run)
