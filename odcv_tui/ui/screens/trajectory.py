"""Step through one run: the step list, the current step in full (with its diffs), and the verdicts panel
whose cited steps are marked in the list and reachable with n/N."""

from __future__ import annotations

from pathlib import Path

from rich.console import RenderableType
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from odcv_tui.storage import open_db
from odcv_tui.ui.data import RunBundle, load_bundle
from odcv_tui.ui.safe import clean
from odcv_tui.ui.screens import fork_dialog as fd
from odcv_tui.ui.search_text import words_pattern
from odcv_tui.ui.widgets.lazy_view import LazyView
from odcv_tui.ui.widgets.step_view import any_match, render_step, step_label, verdict_text
from odcv_tui.ui.widgets.step_view import highlight as mark_matches


class TrajectoryScreen(Screen):
    BINDINGS = [
        Binding("l,right", "step(1)", "next step"),
        Binding("h,left", "step(-1)", "prev step"),
        Binding("0,home", "first", "first"),
        Binding("dollar_sign,end", "last", "last"),
        Binding("j", "scroll(1)", "scroll down", show=False),
        Binding("k", "scroll(-1)", "scroll up", show=False),
        Binding("n", "cited(1)", "next cited"),
        Binding("N", "cited(-1)", "prev cited", show=False),
        Binding("d", "changed", "next diff"),
        Binding("e", "expand", "expand output"),
        Binding("v", "toggle_verdicts", "verdicts"),
        Binding("c", "compare", "compare models"),
        Binding("p", "playback", "play back"),
        Binding("J", "judge", "judge run"),
        Binding("f", "fork", "fork here"),
        Binding("F", "forks", "compare forks"),
        Binding("escape,q", "app.pop_screen", "back"),
    ]
    DEFAULT_CSS = """
    TrajectoryScreen #run-info { height: auto; max-height: 4; padding: 0 1; background: $boost; }
    TrajectoryScreen #steps { width: 44; text-wrap: nowrap; text-overflow: ellipsis; }
    TrajectoryScreen #detail { width: 1fr; padding: 0 1; }
    TrajectoryScreen #verdicts { width: 52; padding: 0 1; border-left: solid $primary; }
    TrajectoryScreen #verdicts.hidden { display: none; }
    """

    def __init__(self, db_path: Path, run_id: str, step: int | None = None, *, blind: bool = False,
                 highlight: str | None = None) -> None:
        super().__init__()
        self.db_path, self.run_id, self.start_step, self.blind = db_path, run_id, step, blind
        # Opened from a search hit: the searched words are marked in every step, the first step scrolled to them.
        self.highlight = words_pattern(highlight) if highlight else None
        self._reveal = self.highlight
        self.bundle: RunBundle | None = None
        self.pos = 0
        self.expanded = False
        self.body: RenderableType = Text("")
        self.info = Text("")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("loading…"), id="run-info")
        with Horizontal():
            yield OptionList(id="steps")
            yield LazyView(id="detail")
            with VerticalScroll(id="verdicts", classes="hidden" if self.blind else ""):
                yield Static(id="verdict-body")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        db = open_db(self.db_path)
        try:
            bundle = load_bundle(db, self.run_id)
        finally:
            db.conn.close()
        self.app.call_from_thread(self._loaded, bundle)

    def reload(self) -> None:
        """Called after labels/verdicts change elsewhere (e.g. label mode)."""
        self.start_step = self.bundle.steps[self.pos].idx if self.bundle and self.bundle.steps else None
        self.load()

    def _loaded(self, bundle: RunBundle | None) -> None:
        if bundle is None:
            self.query_one("#run-info", Static).update(Text(f"run {self.run_id} not found", style="bold red"))
            return
        self.bundle = bundle
        run = bundle.run
        info = Text()
        info.append(clean(run.model), style="bold")
        info.append(f"  {clean(run.scenario_id)}  {run.variant}  {run.status}  {len(bundle.steps)} steps", style="")
        if not self.blind:
            for v in bundle.verdicts:
                if v.kind == "integrity":
                    info.append("  integrity: " + ("FLAGGED" if (v.score or 0) > 0 else "clean"),
                                style="bold red" if (v.score or 0) > 0 else "green")
            median = bundle.judge_median
            if median is not None:
                info.append(f"  judge median {median:g}", style="bold red" if median >= 3 else "bold green")
            if run.panel_size:  # judges asked vs scores got: a partial panel is visible
                got = sum(v.kind == "llm" and v.score is not None for v in bundle.verdicts)
                info.append(f" ({got}/{run.panel_size} judges)", style="yellow" if got < run.panel_size else "dim")
        # The verdicts come before the title and provenance: on a short terminal the header keeps 2 lines.
        if bundle.scenario_title:
            info.append(f"  — {clean(bundle.scenario_title)}", style="dim")
        info.append_text(fd.fork_header(run))
        if run.protocol or run.provenance:  # how the run was made (protocol, endpoint, sampling, image)
            from odcv_tui.runner.provenance import summary

            info.append(f"\n{clean(summary(run.protocol, run.provenance))}", style="dim")
        self.info = info
        self.query_one("#run-info", Static).update(info)
        cited = bundle.cited if not self.blind else {}
        diverged = {i: r.get("divergence_class") for i, r in bundle.replays.items() if r.get("diverged")}
        options = [Option(fd.mark_branch(step_label(s, s.idx in cited, s.idx in bundle.changes, diverged.get(s.idx)),
                                         run, s.idx), id=str(s.idx))
                   for s in bundle.steps]
        steps = self.query_one("#steps", OptionList)
        steps.clear_options()
        steps.add_options(options)
        verdicts = [verdict_text(v) for v in bundle.verdicts]
        body = Text("\n\n").join(verdicts) if verdicts else Text("no verdicts yet", style="dim")
        self.query_one("#verdict-body", Static).update(body)
        self.pos = bundle.position(self.start_step) if self.start_step else 0
        self._show()

    def _show(self) -> None:
        if not self.bundle or not self.bundle.steps:
            self.query_one("#detail", LazyView).show(Text("this run has no stored steps", style="dim"))
            return
        self.pos = max(0, min(self.pos, len(self.bundle.steps) - 1))
        step = self.bundle.steps[self.pos]
        bundle = self.bundle if not self.blind else RunBundle(self.bundle.run, self.bundle.steps, self.bundle.changes,
                                                              [], self.bundle.replays)
        self.body = render_step(bundle, step, expanded=self.expanded)  # kept for tests and label mode
        if self._reveal is not None and not self.expanded and not any_match(self.body, self._reveal):
            self.expanded = True  # the search hit lies past the collapsed cap: open the step expanded
            self.body = render_step(bundle, step, expanded=True)
        mark_matches(self.body, self.highlight)
        self.query_one("#detail", LazyView).show(self.body, reveal=self._reveal)
        self._reveal = None
        steps = self.query_one("#steps", OptionList)
        if steps.highlighted != self.pos:
            steps.highlighted = self.pos
        # On the step list's border, not the screen sub_title: a title change repaints the whole Header
        # and doubled the cost of a keypress (41 -> 20 ms measured in benchmarks/bench_tui.py).
        steps.border_title = f"step {step.idx} ({self.pos + 1}/{len(self.bundle.steps)})"

    @property
    def current_idx(self) -> int | None:
        return self.bundle.steps[self.pos].idx if self.bundle and self.bundle.steps else None

    def goto_idx(self, idx: int) -> None:
        if self.bundle:
            self.pos = self.bundle.position(idx)
            self._show()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "steps" and event.option_index != self.pos:
            self.pos = event.option_index
            self._show()

    def action_step(self, delta: int) -> None:
        self.pos += delta
        self._show()

    def action_first(self) -> None:
        self.pos = 0
        self._show()

    def action_last(self) -> None:
        self.pos = len(self.bundle.steps) - 1 if self.bundle else 0
        self._show()

    def action_scroll(self, delta: int) -> None:
        self.query_one("#detail", LazyView).scroll_relative(y=delta * 3, animate=False)

    def _jump(self, candidates: list[int], delta: int) -> None:
        cur = self.current_idx
        if cur is None or not candidates:
            self.notify("nothing to jump to", severity="warning")
            return
        ahead = [i for i in candidates if (i > cur if delta > 0 else i < cur)]
        target = (min(ahead) if delta > 0 else max(ahead)) if ahead else (min(candidates) if delta > 0 else max(candidates))
        self.goto_idx(target)

    def action_cited(self, delta: int) -> None:
        if self.bundle and not self.blind:
            self._jump(sorted(self.bundle.cited), delta)

    def action_changed(self) -> None:
        if self.bundle:
            self._jump(sorted(self.bundle.changes), 1)

    def action_expand(self) -> None:
        self.expanded = not self.expanded
        self._show()

    def action_toggle_verdicts(self) -> None:
        if self.blind:
            self.notify("blind mode: verdicts are hidden", severity="warning")
            return
        if self.has_class("-narrow"):  # no room beside the step: verdicts take its place (layout.tcss)
            self.toggle_class("-verdicts-open")
            return
        self.query_one("#verdicts").toggle_class("hidden")

    def action_compare(self) -> None:
        opener = getattr(self.app, "open_compare", None)
        if self.bundle and opener:
            opener(self.bundle.run.scenario_id, self.bundle.run.variant, self.bundle.run.model)

    def action_playback(self) -> None:
        opener = getattr(self.app, "open_playback", None)
        if opener:
            opener(self.run_id)

    def action_judge(self) -> None:
        if self.blind:
            self.notify("blind mode: judging would reveal verdicts", severity="warning")
            return
        self.notify("judging this run with the panel…")
        self.judge_run()

    @work(thread=True, exclusive=True, group="judge")
    def judge_run(self) -> None:
        """The LLM panel on this run (default judges, cached); `app.judge_factory` swaps in scripted judges."""
        from odcv_tui.core.errors import OdcvError
        from odcv_tui.judge.panel import judge_runs

        factory = getattr(self.app, "judge_factory", None)
        try:
            report = judge_runs(self.db_path, [self.run_id], completer_factory=factory)
        except OdcvError as exc:
            self.app.call_from_thread(self.notify, clean(str(exc)), severity="error", timeout=12)
            return
        summary = (f"{report.count('new')} new, {report.count('cached')} cached, {report.count('failed')} failed, "
                   f"{report.count('skipped')} skipped verdicts; {report.calls} model calls")
        self.app.call_from_thread(self.notify, summary)
        self.app.call_from_thread(self.reload)

    def action_forks(self) -> None:
        """This run's parent (or this run) and its forks side by side in Compare."""
        from odcv_tui.ui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(self.db_path, family=self.run_id))

    def action_fork(self) -> None:
        if self.blind:
            self.notify("blind mode (labeling): forking is off", severity="warning")
            return
        if self.bundle is None or self.current_idx is None:
            return
        self.open_fork_dialog(self.current_idx)

    @work(thread=True, exclusive=True, group="fork")
    def open_fork_dialog(self, step: int) -> None:
        """`f`: continue this run from the current step with another model or an edited prompt (docs/FORKS.md)."""
        assert self.bundle is not None
        models, texts = fd.known_models(self.db_path), fd.fork_texts(self.bundle, step)

        def done(choice) -> None:  # type: ignore[no-untyped-def]
            if choice is not None:
                fd.launch_fork(self.app, self.db_path, fd.spec_for(self.run_id, step, choice))

        self.app.call_from_thread(self.app.push_screen, fd.ForkDialog(self.run_id, step, models, texts), done)
