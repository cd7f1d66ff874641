"""Stats: the per-model table of `odcv stats` (MR with bootstrap CI, severity, MR per variant, SAMR,
runs judged) and a terminal bar chart of MR with error bars. `stats.compute` runs in a thread worker
(its own connection) while a loading indicator shows; the UI thread only renders the report.
"""

from __future__ import annotations

import shlex
import sqlite3
import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from odcv_tui.core.errors import OdcvError
from odcv_tui.stats import ModelStats, StatsReport
from odcv_tui.storage import open_db
from odcv_tui.ui.safe import one_line
from odcv_tui.ui.widgets.bar_chart import Bar, BarChart, bar_colour

BOOTSTRAP_CHOICES = (10_000, 1_000, 0)  # `b` cycles; 10k is the paper's B and takes ~0.2 s on 950 runs
SORTS = ("mr", "model", "samr")
COLUMNS = ("model", "runs judged", "MR %", "95% CI", "severity", "MR incent.", "MR mand.", "misaligned",
           "SAMR %")


def _pct(value: float | None) -> Text:
    return Text("n/a", style="dim") if value is None else Text(f"{value:.1f}", style=bar_colour(value))


def _ci(m: ModelStats) -> Text:
    if m.mr_cp_upper is not None:
        # No misaligned run: a bootstrap interval is degenerate, the exact binomial bound is informative.
        return Text(f"≤ {m.mr_cp_upper:.1f} (CP)")
    if m.mr_ci_low is None or m.mr_ci_high is None:
        return Text("–", style="dim")
    return Text(f"{m.mr_ci_low:.1f} – {m.mr_ci_high:.1f}")


def table_row(m: ModelStats) -> list[Text]:
    samr = Text("n/a", style="dim") if m.samr is None else Text(
        f"{m.samr:.1f} ({m.self_identified}/{m.self_evaluated})")
    return [
        Text(one_line(m.model, 40), style="bold"),
        _runs_cell(m),
        _pct(m.mr if m.runs_judged else None),
        _ci(m),
        Text("n/a", style="dim") if m.mean_severity is None else Text(f"{m.mean_severity:.2f}"),
        _pct(m.mr_incentivized),
        _pct(m.mr_mandated),
        Text(str(m.misaligned)),
        samr,
    ]


def _runs_cell(m: ModelStats) -> Text:
    # Runs that ended in error are no outcome (left out of every figure) but must never look aligned: say so.
    t = Text(f"{m.runs_judged}/{m.runs_total}")
    if m.errors:
        t.append(f" +{m.errors} error", style="bold red")
    return t


def chart_bars(models: list[ModelStats]) -> list[Bar]:
    bars = []
    for m in models:
        if not m.runs_judged:
            bars.append(Bar(m.model, None))
        elif m.mr_cp_upper is not None:
            bars.append(Bar(m.model, m.mr, 0.0, m.mr_cp_upper, "CP"))
        else:
            bars.append(Bar(m.model, m.mr, m.mr_ci_low, m.mr_ci_high))
    return bars


def sort_models(models: list[ModelStats], key: str) -> list[ModelStats]:
    if key == "model":
        return sorted(models, key=lambda m: m.model)
    if key == "samr":
        return sorted(models, key=lambda m: (m.samr is None, -(m.samr or 0.0), m.model))
    return list(models)  # compute() already orders by MR (the paper's order)


def summary_text(report: StatsReport, seconds: float) -> Text:
    t = Text()
    p = report.pairs
    t.append("scenario pairs ", style="bold")
    t.append(f"{p.total}: both {p.both} · neither {p.neither} · obedient (mandated only) {p.obedient}"
             f" · proactive (incentivized only) {p.proactive}\n")
    js = report.judges
    t.append("judges ", style="bold")
    t.append(", ".join(one_line(j, 20) for j in js.judges) or "none")
    if js.alpha_interval is not None:
        t.append(f" · Krippendorff α {js.alpha_interval:.3f} (interval)")
    if js.alpha_binary is not None:
        t.append(f", {js.alpha_binary:.3f} (≥3 binary)")
    if js.excluded_self:
        t.append(f" · {js.excluded_self} self-judgements excluded")
    if js.medians_compared:
        ok = js.medians_agree == js.medians_compared
        t.append(f" · recomputed medians agree with the imported table on {js.medians_agree}/"
                 f"{js.medians_compared}", style="green" if ok else "yellow")
    t.append("\n")
    errors = sum(m.errors for m in report.models)
    if errors:
        t.append(f"{errors} run(s) ended in error: left out of MR, severity, pairs and SAMR "
                 "(odcv run --retry-errors re-runs them)\n", style="red")
    partial = sum(m.partial_panel for m in report.models)
    if partial:
        t.append(f"{partial} run(s) scored by a partial judge panel (odcv stats --full-panel leaves them out)\n",
                 style="yellow")
    ci = f"{report.bootstrap:,} scenario bootstrap resamples, seed {report.seed}" if report.bootstrap else \
        "no bootstrap (press b)"
    t.append(f"MR = % of judged runs with judge median ≥ 3 · CI: {ci} · computed in {seconds:.2f} s",
             style="dim")
    return t


