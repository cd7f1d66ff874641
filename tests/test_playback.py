"""Headless playback: a stored run becomes the same event stream a live run emitted, released at an
adjustable pace with pause / step / faster / slower, on real SQLite files."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from odcv_tui.core.errors import InputError
from odcv_tui.core.events import Event, EventBus
from odcv_tui.core.types import FileChange, RunRecord, Step, ToolCall, Verdict
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from odcv_tui.ui.playback import SPEEDS, Player, load_ticks

BIG = 2 * 1024 * 1024


def make_stored_run(db_path: Path, run_id: str = "stored-1", *, commands: int = 3, model: str = "acme/m-1",
                    hostile: bool = False) -> str:
    """A finished run written with the storage API: prompts, `commands` bash steps (each an assistant
    reply + tool result), a file change on the first, task_complete, an integrity and a judge verdict.
    `hostile` puts markup, escape sequences and a 2 MB output into it."""
    db = open_db(db_path)
    w.upsert_scenario_stub(db, "sc-play")
    w.insert_run(db, RunRecord(id=run_id, scenario_id="sc-play", variant="mandated", model=model,
                               sandbox="local", status="running", started="2026-01-01T00:00:00+00:00"))
    idx = 0

    def add(**kw: object) -> int:
        nonlocal idx
        w.add_step(db, Step(run_id=run_id, idx=idx, **kw))  # type: ignore[arg-type]
        idx += 1
        return idx - 1

    add(role="system", content="system prompt")
    add(role="user", content="user prompt")
    for i in range(commands):
        cmd = f"echo step-{i}"
        content = f"thinking about command {i}"
        stdout = f"out-{i}\n"
        if hostile and i == 0:
            content = "[bold red]not markup[/bold red] \x1b[2Jcleared?"
            cmd = "printf '\\x1b[2J[blink]x[/blink]'"
            stdout = "\x1b[2J\x1b]0;evil title\x07[bold red]RED[/bold red]\n"
        if hostile and i == 1:
            stdout = ("y" * 199 + "\n") * (BIG // 200)
        call = ToolCall(id=f"c{i}", name="bash", arguments=json.dumps({"command": cmd}))
        add(role="assistant", content=content, reasoning=f"reason-{i}", tool_calls=[call], command=cmd)
        t = add(role="tool", tool_call_id=f"c{i}", command=cmd, stdout=stdout, stderr="", exit_code=0,
                duration=0.01)
        if i == 0:
            w.add_file_changes(db, [FileChange(run_id=run_id, step_idx=t, path="/app/data/x.csv",
                                               kind="modified", diff="--- a\n+++ b\n", protected=True)])
    done = ToolCall(id="end", name="task_complete", arguments=json.dumps({"reason": "all done"}))
    add(role="assistant", tool_calls=[done])
    w.update_run(db, run_id, status="completed", ended="2026-01-01T00:01:05+00:00", steps=idx)
    w.add_verdict(db, Verdict(run_id=run_id, judge="integrity", kind="integrity", score=4.0,
                              reasoning="modified protected path /app/data/x.csv", cited_steps=[3]))
    w.add_verdict(db, Verdict(run_id=run_id, judge="judge-a", kind="llm", score=3.0, reasoning="gamed it"))
    db.conn.close()
    return run_id


def test_ticks_follow_the_stored_run(db_path: Path) -> None:
    run_id = make_stored_run(db_path, commands=2)
    ticks = load_ticks(db_path, run_id)
    types = [[e.type for e in t.events] for t in ticks]
    assert types == [
        ["run_started"],
        ["model_replied"], ["command_started", "command_finished", "files_changed"],
        ["model_replied"], ["command_started", "command_finished"],
        ["model_replied"],
        ["verdict_added", "verdict_added", "run_finished"],
    ]
    assert ticks[0].events[0].run.status == "running"  # header shows it as it started
    assert ticks[-1].events[-1].run.status == "completed"
    assert ticks[2].events[1].stdout == "out-0\n" and ticks[2].events[2].changes[0].protected


def test_missing_run_is_an_input_error(db_path: Path) -> None:
    make_stored_run(db_path)
    with pytest.raises(InputError, match="run_id: no stored run 'nope'"):
        load_ticks(db_path, "nope")


class Collector:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, ev: Event) -> None:
        with self.lock:
            self.events.append(ev)

    def count(self) -> int:
        with self.lock:
            return len(self.events)

    def wait_for(self, n: int, timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while self.count() < n:
            assert time.monotonic() < end, f"only {self.count()} events, wanted {n}"
            time.sleep(0.005)


def test_paused_player_steps_one_tick_at_a_time(db_path: Path) -> None:
    run_id = make_stored_run(db_path, commands=2)
    got = Collector()
    player = Player(db_path, run_id, got, paused=True, interval=0.01)
    thread = player.start()
    got.wait_for(1)  # the header shows at once even when paused
    time.sleep(0.2)
    assert got.count() == 1 and player.position == 1
    player.step()
    got.wait_for(2)
    time.sleep(0.1)
    assert [e.type for e in got.events] == ["run_started", "model_replied"] and player.paused
    player.step()
    got.wait_for(4)  # one tick = command started + finished + files changed
    got.wait_for(5)
    time.sleep(0.1)
    assert player.position == 3 and got.count() == 5
    player.resume()
    thread.join(5)
    assert player.done and got.events[-1].type == "run_finished"


def test_pause_stops_and_speed_changes_pace(db_path: Path) -> None:
    run_id = make_stored_run(db_path, commands=20)
    got = Collector()
    player = Player(db_path, run_id, got, interval=0.05, speed=1.0)
    thread = player.start()
    got.wait_for(3)
    player.pause()
    time.sleep(0.06)  # a tick already past its lock may still land
    frozen = player.position
    time.sleep(0.3)
    assert player.position == frozen
    assert player.faster() == 2.0 and player.slower() == 1.0
    for _ in range(20):
        player.faster()
    assert player.speed == SPEEDS[-1]
    for _ in range(20):
        player.slower()
    assert player.speed == SPEEDS[0]
    player.speed = SPEEDS[-1]
    t0 = time.monotonic()
    player.resume()
    thread.join(5)
    # 40-odd ticks at 0.05 s / 64 finish far faster than at 1x (2 s).
    assert player.done and time.monotonic() - t0 < 1.0


def test_stop_ends_the_loop(db_path: Path) -> None:
    run_id = make_stored_run(db_path, commands=5)
    player = Player(db_path, run_id, Collector(), interval=10.0)
    thread = player.start()
    time.sleep(0.1)
    player.stop()
    thread.join(2)
    assert not thread.is_alive() and not player.done


def _key(ev: Event) -> tuple:
    d = ev.model_dump()
    for k in ("run", "reply", "verdict", "changes"):
        d.pop(k, None)
    if ev.type == "command_finished":
        d.pop("duration")
    return tuple(sorted(d.items()))


@pytest.mark.bwrap
def test_playback_replays_what_a_live_run_emitted(mini_scenario, db_path: Path) -> None:
    """The player's stream equals the live run's stream (same events, same order, same payloads)."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    from odcv_tui.runner import RunRequest, run_one

    bus, live = EventBus(), Collector()
    bus.subscribe(live)
    out = run_one(RunRequest(mini_scenario, "mandated", "oracle/exploit", "local"), db_path=db_path, bus=bus)
    assert out.run.status == "completed"
    played = Collector()
    Player(db_path, out.run.id, played, speed=SPEEDS[-1], interval=0.001).run()
    # Phases and retries are transient (never stored); playback does not re-announce the prompts.
    stored = [e for e in live.events if e.type not in ("run_phase", "model_retrying", "prompt_added")]
    assert [_key(e) for e in played.events] == [_key(e) for e in stored]
    assert [e.type for e in played.events][-2:] == ["verdict_added", "run_finished"]
    assert played.events[-2].verdict.score == live.events[-2].verdict.score


def test_player_module_is_headless() -> None:
    """The player must stay usable without the TUI: importing it never pulls in textual."""
    import subprocess
    import sys

    code = "import sys, odcv_tui.ui.playback; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
