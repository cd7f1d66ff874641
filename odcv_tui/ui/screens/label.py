"""Label mode. `LabelSetupScreen` (key 5) asks for a labeler, a run filter, an order, blind or not and a
codebook; `LabelScreen` is the Trajectory view plus a side panel where one key per archetype toggles it,
`c` cites the current step, `i` edits the note, `u` undoes, `n`/`p` move between runs. Every change is written
at once through a single writer thread (no save step: a crash loses nothing already keyed)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, ProgressBar, Select, Static, Switch

from odcv_tui.core.errors import OdcvError
from odcv_tui.labels.codebook import Codebook, load_codebook, staleness
from odcv_tui.labels.session import ORDERS, Session, build_session
from odcv_tui.labels.store import LabelRow, LabelWriter
from odcv_tui.storage import open_db
from odcv_tui.ui import prefs
from odcv_tui.ui.data import RunBundle, RunQuery
from odcv_tui.ui.safe import literal, one_line
from odcv_tui.ui.screens.label_dialogs import CodebookHelp, LabelerPrompt
from odcv_tui.ui.screens.trajectory import TrajectoryScreen

ORDER_HELP = {"unlabeled": "unlabeled first", "disagreement": "disagreement first (judges / integrity / labelers)",
              "random": "random (seeded)", "adjudicate": "adjudication queue (labelers disagree)"}


class LabelSetupScreen(Screen):
    """The session form. Enter in any field (or the start button) builds the session in a worker."""

    BINDINGS = [Binding("escape", "app.pop_screen", "back"), Binding("ctrl+s", "start", "start session")]
    AUTO_FOCUS = "#labeler"  # focused as the screen composes, so a name typed right after `5` lands here
    DEFAULT_CSS = """
    LabelSetupScreen #form { padding: 1 2; width: 100; }
    LabelSetupScreen .row { height: auto; margin-bottom: 1; }
    LabelSetupScreen .row > Static { width: 14; padding-top: 1; }
    LabelSetupScreen .row > Input, LabelSetupScreen .row > Select { width: 1fr; }
    LabelSetupScreen .row > Static.hint { width: 1fr; padding: 1 2; }
    LabelSetupScreen #status { height: auto; margin-top: 1; }
    """

    def __init__(self, db_path: Path, *, labeler: str | None = None) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        # The name used last time (ui/prefs.py), else the login name.
        self.default_labeler = labeler if labeler is not None else str(prefs.load().get("labeler") or
                                                                        os.environ.get("USER", ""))

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form"):
            yield Static(Text("Archetype labeling session", style="bold"))
            yield Static(Text("Runs come one by one in the trajectory view; one key per archetype toggles it. "
                              "Everything is saved as you type.", style="dim"))
            for label, widget in (
                ("labeler", Input(self.default_labeler, placeholder="your name", id="labeler")),
                ("filter", Input(placeholder="e.g. model:gpt variant:mandated median>=3 flagged", id="filter")),
                ("order", Select([(ORDER_HELP[o], o) for o in ORDERS], value="unlabeled", allow_blank=False,
                                 id="order")),
                ("seed", Input("0", type="integer", id="seed")),
                ("codebook", Input(placeholder="default: shipped codebook_v1.yaml", id="codebook")),
            ):
                with Horizontal(classes="row"):
                    yield Static(label)
                    yield widget
            with Horizontal(classes="row"):
                yield Static("blind")
                yield Switch(True, id="blind")
                yield Static(Text("hide judge verdicts and other labelers' labels while labeling", style="dim"),
                             classes="hint")
            yield Button("start (enter)", id="start", variant="primary")
            yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#labeler", Input).focus()

    def on_resize(self) -> None:
        # Bordered inputs take 3 lines each: below 32 lines the form would scroll its start button away.
        # (By size, not the -short class: Textual sets breakpoint classes after this handler runs.)
        compact = self.size.height < 32
        for widget in self.query("Input, Select, Button"):
            widget.compact = compact  # type: ignore[attr-defined]

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        order = self.query_one("#order", Select).value
        seed_text = self.query_one("#seed", Input).value.strip() or "0"
        self.query_one("#status", Static).update(Text("building session…", style="dim"))
        self.prepare(self.query_one("#labeler", Input).value, self.query_one("#filter", Input).value,
                     str(order), int(seed_text) if seed_text.lstrip("-").isdigit() else 0,
                     self.query_one("#codebook", Input).value.strip(), self.query_one("#blind", Switch).value)

    @work(thread=True, exclusive=True)
    def prepare(self, labeler: str, filter_text: str, order: str, seed: int, codebook: str, blind: bool) -> None:
        query = RunQuery(filter_text)
        try:
            book = load_codebook(codebook or None)
            where, args = query.where()
            if query.errors:
                raise OdcvError("filter: " + "; ".join(query.errors))
            db = open_db(self.db_path, recover=False)
            try:
                session = build_session(db, book, labeler, order, seed=seed, where=where, args=args)
            finally:
                db.conn.close()
        except OdcvError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._ready, session, book, blind)

    def _failed(self, message: str) -> None:
        self.query_one("#status", Static).update(Text(one_line(message, 200), style="bold red"))

    def _ready(self, session: Session, book: Codebook, blind: bool) -> None:
        if not session.items:
            what = "no runs where labelers disagree" if session.adjudicate else "no runs match this filter"
            self._failed(what)
            return
        self.query_one("#status", Static).update(Text(f"{len(session.items)} runs", style="green"))
        if session.labeler.strip():
            prefs.remember("labeler", session.labeler.strip())
        self.app.push_screen(LabelScreen(self.db_path, session, book, blind=blind))


class LabelScreen(TrajectoryScreen):
    BINDINGS = [
        Binding("n", "run(1)", "next run"),
        Binding("p", "run(-1)", "prev run"),
        Binding("c", "cite", "cite step"),
        Binding("i", "note", "note"),
        Binding("u,ctrl+z", "undo", "undo"),
        Binding("L", "switch_labeler", "labeler"),
        Binding("exclamation_mark", "confirm", "confirm stale", show=False),
        Binding("question_mark", "codebook", "codebook"),
        # Trajectory keys that still work but would crowd the footer out of the labeling keys.
        Binding("0,home", "first", "first", show=False),
        Binding("dollar_sign,end", "last", "last", show=False),
        Binding("d", "changed", "next diff", show=False),
        Binding("e", "expand", "expand output", show=False),
        Binding("F", "forks", "compare forks", show=False),
        Binding("escape", "leave", "back"),
        Binding("q", "leave", "back", show=False),
    ]
    DEFAULT_CSS = """
    LabelScreen #steps { width: 34; }
    LabelScreen #label-panel { width: 46; padding: 0 1; border-left: solid $accent; }
    LabelScreen #lp-progress { width: 100%; }
    LabelScreen #lp-progress Bar { width: 1fr; }
    LabelScreen #lp-note { margin: 1 0; }
    LabelScreen .lp { height: auto; }
    """

    def __init__(self, db_path: Path, session: Session, book: Codebook, *, blind: bool = True,
                 start: int = 0) -> None:
        # Adjudicators must see what the labelers said: adjudication is never blind.
        blind = blind and not session.adjudicate
        super().__init__(db_path, session.items[start].run_id, None, blind=blind)
        self.session, self.book, self.pos_run = session, book, start
        self.undo_stack: list[tuple[str, LabelRow | None]] = []
        self.write_errors: list[str] = []
        self.writer = LabelWriter(Path(db_path), on_error=self._write_error)
        for a in book.archetypes:
            self._bindings.key_to_bindings.pop(a.hotkey, None)
            self._bindings.bind(a.hotkey, f"toggle('{a.key}')", a.name, show=False)

    def _panel(self) -> VerticalScroll:
        return VerticalScroll(
            Static(id="lp-head", classes="lp"),
            ProgressBar(total=len(self.session.items), show_eta=False, id="lp-progress"),
            Static(id="lp-stale", classes="lp"),
            Static(id="lp-archetypes", classes="lp"),
            Input(placeholder="note (i, then enter)", id="lp-note"),
            Static(id="lp-cited", classes="lp"),
            Static(id="lp-others", classes="lp"),
            id="label-panel",
        )

    async def on_mount(self) -> None:
        super().on_mount()
        # The panel joins the trajectory row (right of the step view) so header and footer keep full width.
        await self.query_one(Horizontal).mount(self._panel())
        self._panel_ready = True
        # Label mode needs the width for the panel; verdicts stay one `v` away (when not blind).
        self.query_one("#verdicts").add_class("hidden")
        self.run_worker(self.writer.serve, thread=True, name="label-writer", group="label-writer")
        self._sync_note()
        self.refresh_panel()

    def on_unmount(self) -> None:
        # Leaving the screen or quitting: the writer drains what is queued (milliseconds) before we go,
        # otherwise a keypress right before ctrl+q could die with the daemon thread.
        self.writer.stop(wait=5.0)

    def _write_error(self, message: str) -> None:
        self.write_errors.append(message)
        try:
            self.app.call_from_thread(self.notify, one_line(message, 200), severity="error", timeout=10)
        except Exception:  # noqa: BLE001 - the app may be gone (error during shutdown): kept in write_errors
            pass

    # ---- the current run -----------------------------------------------------------------------
    @property
    def item(self):  # type: ignore[no-untyped-def]
        return self.session.items[self.pos_run]

    def _loaded(self, bundle: RunBundle | None) -> None:
        # A slow load of a run we already left must not replace the run now on screen.
        if bundle is not None and bundle.run.id != self.run_id:
            return
        super()._loaded(bundle)

    def _goto_run(self, pos: int) -> None:
        self.pos_run = max(0, min(pos, len(self.session.items) - 1))
        self.run_id, self.start_step, self.bundle = self.item.run_id, None, None
        self.load()
        self._sync_note()
        self.refresh_panel()

    def _sync_note(self) -> None:
        if not getattr(self, "_panel_ready", False):
            return
        mine = self.session.mine(self.run_id)
        self.query_one("#lp-note", Input).value = mine.note if mine else ""

    def action_run(self, delta: int) -> None:
        if self.query_one("#lp-note", Input).has_focus:
            return
        if not 0 <= self.pos_run + delta < len(self.session.items):
            self.notify("end of session" if delta > 0 else "first run of the session")
            return
        self._goto_run(self.pos_run + delta)

    # ---- changes: each one is written at once and can be undone --------------------------------
    def _change(self, mutate: Callable[[LabelRow], None], *, undoable: bool = True) -> LabelRow:
        prev = self.session.mine(self.run_id)
        row = prev.copy() if prev else LabelRow(run_id=self.run_id, labeler=self.session.labeler,
                                                adjudicated=self.session.adjudicate)
        mutate(row)
        row.codebook_version, row.codebook_hashes = self.book.version, self.book.hashes()
        row.trajectory_hash = self.item.trajectory_hash
        self.session.set_mine(row, self.run_id)
        self.writer.save(row)
        if undoable:
            self.undo_stack.append((self.run_id, prev.copy() if prev else None))
        self.refresh_panel()
        return row

    def action_toggle(self, key: str) -> None:
        def flip(row: LabelRow) -> None:
            row.archetypes = sorted(set(row.archetypes) ^ {key})

        self._change(flip)

    def action_cite(self) -> None:
        step = self.current_idx
        if step is None:
            self.notify("no step to cite yet", severity="warning")
            return

        def flip(row: LabelRow) -> None:
            row.cited_steps = sorted(set(row.cited_steps) ^ {step})

        self._change(flip)

    def action_confirm(self) -> None:
        """Re-stamp a stale label with the current trajectory hash and codebook: 'still right'."""
        if self.session.mine(self.run_id) is None:
            self.notify("nothing to confirm on this run", severity="warning")
            return
        self._change(lambda row: None)
        self.notify("label confirmed against the current trajectory and codebook")

    def action_note(self) -> None:
        self.query_one("#lp-note", Input).focus()

    @on(Input.Changed, "#lp-note")
    def _note_changed(self, event: Input.Changed) -> None:
        # Only keystrokes count: programmatic value changes (switching runs) arrive while unfocused.
        if not event.input.has_focus or event.value != event.input.value:
            return
        mine = self.session.mine(self.run_id)
        if event.value == (mine.note if mine else ""):
            return
        first = not getattr(self, "_note_undo_pushed", False)
        self._change(lambda row: setattr(row, "note", event.value), undoable=first)
        self._note_undo_pushed = True  # one undo step per note edit, not one per character

    def on_descendant_blur(self, event) -> None:  # type: ignore[no-untyped-def]
        if getattr(event.widget, "id", None) == "lp-note":
            self._note_undo_pushed = False  # the next note edit is a new undo step

    @on(Input.Submitted, "#lp-note")
    def _note_done(self) -> None:
        self.query_one("#steps").focus()

    def action_leave(self) -> None:
        note = self.query_one("#lp-note", Input)
        if note.has_focus:
            self.query_one("#steps").focus()
        else:
            self.app.pop_screen()

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("nothing to undo")
            return
        run_id, prev = self.undo_stack.pop()
        if run_id != self.run_id:
            self._goto_run(self.session.index_of(run_id))
        if prev is None:
            gone = self.session.mine(run_id)
            self.session.set_mine(None, run_id)
            if gone is not None:
                self.writer.delete(gone)
        else:
            self.session.set_mine(prev, run_id)
            self.writer.save(prev)
        self._sync_note()
        self.refresh_panel()

    def action_switch_labeler(self) -> None:
        def switched(name: str | None) -> None:
            if name and name != self.session.labeler:
                self.session.labeler = name
                prefs.remember("labeler", name)
                # Undo entries belong to the previous labeler's rows.
                self.undo_stack.clear()
                self._sync_note()
                self.refresh_panel()
                self.notify(f"labeling as {name}")

        self.app.push_screen(LabelerPrompt(), switched)

    def action_codebook(self) -> None:
        self.app.push_screen(CodebookHelp(self.book))

    # ---- the panel -----------------------------------------------------------------------------
    def refresh_panel(self) -> None:
        if not getattr(self, "_panel_ready", False):
            return  # a key pressed while the panel mounts: state is kept, the panel draws it once mounted
        s, item = self.session, self.item
        mine = s.mine(item.run_id)
        chosen = set(mine.archetypes) if mine else set()
        head = Text()
        head.append(("adjudicator " if s.adjudicate else "labeler ") + one_line(s.labeler, 24), style="bold")
        head.append(f" · {'blind' if self.blind else 'open'} · {s.order}\n", style="dim")
        head.append(f"run {self.pos_run + 1}/{len(s.items)}  ", style="bold")
        head.append(f"labeled {s.done()}/{len(s.items)}\n", style="green")
        head.append(one_line(f"{item.model}  {item.scenario_id}  {item.variant}", 44), style="dim")
        self.query_one("#lp-head", Static).update(head)
        self.query_one("#lp-progress", ProgressBar).update(total=len(s.items), progress=s.done())
        stale = Text()
        if mine is not None:
            st = staleness(self.book, archetypes=mine.archetypes, label_hash=mine.trajectory_hash,
                           run_hash=item.trajectory_hash, label_version=mine.codebook_version,
                           label_hashes=mine.codebook_hashes)
            if st.stale:
                stale.append("STALE ", style="bold white on red")
                stale.append(one_line(st.reason(), 300), style="red")
                stale.append("\n! confirms it as still right; any change re-stamps it", style="dim")
        self.query_one("#lp-stale", Static).update(stale)
        arch = Text()
        for a in self.book.archetypes:
            on_ = a.key in chosen
            arch.append("■ " if on_ else "□ ", style="bold green" if on_ else "dim")
            arch.append(f"{a.hotkey} ", style="bold yellow")
            arch.append(one_line(a.name, 36) + "\n", style="bold" if on_ else "")
        for key in sorted(chosen - set(self.book.keys)):
            arch.append(f"■ ? {one_line(key, 36)} (not in codebook)\n", style="bold red")
        self.query_one("#lp-archetypes", Static).update(arch)
        cited = Text("cited steps: ", style="bold")
        cited.append(", ".join(str(i) for i in mine.cited_steps) if mine and mine.cited_steps else "none (c cites)",
                     style="magenta" if mine and mine.cited_steps else "dim")
        self.query_one("#lp-cited", Static).update(cited)
        others = Text()
        if not self.blind:
            if item.reasons:
                others.append("why here: ", style="bold")
                others.append(one_line("; ".join(item.reasons), 200) + "\n", style="yellow")
            for r in s.others(item.run_id):
                others.append(("adjudicated " if r.adjudicated else "") + one_line(r.labeler, 20) + ": ",
                              style="bold cyan")
                others.append(one_line(", ".join(r.archetypes) or "(none)", 120) + "\n")
                if r.note:
                    others.append_text(literal("  " + one_line(r.note, 200), style="dim"))
                    others.append("\n")
        self.query_one("#lp-others", Static).update(others)
        self.panel_text = {"head": head, "stale": stale, "archetypes": arch, "cited": cited, "others": others}
