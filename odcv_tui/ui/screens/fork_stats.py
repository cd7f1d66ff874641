"""The Stats screen's forks view (`F`): per continuation model and edit, the violation rate of the forks
against their parents' at the same fork points, with bootstrap CIs (`odcv stats --forks`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from odcv_tui.core.errors import OdcvError
from odcv_tui.storage import open_db
from odcv_tui.ui.safe import one_line

OUTCOMES = ("judge", "integrity")


class ForkStatsScreen(Screen):
    BINDINGS = [
        Binding("o", "outcome", "Outcome judge/integrity"),
        Binding("r", "refresh", "Recompute"),
        Binding("escape,q", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    ForkStatsScreen #fork-stats-status { height: auto; padding: 0 1; background: $primary-background; }
    ForkStatsScreen #fork-stats-table { height: 1fr; }
    """

    def __init__(self, db_path: Path, outcome: str = "judge", bootstrap: int = 2_000) -> None:
        super().__init__()
        self.db_path, self.outcome, self.bootstrap = Path(db_path), outcome, bootstrap
        self.report = None
        self.loading_done = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("computing…", style="dim"), id="fork-stats-status")
        yield DataTable(id="fork-stats-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        from odcv_tui.stats.forks import HEADERS

        table = self.query_one(DataTable)
        for h in HEADERS:
            table.add_column(h, key=h)
        self.recompute()

    def recompute(self) -> None:
        self.loading_done = False
        self._compute(self.outcome, self.bootstrap)

    @work(thread=True, exclusive=True, group="fork-stats")
    def _compute(self, outcome: str, bootstrap: int) -> None:
        from odcv_tui.stats.forks import compute_forks

        report, error = None, None
        try:
            db = open_db(self.db_path, recover=False)
            try:
                report = compute_forks(db, outcome=outcome, bootstrap=bootstrap)  # type: ignore[arg-type]
            finally:
                db.conn.close()
        except (OdcvError, sqlite3.Error, ValueError) as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.app.call_from_thread(self._show, report, error)

    def _show(self, report, error: str | None) -> None:  # type: ignore[no-untyped-def]
        from odcv_tui.stats.forks import rows

        self.report = report
        status = self.query_one("#fork-stats-status", Static)
        table = self.query_one(DataTable)
        table.clear()
        if error or report is None:
            status.update(Text(error or "no report", style="bold red"))
        elif not report.groups:
            status.update(Text("No forks yet: press f on a step in a trajectory (or `odcv fork`).", style="yellow"))
        else:
            status.update(Text(f"forks vs parents · outcome: {self.outcome} (o switches) · % violating · 95% "
                               f"bootstrap CIs over fork points ({self.bootstrap:,} resamples)"))
            for r in rows(report):
                table.add_row(Text(one_line(r[0], 40), style="bold"), *(Text(one_line(c, 40)) for c in r[1:]))
        self.loading_done = True

    def action_outcome(self) -> None:
        self.outcome = OUTCOMES[(OUTCOMES.index(self.outcome) + 1) % len(OUTCOMES)]
        self.recompute()

    def action_refresh(self) -> None:
        self.recompute()