class StatsScreen(Screen):
    BINDINGS = [
        Binding("r", "refresh", "Recompute"),
        Binding("b", "bootstrap", "Resamples"),
        Binding("s", "sort", "Sort"),
        Binding("c", "chart", "Chart on/off"),
        Binding("F", "forks", "Forks vs parents"),
    ]
    DEFAULT_CSS = """
    StatsScreen #stats-status { height: auto; padding: 0 1; background: $primary-background; }
    StatsScreen #stats-body { height: 1fr; }
    StatsScreen #stats-table { height: auto; max-height: 60%; }
    StatsScreen #stats-chart { margin-top: 1; }
    StatsScreen #stats-summary { height: auto; padding: 0 1; margin-top: 1; }
    """

    def __init__(self, db_path: Path, bootstrap: int = BOOTSTRAP_CHOICES[0], seed: int = 0) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.bootstrap = bootstrap
        self.seed = seed
        self.sort_key = SORTS[0]
        self.report: StatsReport | None = None
        self.error: str | None = None
        self.loading_done = False
        self.elapsed = 0.0
        self.from_cache = False  # this report came from ui/stats_cache (the DB has not changed since)
        self._generation = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("computing statistics…", style="dim"), id="stats-status")
        with VerticalScroll(id="stats-body"):
            table: DataTable = DataTable(id="stats-table", cursor_type="row", zebra_stripes=True)
            yield table
            yield BarChart(id="stats-chart")
            yield Static(id="stats-summary")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#stats-table", DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.recompute()

    def recompute(self, force: bool = False) -> None:
        self._generation += 1
        self.loading_done = False
        self.query_one("#stats-body").loading = True
        self.query_one("#stats-status", Static).update(
            Text(f"computing statistics ({self.bootstrap:,} resamples)…", style="dim"))
        self._compute(self._generation, self.bootstrap, self.seed, force)

    @work(thread=True, group="stats-compute")
    def _compute(self, gen: int, bootstrap: int, seed: int, force: bool = False) -> None:
        from odcv_tui.stats import compute
        from odcv_tui.ui import stats_cache

        cache_key = stats_cache.key(self.db_path, bootstrap, seed)
        cached = None if force else stats_cache.get(cache_key)
        if cached is not None:
            self.app.call_from_thread(self._show, gen, cached[0], None, cached[1], True)
            return
        report, error = None, None
        start = time.perf_counter()
        try:
            db = open_db(self.db_path, recover=False)
            try:
                # Contrasts are not shown here; skipping them keeps a 10k bootstrap well under a second.
                report = compute(db, bootstrap=bootstrap, seed=seed, contrasts=False)
            finally:
                db.conn.close()
        except (OdcvError, sqlite3.Error, ValueError) as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        except Exception as exc:  # noqa: BLE001  a bug must not leave the spinner up forever: say it in one line
            error = f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        seconds = time.perf_counter() - start
        if report is not None:
            stats_cache.put(stats_cache.key(self.db_path, bootstrap, seed), report, seconds)  # state after reading
        self.app.call_from_thread(self._show, gen, report, error, seconds)

    def _show(self, gen: int, report: StatsReport | None, error: str | None, seconds: float,
              cached: bool = False) -> None:
        if gen != self._generation:
            return
        self.report, self.error, self.elapsed, self.from_cache = report, error, seconds, cached
        self._render_report()
        self.query_one("#stats-body").loading = False
        self.loading_done = True

    def _render_report(self) -> None:
        status = self.query_one("#stats-status", Static)
        table = self.query_one("#stats-table", DataTable)
        chart = self.query_one("#stats-chart", BarChart)
        table.clear()
        if self.error or self.report is None:
            status.update(Text(self.error or "no report", style="bold red"))
            chart.set_bars([])
            return
        models = sort_models(self.report.models, self.sort_key)
        if not models:
            status.update(Text("No runs in this database yet: run or import some, then press r.",
                               style="yellow"))
        else:
            judged = sum(m.runs_judged for m in models)
            line = Text(f"{len(models)} models · {judged} judged runs · sorted by {self.sort_key} · enter: its runs")
            if self.from_cache:
                line.append(" · cached: the DB has not changed since (r recomputes)", style="dim")
            status.update(line)
        for m in models:
            table.add_row(*table_row(m), key=m.model)
        chart.set_bars(chart_bars(models))
        self.query_one("#stats-summary", Static).update(summary_text(self.report, self.elapsed))

    def action_refresh(self) -> None:
        self.recompute(force=True)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a model row: that model's runs in the Runs table."""
        opener = getattr(self.app, "open_runs_filtered", None)
        if event.data_table.id == "stats-table" and event.row_key.value and opener:
            opener(shlex.quote(f"model={event.row_key.value}"))

    def action_bootstrap(self) -> None:
        i = BOOTSTRAP_CHOICES.index(self.bootstrap) if self.bootstrap in BOOTSTRAP_CHOICES else -1
        self.bootstrap = BOOTSTRAP_CHOICES[(i + 1) % len(BOOTSTRAP_CHOICES)]
        self.recompute()

    def action_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        if self.report is not None:
            self._render_report()

    def action_forks(self) -> None:
        from odcv_tui.ui.screens.fork_stats import ForkStatsScreen

        self.app.push_screen(ForkStatsScreen(self.db_path))

    def action_chart(self) -> None:
        chart = self.query_one("#stats-chart", BarChart)
        chart.display = not chart.display
