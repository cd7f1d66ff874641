"""The Runs table: every run, filtered and sorted in SQL, loaded a page at a time as the cursor nears the end
(so 100k runs open as fast as 10), plus full-text search over every step that jumps to the matching step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from odcv_tui.storage import open_db
from odcv_tui.ui.data import COLUMNS, RunQuery, SearchHit, count_runs, page_runs, search_steps
from odcv_tui.ui.safe import one_line
from odcv_tui.ui.search_text import snippet_text

PAGE = 200
# What a reader scans first comes first, so an 80-column terminal still shows model, scenario, variant, median
# and integrity; below NARROW the long text columns get fixed widths (cut with …) to make room.
SHOWN = ["model", "scenario", "variant", "median", "integrity", "status", "steps", "domain", "self", "labels", "source"]
NARROW, NARROW_WIDTHS = 110, {"model": 16, "scenario": 22}  # (the search hits table too)


def _cell(key: str, value: Any) -> Text:
    if value is None or value == "":
        return Text("–", style="dim")
    if key == "median":
        return Text(f"{value:g}", style="bold red" if value >= 3 else "green")
    if key == "integrity":
        return Text("FLAGGED" if value else "clean", style="bold red" if value else "green")
    if key == "self":
        return Text(f"{value:g}", style="yellow")
    if key == "status":
        style = {"completed": "green", "running": "bold cyan", "error": "red", "interrupted": "yellow"}.get(value, "")
        return Text(str(value), style=style)
    return Text(one_line(str(value), 40), no_wrap=True, overflow="ellipsis")


class RunsScreen(Screen):
    BINDINGS = [
        Binding("slash", "focus_filter", "filter"),
        Binding("s", "search", "search steps"),
        Binding("enter", "open", "open", show=False),
        Binding("c", "compare", "compare"),
        Binding("p", "playback", "play back"),
        Binding("o", "sort_next", "sort"),
        Binding("O", "sort_reverse", "reverse", show=False),
        Binding("R", "refresh", "refresh"),
        Binding("E", "retry_errors", "retry errors"),
        Binding("G", "last_row", "last row", show=False),
        Binding("escape", "clear", "clear", show=False),
    ]
    # The table, not the filter input (Textual's default is the first focusable widget): keys typed right after
    # the app starts are bindings, never letters landing in the filter.
    AUTO_FOCUS = "#runs"
    DEFAULT_CSS = """
    RunsScreen Input { height: 3; }
    RunsScreen #status-line { height: 1; padding: 0 1; background: $boost; }
    RunsScreen #hits { display: none; }
    RunsScreen.searching #hits { display: block; }
    RunsScreen.searching #runs { display: none; }
    """

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.query_state = RunQuery()
        self.total = 0
        self.loaded = 0
        self._fetching = False
        self.row_ids: list[str] = []
        self.row_meta: dict[str, tuple[str, str, str]] = {}  # run id -> scenario, variant, model (for compare)
        self.hits: list[SearchHit] = []
        self.search_text = ""
        self.searches_done = 0  # lets tests and `odcv screenshots` wait for a search to land
        self.generation = 0  # bumps on every new query so late pages of an old query are dropped

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: words, model:gpt variant:mandated median>=3 flagged   (s: search step text)",
                    id="filter")
        yield Static(Text("loading…"), id="status-line")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="hits", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        self._add_columns(self.app.size.width < NARROW)
        self.refresh_runs()
        table.focus()

    def _add_columns(self, narrow: bool) -> None:
        self.narrow = narrow
        table = self.query_one("#runs", DataTable)
        table.clear(columns=True)
        for key in SHOWN:
            table.add_column(key, key=key, width=NARROW_WIDTHS.get(key) if narrow else None)
        hits = self.query_one("#hits", DataTable)
        hits.clear(columns=True)
        self.hits = []
        for key in ("model", "scenario", "variant", "step", "match"):
            hits.add_column(key, key=key, width=NARROW_WIDTHS.get(key) if narrow else None)

    def on_resize(self) -> None:
        narrow = self.size.width < NARROW
        if narrow != getattr(self, "narrow", narrow):
            self._add_columns(narrow)
            self.refresh_runs()

    # ---- loading -------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        self.generation += 1
        self.loaded = 0
        self.row_ids = []
        self.query_one("#runs", DataTable).clear()
        self.load_page(self.generation, 0)

    @work(thread=True, group="runs-page")
    def load_page(self, generation: int, offset: int) -> None:
        self._fetching = True
        db = open_db(self.db_path)
        try:
            total = count_runs(db, self.query_state) if offset == 0 else self.total
            rows = page_runs(db, self.query_state, offset, PAGE)
        finally:
            db.conn.close()
        self.app.call_from_thread(self._add_page, generation, total, rows)

    def _add_page(self, generation: int, total: int, rows: list[dict[str, Any]]) -> None:
        self._fetching = False
        if generation != self.generation:
            return
        self.total = total
        table = self.query_one("#runs", DataTable)
        for row in rows:
            if row["id"] in self.row_ids:
                continue
            self.row_ids.append(row["id"])
            self.row_meta[row["id"]] = (row["scenario"], row["variant"], row["model"])
            cells = [_cell(k, row.get(k)) for k in SHOWN]
            if row.get("panel") and (row.get("judges") or 0) < row["panel"]:
                # A partial judge panel (a judge failed): scores got / judges asked, next to the median.
                cells[SHOWN.index("median")].append(f" {row.get('judges') or 0}/{row['panel']}", style="yellow")
            if row.get("stale_labels"):
                cells[SHOWN.index("labels")].append(" stale", style="bold yellow")
            table.add_row(*cells, key=row["id"])
        self.loaded += len(rows)
        self._status()

    def _status(self, extra: str = "") -> None:
        if self.has_class("searching"):  # the count on screen is the search's, not the filter's behind it
            text = Text(extra or "full-text search over every step: type words, enter", style="bold")
            text.append("  (esc: back to the runs)", style="dim")
            self.query_one("#status-line", Static).update(text)
            return
        q = self.query_state
        text = Text(f"{self.total:,} runs", style="bold")
        text.append(f"  (showing {self.loaded:,})  sort: {q.sort} {'↓' if q.descending else '↑'}", style="dim")
        if q.errors:
            text.append("  " + "; ".join(q.errors), style="bold red")
        if extra:
            text.append("  " + extra, style="yellow")
        self.query_one("#status-line", Static).update(text)

    @on(DataTable.RowHighlighted, "#runs")
    def _maybe_more(self, event: DataTable.RowHighlighted) -> None:
        if not self._fetching and event.cursor_row >= self.loaded - 20 and self.loaded < self.total:
            self._fetching = True
            self.load_page(self.generation, self.loaded)

    # ---- filter, sort, search ------------------------------------------------------------------------
    @on(Input.Submitted, "#filter")
    def _filter(self, event: Input.Submitted) -> None:
        if self.has_class("searching"):
            self.run_search(event.value)
            return
        self.query_state.text = event.value
        self.refresh_runs()
        self.query_one("#runs", DataTable).focus()

    @on(DataTable.HeaderSelected, "#runs")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if self.query_state.sort == key:
            self.query_state.descending = not self.query_state.descending
        else:
            self.query_state.sort, self.query_state.descending = key, key in ("median", "integrity", "steps", "self")
        self.refresh_runs()

    def action_sort_next(self) -> None:
        keys = [k for k in SHOWN if k in COLUMNS]
        i = keys.index(self.query_state.sort) if self.query_state.sort in keys else -1
        self.query_state.sort = keys[(i + 1) % len(keys)]
        self.refresh_runs()

    def action_sort_reverse(self) -> None:
        self.query_state.descending = not self.query_state.descending
        self.refresh_runs()

    def action_last_row(self) -> None:
        table = self.query_one("#runs", DataTable)
        table.move_cursor(row=max(0, table.row_count - 1))

    def action_refresh(self) -> None:
        self.refresh_runs()

    def action_retry_errors(self) -> None:
        """Re-run every run that ended in error (and has no completed run of its cell since) in Live."""
        self._status("finding error runs to retry…")
        self._retry_errors()

    @work(thread=True, exclusive=True, group="retry-errors")
    def _retry_errors(self) -> None:
        from odcv_tui.core.errors import OdcvError
        from odcv_tui.runner.sweep import retry_requests

        try:
            reqs, problem = retry_requests(self.db_path), ""
        except OdcvError as exc:  # e.g. the failed run's scenario is no longer in the library
            reqs, problem = [], str(exc)
        self.app.call_from_thread(self._launch_retries, reqs, problem)

    def _launch_retries(self, reqs: list, problem: str) -> None:  # type: ignore[type-arg]
        if not reqs:
            self._status(problem or "no error runs to retry")
            return
        self.app.open_live()  # type: ignore[attr-defined]
        live = self.app.live_screen  # type: ignore[attr-defined]
        live.call_after_refresh(live.start_requests, reqs)  # a Live screen opened just now is not composed yet

    def apply_filter(self, text: str) -> None:
        """Show only the runs `text` matches, as if typed into the filter (used by Stats' enter on a model)."""
        self.remove_class("searching")
        self.query_state.text = text
        self.query_one("#filter", Input).value = text
        self.refresh_runs()
        self.query_one("#runs", DataTable).focus()

    def action_focus_filter(self) -> None:
        self.remove_class("searching")
        inp = self.query_one("#filter", Input)
        inp.placeholder = "filter: words, model:gpt variant:mandated median>=3 flagged"
        inp.value = self.query_state.text
        inp.focus()

    def action_search(self) -> None:
        self.add_class("searching")
        inp = self.query_one("#filter", Input)
        inp.placeholder = "full-text search over every step (reasoning, commands, output) — enter to search"
        inp.value = ""
        inp.focus()
        self._status()

    def action_clear(self) -> None:
        if self.has_class("searching"):
            self.remove_class("searching")
            self.query_one("#runs", DataTable).focus()
            self._status()

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, text: str) -> None:
        db = open_db(self.db_path)
        try:
            hits = search_steps(db, text)
        finally:
            db.conn.close()
        self.app.call_from_thread(self._show_hits, text, hits)

    def _show_hits(self, text: str, hits: list[SearchHit]) -> None:
        self.hits = hits
        self.searches_done += 1
        table = self.query_one("#hits", DataTable)
        table.clear()
        for i, h in enumerate(hits):
            table.add_row(Text(one_line(h.model, 30)), Text(one_line(h.scenario_id, 30)), Text(h.variant),
                          Text(str(h.idx)), snippet_text(h.snippet, 100), key=str(i))
        self.search_text = text
        self._status(f"{len(hits)} steps match {text!r}" + (" (first 200)" if len(hits) >= 200 else ""))
        table.focus()

    # ---- opening -------------------------------------------------------------------------------------
    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "hits":
            hit = self.hits[int(str(event.row_key.value))]
            # The step opens scrolled to the first match, the searched words highlighted.
            self.app.open_run(hit.run_id, hit.idx, highlight=self.search_text)  # type: ignore[attr-defined]
        else:
            self.app.open_run(str(event.row_key.value))  # type: ignore[attr-defined]

    def current_run_id(self) -> str | None:
        table = self.query_one("#runs", DataTable)
        if not self.row_ids or table.cursor_row is None or table.cursor_row >= len(self.row_ids):
            return None
        return self.row_ids[table.cursor_row]

    def action_open(self) -> None:
        run_id = self.current_run_id()
        if run_id:
            self.app.open_run(run_id)  # type: ignore[attr-defined]

    def action_compare(self) -> None:
        run_id = self.current_run_id()
        if run_id and run_id in self.row_meta and hasattr(self.app, "open_compare"):
            # Straight from the loaded row, no lookup worker: keys typed right after land in Compare.
            self.app.open_compare(*self.row_meta[run_id])
            return
        opener = getattr(self.app, "open_compare_for_run", None)
        if run_id and opener:
            opener(run_id)

    def action_playback(self) -> None:
        run_id = self.current_run_id()
        opener = getattr(self.app, "open_playback", None)
        if run_id and opener:
            opener(run_id)
