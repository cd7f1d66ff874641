"""Live: launch runs (scenarios x variants x models, a sandbox, a concurrency) and watch each stream in
its own pane; or play back any stored run in the same pane at an adjustable speed.

Runner events arrive on pool threads and playback events on a worker thread; both reach the UI only
through `app.call_from_thread`. Scenario loading and playback reads happen in thread workers.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Static

from odcv_tui.core.errors import OdcvError
from odcv_tui.core.events import Event, EventBus
from odcv_tui.core.scenario import Scenario
from odcv_tui.ui.playback import Player
from odcv_tui.ui.widgets.launch_form import PROVIDER_MODELS, LaunchForm, key_for
from odcv_tui.ui.widgets.run_pane import RunPane

# Panes are created when a run starts and the oldest finished ones are dropped beyond this, so a
# launch of 160 runs never lays out 160 logs (finished runs stay in runs.db and on the Runs screen).
MAX_PANES = 12

__all__ = ["MAX_PANES", "PROVIDER_MODELS", "LiveScreen", "key_for"]


class LiveScreen(Screen):
    SUB_TITLE = "Live"
    BINDINGS = [
        Binding("ctrl+r", "start", "Start", priority=True),
        Binding("c", "cancel", "Cancel"),
        Binding("C", "cancel_all", "Cancel all"),
        Binding("space", "toggle_pause", "Pause"),
        Binding("full_stop", "step", "Step"),
        Binding("plus,equals_sign", "faster", "Faster"),
        Binding("minus", "slower", "Slower"),
        Binding("o", "open_run", "Open"),
        Binding("p", "focus_playback", "Play run"),
        Binding("f", "toggle_form", "Form"),
    ]
    DEFAULT_CSS = """
    LiveScreen #panes { width: 1fr; }
    LiveScreen #panes.many RunPane { height: 20; }
    LiveScreen #panes-empty { color: $text-muted; padding: 1 2; }
    LiveScreen #queue-line { color: $text-muted; height: auto; padding: 0 1; }
    LiveScreen #sweep-line { color: $text-muted; height: auto; padding: 0 1; }
    """

    def __init__(self, db_path: Path, playback_run_id: str | None = None, *,
                 scenarios_root: Path | None = None, playback_speed: float = 1.0,
                 playback_paused: bool = False, playback_interval: float | None = None,
                 preset: str | None = None) -> None:
        super().__init__()
        # preset="oracle" (the welcome screen's "watch an oracle run now"): start the default
        # selection (first scenario, mandated, oracle/exploit, local sandbox) as soon as it is loaded.
        self.preset = preset
        self.db_path = Path(db_path)
        self.playback_run_id = playback_run_id
        self.scenarios_root = scenarios_root
        self.playback_speed = playback_speed
        self.playback_paused = playback_paused
        self.playback_interval = playback_interval
        self.bus = EventBus()
        self.runner = None  # odcv_tui.runner.Runner, created on first start (imports the run stack lazily)
        self.panes: dict[str, RunPane] = {}  # live: run id; playback: "play:" + run id
        self.players: dict[str, Player] = {}
        self._old_runners: list = []  # runners replaced by a concurrency change; their runs go on
        self.queued: dict[str, object] = {}  # run id -> RunRequest, until its RunStarted arrives
        self.cancelled_before_start = 0
        self._unsubscribe = None

    # layout ---------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield LaunchForm(id="live-form")
            with VerticalScroll(id="panes"):
                sweeps = Static("", id="sweep-line")
                sweeps.display = False  # shown while a sweep (CLI or cluster driver) is running on this DB
                yield sweeps
                yield Static("", id="queue-line")
                yield Static("Pick scenarios, variants and models, then ctrl+r. With no API key, the oracle "
                             "agents replay each scenario's honest or exploit path.", id="panes-empty")
        yield Footer()

    def on_mount(self) -> None:
        self._unsubscribe = self.bus.subscribe(lambda ev: self._deliver(ev.run_id if hasattr(ev, "run_id")
                                                                        else ev.run.id, ev))
        self.set_interval(1.0, self._tick)
        self._refresh_queue()
        self._load_scenarios()
        if self.playback_run_id:
            # Opened to watch one run: give it the whole width (f brings the form back).
            self.query_one("#live-form").display = False
            self.query_one("#playback-id", Input).value = self.playback_run_id
            self.play(self.playback_run_id)

    def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        for player in self.players.values():
            player.stop()
        for runner in [self.runner, *self._old_runners]:
            if runner is not None:
                # Never wait here: a run thread may be blocked delivering an event to this (UI) thread.
                runner.cancel_all()
                runner.pool.shutdown(wait=False, cancel_futures=True)

    @work(thread=True, exclusive=True, group="scenarios")
    def _load_scenarios(self) -> None:
        from odcv_tui.scenarios import load_all

        try:
            found = sorted(load_all(self.scenarios_root), key=lambda s: s.id)
        except OdcvError as exc:
            self.app.call_from_thread(self._message, f"scenarios: {exc}")
            found = []
        self.app.call_from_thread(self._fill_scenarios, found)

    def _fill_scenarios(self, found: list[Scenario]) -> None:
        self.query_one(LaunchForm).fill_scenarios(found)
        if self.preset == "oracle" and found:
            self.preset = None
            self.action_start()

    @property
    def scenarios_loaded(self) -> bool:
        return self.query_one(LaunchForm).scenarios_loaded

    # events from other threads ----------------------------------------------------------------------
    def _deliver(self, key: str, ev: Event) -> None:
        """Called on a run/playback thread."""
        try:
            self.app.call_from_thread(self._on_event, key, ev)
        except RuntimeError:  # the app is shutting down: the run is persisted anyway
            pass

    def _on_event(self, key: str, ev: Event) -> None:
        pane = self.panes.get(key)
        if pane is None and key in self.queued and ev.type == "run_started":
            self.queued.pop(key)
            pane = RunPane(key)
            self._add_pane(key, pane)
            if self.focused_pane() is None:  # never steal focus from a pane the user is on
                pane.focus()
            self._refresh_queue()
        if pane is not None:
            pane.handle(ev)
        player = self.players.get(key)
        if player is not None and pane is not None:
            pane.playback_note = self._player_note(player)
            pane.refresh_head()

    def _tick(self) -> None:
        for pane in self.panes.values():
            if not pane.finished:
                pane.refresh_head()
        self._poll_sweeps()

    @work(thread=True, exclusive=True, group="sweeps")
    def _poll_sweeps(self) -> None:
        from odcv_tui.runner.sweep import active_sweep_lines

        lines = active_sweep_lines(self.db_path)
        self.app.call_from_thread(self._show_sweeps, lines)

    def _show_sweeps(self, lines: list[str]) -> None:
        from odcv_tui.core.literal import clean

        line = self.query_one("#sweep-line", Static)
        line.update(Text("\n".join(clean(x) for x in lines)))  # literal: model names are user/agent text
        line.display = bool(lines)

    def _message(self, text: str) -> None:
        self.query_one(LaunchForm).message(text)

    # panes ----------------------------------------------------------------------------------------
    def _add_pane(self, key: str, pane: RunPane) -> None:
        container = self.query_one("#panes", VerticalScroll)
        for empty in container.query("#panes-empty"):
            empty.remove()
        self.panes[key] = pane
        container.mount(pane)
        self._trim_panes()
        container.set_class(len(self.panes) > 2, "many")

    def _trim_panes(self) -> None:
        keys = [k for k, p in self.panes.items() if p.finished and p is not self.focused_pane()
                and not (k in self.players and not self.players[k].done)]
        for key in keys[: max(0, len(self.panes) - MAX_PANES)]:
            self.panes.pop(key).remove()
            self.players.pop(key, None)

    def _refresh_queue(self) -> None:
        parts = []
        if self.queued:
            parts.append(f"{len(self.queued)} run(s) queued: a pane opens when each starts")
        if self.cancelled_before_start:
            parts.append(f"{self.cancelled_before_start} cancelled before starting")
        line = self.query_one("#queue-line", Static)
        line.update(Text(" · ".join(parts)))
        line.display = bool(parts)

    def focused_pane(self) -> RunPane | None:
        node = self.focused
        while node is not None:
            if isinstance(node, RunPane):
                return node
            node = node.parent
        return None

    def _key_of(self, pane: RunPane) -> str:
        return next(k for k, p in self.panes.items() if p is pane)

    # launching ------------------------------------------------------------------------------------
    def action_start(self) -> None:
        from odcv_tui.runner import Runner

        form = self.query_one(LaunchForm)
        try:
            requests = form.build_requests()
            n = form.concurrency()
        except ValueError as exc:
            self._message(str(exc))
            return
        missing = sorted({k for r in requests if (k := key_for(r.model)) and not os.environ.get(k)})
        if self.runner is None or self.runner.pool._max_workers != n:  # noqa: SLF001 - no public getter
            old, self.runner = self.runner, Runner(self.db_path, bus=self.bus, concurrency=n)
            if old is not None:
                old.pool.shutdown(wait=False)  # its queued/running runs continue in the old pool
                self._old_runners.append(old)
        from odcv_tui.runner.run_one import new_run_id

        for req in requests:  # known before they run, so a run that starts at once finds its entry
            req.run_id = new_run_id(req)
            self.queued[req.run_id] = req
        for empty in self.query("#panes-empty"):
            empty.remove()
        self.runner.start(requests)
        self._refresh_queue()
        note = f"queued {len(requests)} run(s), {n} at a time"
        if missing:
            note += f"; missing {', '.join(missing)}: those runs will end in error"
        self._message(note)
        if self.focused_pane() is None:
            self.query_one("#panes").focus()  # so c / C work at once, before the first pane exists

    def start_requests(self, requests: list) -> None:  # type: ignore[type-arg]
        """Queue prebuilt RunRequests (forks from the Trajectory screen's `f`) on this screen's runner."""
        from odcv_tui.runner import Runner

        if self.runner is None:
            self.runner = Runner(self.db_path, bus=self.bus, concurrency=1)
        for req in requests:
            self.queued[req.run_id] = req
        for empty in self.query("#panes-empty"):
            empty.remove()
        self.runner.start(requests)
        self._refresh_queue()
        self._message(f"queued {len(requests)} fork run(s)")

    def _runner_for(self, run_id: str):  # type: ignore[no-untyped-def]
        for r in [self.runner, *self._old_runners]:
            if r is not None and run_id in r.cancels:
                return r
        return None

    def action_cancel(self) -> None:
        pane = self.focused_pane()
        if pane is None or pane.playback:
            if pane is not None:
                self._stop_playback(pane)
            return
        runner = self._runner_for(pane.run_id)
        if runner is None or pane.finished:
            return
        runner.cancel(pane.run_id)
        pane.mark("cancelling")  # the run stops after its current command and reports `interrupted`

    def action_cancel_all(self) -> None:
        for runner in [self.runner, *self._old_runners]:
            if runner is None:
                continue
            runner.cancel_all()
            for run_id in list(self.queued):
                if run_id in runner.futures and runner.futures[run_id].cancelled():
                    self.queued.pop(run_id)  # it never starts: no event will ever come
                    self.cancelled_before_start += 1
        for pane in self.panes.values():
            if not pane.playback and not pane.finished:
                pane.mark("cancelling")
        self._refresh_queue()

    def action_open_run(self) -> None:
        pane = self.focused_pane()
        open_run = getattr(self.app, "open_run", None)
        if pane is not None and open_run is not None:
            open_run(pane.run_id)

    def action_focus_playback(self) -> None:
        self.query_one("#live-form").display = True
        self.query_one("#playback-id", Input).focus()

    def action_toggle_form(self) -> None:
        form = self.query_one("#live-form")
        form.display = not form.display

    # playback -------------------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "playback-id" and event.value.strip():
            self.play(event.value.strip())
        elif event.input.id in ("custom-model", "concurrency"):
            self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        elif event.button.id == "play":
            run_id = self.query_one("#playback-id", Input).value.strip()
            if run_id:
                self.play(run_id)
            else:
                self._message("type a stored run id to play back")

    def play(self, run_id: str) -> RunPane:
        """Start playing a stored run in a new pane (replacing an earlier playback of the same run)."""
        key = f"play:{run_id}"
        if key in self.players:
            self.players.pop(key).stop()
            self.panes.pop(key).remove()
        pane = RunPane(run_id, playback=True)
        player = Player(self.db_path, run_id, lambda ev: self._deliver(key, ev), speed=self.playback_speed,
                        paused=self.playback_paused,
                        **({"interval": self.playback_interval} if self.playback_interval else {}))
        self.players[key] = player
        pane.playback_note = self._player_note(player)
        self._add_pane(key, pane)
        pane.focus()
        self._play_worker(key, player)
        return pane

    @work(thread=True, group="playback")
    def _play_worker(self, key: str, player: Player) -> None:
        try:
            player.run()
        except OdcvError as exc:
            self.app.call_from_thread(self._playback_failed, key, str(exc))

    def _playback_failed(self, key: str, msg: str) -> None:
        self._message(msg)
        pane = self.panes.get(key)
        if pane is not None:
            pane.mark("error")
            pane.log_widget.write(Text(msg, style="bold red"))

    def _player_note(self, player: Player) -> str:
        state = "paused" if player.paused else "playing"
        if player.done:
            state = "done"
        return f"{state} {player.speed:g}x  {player.position}/{player.total or '?'}  (space . + -)"

    def current_player(self) -> tuple[str, Player] | None:
        pane = self.focused_pane()
        if pane is not None and pane.playback:
            key = self._key_of(pane)
            return key, self.players[key]
        if self.players:
            key = next(reversed(self.players))
            return key, self.players[key]
        return None

    def _control(self, fn_name: str) -> None:
        cur = self.current_player()
        if cur is None:
            return
        key, player = cur
        getattr(player, fn_name)()
        pane = self.panes[key]
        pane.playback_note = self._player_note(player)
        pane.refresh_head()

    def action_toggle_pause(self) -> None:
        self._control("toggle_pause")

    def action_step(self) -> None:
        self._control("step")

    def action_faster(self) -> None:
        self._control("faster")

    def action_slower(self) -> None:
        self._control("slower")

    def _stop_playback(self, pane: RunPane) -> None:
        key = self._key_of(pane)
        if key in self.players:
            self.players[key].stop()
            pane.playback_note = "stopped"
            pane.refresh_head()
