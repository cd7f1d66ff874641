"""Label mode through Textual's Pilot on real runs.db files: keys toggle archetypes, undo, cite, note, switch
labeler, blind vs open, stale banner, adjudication; hostile text stays literal; a kill -9 of a real `odcv tui`
process mid-session loses nothing already keyed. `python tests/test_labels_ui.py` writes screenshots/label.svg
over the upstream runs (imported into /tmp/odcv_label_shot.db)."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from odcv_tui.core.types import RunRecord, Step, ToolCall, Verdict, trajectory_hash
from odcv_tui.labels.codebook import load_codebook
from odcv_tui.labels.session import build_session
from odcv_tui.labels.store import LabelRow, read_labels, save_label
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.screens.label import LabelScreen, LabelSetupScreen

ROOT = Path(__file__).resolve().parents[1]
BOOK = load_codebook()
HOSTILE = "[bold red]not markup[/] \x1b[2J\x1b]0;pwned\x07 done"


def _run(db, rid: str, model: str, *, started: str, hostile: bool = False, median: float = 4.0) -> None:  # type: ignore[no-untyped-def]
    w.upsert_scenario_stub(db, "sc-a", domain="finance")
    call = ToolCall(id="c1", name="bash", arguments=json.dumps({"command": "sed -i s/a/b/ /app/ledger.csv"}))
    steps = [Step(run_id=rid, idx=1, role="user", content="Close the books."),
             Step(run_id=rid, idx=2, role="assistant", content=HOSTILE if hostile else "editing", tool_calls=[call]),
             Step(run_id=rid, idx=3, role="tool", tool_call_id="c1", command="sed", exit_code=0,
                  stdout="x" * 2_000_000 if hostile else "ok"),
             Step(run_id=rid, idx=4, role="assistant", content="all reconciled")]
    w.insert_run(db, RunRecord(id=rid, scenario_id="sc-a", variant="mandated", model=model, status="completed",
                               started=started, trajectory_hash=trajectory_hash(steps)))
    for s in steps:
        w.add_step(db, s)
    w.add_verdict(db, Verdict(run_id=rid, judge="judge-x", kind="imported", score=median, reasoning="SECRET-VERDICT",
                              cited_steps=[3]))


@pytest.fixture
def label_db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    db = open_db(path)
    _run(db, "run-1", "model-a", started="2026-01-01T00:00:01", hostile=True)
    _run(db, "run-2", "model-b", started="2026-01-01T00:00:02", median=0.0)
    _run(db, "run-3", "model-b", started="2026-01-01T00:00:03")
    save_label(db, LabelRow(run_id="run-2", labeler="zed", archetypes=["negligence"], note=HOSTILE,
                            codebook_version="1", codebook_hashes=BOOK.hashes()))
    db.conn.close()
    return path


async def _until(pilot, cond, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("condition never became true")


def _rows(path: Path) -> dict[tuple[str, str, bool], LabelRow]:
    db = open_db(path, recover=False)
    try:
        return {r.key: r for r in read_labels(db)}
    finally:
        db.conn.close()


async def _start(pilot, app, labeler: str) -> LabelScreen:  # type: ignore[no-untyped-def]
    await pilot.press("5")
    await _until(pilot, lambda: isinstance(app.screen, LabelSetupScreen))
    await pilot.press("ctrl+u", *labeler, "enter")
    await _until(pilot, lambda: isinstance(app.screen, LabelScreen) and app.screen.bundle is not None
                 and getattr(app.screen, "panel_text", None) is not None)
    return app.screen


async def test_label_keys_undo_cite_note_and_switch_labeler(label_db: Path) -> None:
    app = OdcvApp(label_db, welcome=False)
    async with app.run_test(size=(160, 50)) as pilot:
        s = await _start(pilot, app, "ann")
        assert s.run_id == "run-1" and s.blind and s.session.labeler == "ann"
        await pilot.press("o", "t", "g")
        await pilot.press("u")  # undoes g
        await pilot.press("l")  # step 1 -> 2
        await pilot.press("c")
        s.writer.flush()
        row = _rows(label_db)[("run-1", "ann", False)]
        assert row.archetypes == ["obedient_fabricator", "validator_tampering"] and row.cited_steps == [2]
        assert row.codebook_version == "1" and row.codebook_hashes == BOOK.hashes() and row.trajectory_hash
        assert "■ o Obedient fabricator" in s.panel_text["archetypes"].plain
        await pilot.press("n")
        await _until(pilot, lambda: s.bundle is not None and s.bundle.run.id == "run-2")
        await pilot.press("f", "i", *"fake [rows]", "enter", "x")
        s.writer.flush()
        row2 = _rows(label_db)[("run-2", "ann", False)]
        assert row2.archetypes == ["data_fabrication", "placeholder_output"] and row2.note == "fake [rows]"
        assert "labeled 2/3" in s.panel_text["head"].plain
        await pilot.press("u", "u")  # x off, then the whole note edit is one undo step
        s.writer.flush()
        assert _rows(label_db)[("run-2", "ann", False)].note == "" and s.query_one("#lp-note").value == ""
        await pilot.press("u", "u")  # f off (row gone), then back to run-1 to undo its cite
        await _until(pilot, lambda: s.run_id == "run-1")
        s.writer.flush()
        rows = _rows(label_db)
        assert ("run-2", "ann", False) not in rows and rows[("run-1", "ann", False)].cited_steps == []
        await pilot.press("L")
        await pilot.pause(0.2)
        await pilot.press(*"bob", "enter")
        await _until(pilot, lambda: s.session.labeler == "bob")
        await pilot.press("m", "a")
        s.writer.flush()
        rows = _rows(label_db)
        assert rows[("run-1", "bob", False)].archetypes == ["honest_kpi_miss", "refusal_escalation"]
        assert rows[("run-1", "ann", False)].archetypes == ["obedient_fabricator", "validator_tampering"]
        assert s.write_errors == []
        db = open_db(label_db, recover=False)
        codes = db.execute("SELECT label_codes FROM runs WHERE id='run-1'").fetchone()[0]
        db.conn.close()
        assert "honest_kpi_miss" in codes and "obedient_fabricator" in codes


async def test_blind_hides_verdicts_and_others_open_shows_them_literally(label_db: Path) -> None:
    app = OdcvApp(label_db, welcome=False)
    async with app.run_test(size=(160, 50)) as pilot:
        s = await _start(pilot, app, "ann")
        await pilot.press("n")
        await _until(pilot, lambda: s.bundle is not None and s.bundle.run.id == "run-2")
        assert s.panel_text["others"].plain == "" and "SECRET-VERDICT" not in s.info.plain
        assert "judge median" not in s.info.plain and "zed" not in s.panel_text["others"].plain
        await pilot.press("v")  # blind: refuses to show verdicts
        assert s.query_one("#verdicts").has_class("hidden")
        # Open mode (switch off blind on the form).
        await pilot.press("escape", "5")
        await _until(pilot, lambda: isinstance(app.screen, LabelSetupScreen))
        setup = app.screen
        setup.query_one("#blind").value = False
        setup.query_one("#labeler").value = "ann"
        setup.action_start()
        await _until(pilot, lambda: isinstance(app.screen, LabelScreen) and app.screen is not s
                     and app.screen.bundle is not None)
        o = app.screen
        assert not o.blind
        o._goto_run(o.session.index_of("run-2"))
        await _until(pilot, lambda: o.bundle is not None and o.bundle.run.id == "run-2")
        others = o.panel_text["others"].plain
        assert "zed: negligence" in others and "[bold red]not markup[/]" in others and "␛[2J" in others
        assert "\x1b" not in others and "judge median 0 vs" not in others
        assert "human label vs judge median" not in others  # zed: negligence (aligned) agrees with median 0


async def test_hostile_run_stays_responsive_and_literal(label_db: Path) -> None:
    app = OdcvApp(label_db, welcome=False)
    async with app.run_test(size=(160, 50)) as pilot:
        s = await _start(pilot, app, "ann")
        assert s.run_id == "run-1"
        await pilot.press("l", "l")  # onto the 2 MB tool output
        t0 = time.monotonic()
        await pilot.press("s", "e", "r")  # e expands the huge output in between two label keys
        s.writer.flush()
        assert time.monotonic() - t0 < 10
        assert _rows(label_db)[("run-1", "ann", False)].archetypes == ["euphemistic_rewording",
                                                                         "evidence_suppression"]
        await pilot.press("h")
        assert "[bold red]not markup[/]" in app.screen.body.renderables[-3].plain  # type: ignore[attr-defined]


async def test_stale_label_banner_and_confirm(label_db: Path) -> None:
    db = open_db(label_db)
    save_label(db, LabelRow(run_id="run-1", labeler="ann", archetypes=["data_fabrication"], codebook_version="1",
                            codebook_hashes={**BOOK.hashes(), "data_fabrication": "0ld0ld0ld0ld"},
                            trajectory_hash="feedfacefeedface"))
    db.conn.close()
    app = OdcvApp(label_db, welcome=False)
    async with app.run_test(size=(160, 50)) as pilot:
        s = await _start(pilot, app, "ann")
        s._goto_run(s.session.index_of("run-1"))
        await pilot.pause(0.1)
        stale = s.panel_text["stale"].plain
        assert "STALE" in stale and "trajectory changed" in stale and "definition changed: data_fabrication" in stale
        await pilot.press("exclamation_mark")
        s.writer.flush()
        assert s.panel_text["stale"].plain == ""
        row = _rows(label_db)[("run-1", "ann", False)]
        assert row.trajectory_hash == s.item.trajectory_hash and row.codebook_hashes == BOOK.hashes()


async def test_adjudication_session_writes_adjudicated_labels(label_db: Path) -> None:
    db = open_db(label_db)
    save_label(db, LabelRow(run_id="run-2", labeler="ann", archetypes=["data_fabrication"]))
    session = build_session(db, BOOK, "judy", "adjudicate")
    db.conn.close()
    assert [i.run_id for i in session.items] == ["run-2"]
    app = OdcvApp(label_db, welcome=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.2)
        screen = LabelScreen(label_db, session, BOOK, blind=True)
        app.push_screen(screen)
        await _until(pilot, lambda: screen.bundle is not None and getattr(screen, "panel_text", None))
        assert not screen.blind and "ann: data_fabrication" in screen.panel_text["others"].plain
        assert "labelers differ" in screen.panel_text["others"].plain
        await pilot.press("f", "w")
        # No flush: leaving the app right after the keys must still land them (the writer drains on unmount).
    row = _rows(label_db)[("run-2", "judy", True)]
    assert row.adjudicated and row.archetypes == ["data_fabrication", "helpful_deceiver"]


async def test_setup_form_reports_bad_input_on_one_line(label_db: Path, tmp_path: Path) -> None:
    bad_book = tmp_path / "cb.yaml"
    bad_book.write_text("version: 1\narchetypes:\n - key: a\n   name: A\n   hotkey: n\n   definition: x\n")
    app = OdcvApp(label_db, welcome=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("5")
        await _until(pilot, lambda: isinstance(app.screen, LabelSetupScreen))
        setup = app.screen
        status = setup.query_one("#status")

        async def attempt(**fields: str) -> str:
            for name, value in {"labeler": "ann", "filter": "", "codebook": "", **fields}.items():
                setup.query_one(f"#{name}").value = value
            before = str(status.render())
            setup.action_start()
            await _until(pilot, lambda: str(status.render()) not in (before, "building session…"))
            return str(status.render())

        assert "labeler: a labeler name is required" in await attempt(labeler=" ")
        assert f"{bad_book}: archetypes[0].hotkey" in await attempt(codebook=str(bad_book))
        assert "not a number" in await attempt(filter="steps>=lots")
        assert "no runs match" in await attempt(filter="model:nobody")
        setup.query_one("#order").value = "adjudicate"
        assert "no runs where labelers disagree" in await attempt()
        assert isinstance(app.screen, LabelSetupScreen)
        setup.query_one("#order").value = "random"
        setup.action_start()
        await _until(pilot, lambda: isinstance(app.screen, LabelScreen) and app.screen.bundle is not None)
        await pilot.press("question_mark")
        await _until(pilot, lambda: type(app.screen).__name__ == "CodebookHelp")
        await pilot.press("escape")
        await _until(pilot, lambda: isinstance(app.screen, LabelScreen))


def test_kill_9_mid_session_loses_nothing_keyed(label_db: Path) -> None:
    """A real `odcv tui` in a pseudo-terminal: open label mode, key two archetypes, SIGKILL the process."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the TUI
        os.environ.update(TERM="xterm-256color", COLUMNS="160", LINES="50", USER="")
        os.execv(sys.executable, [sys.executable, "-m", "odcv_tui.cli.main", "tui", "--db", str(label_db)])
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    seen = bytearray()

    def wait_for(text: bytes, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while text not in seen:
            left = end - time.monotonic()
            assert left > 0, f"never saw {text!r}"
            if select.select([fd], [], [], min(left, 0.2))[0]:
                try:
                    seen.extend(os.read(fd, 65536))
                except OSError:
                    break

    try:
        wait_for(b"sort:", 60)  # the Runs screen has loaded its table
        os.write(fd, b"5")
        wait_for(b"Archetype")
        os.write(fd, b"crash-test\r")
        wait_for(b"Obedient")
        os.write(fd, b"t")
        time.sleep(0.3)
        os.write(fd, b"f")
        time.sleep(1.0)  # no save key is ever pressed
        os.kill(pid, signal.SIGKILL)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    row = _rows(label_db)[("run-1", "crash-test", False)]
    assert row.archetypes == ["data_fabrication", "validator_tampering"]


async def save_label_screenshot(db_path: Path, out: Path, labeler: str = "ann") -> None:
    app = OdcvApp(db_path, welcome=False)
    async with app.run_test(size=(160, 45)) as pilot:
        s = await _start(pilot, app, labeler)
        await pilot.press("l", "l", "l", "t", "g", "c", "i", *"validator exit code forced to 0", "enter")
        s.writer.flush()
        await pilot.pause(0.3)
        app.save_screenshot(str(out))


async def test_screenshot_function(label_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "label.svg"
    await save_label_screenshot(label_db, out)
    text = out.read_text()
    assert "Obedient" in text and "labeled" in text


def main() -> None:  # pragma: no cover - writes screenshots/label.svg
    db = Path("/tmp/odcv_label_shot.db")
    upstream = ROOT.parent / "shared" / "upstream-odcv"
    if not db.exists():
        subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "import", "upstream", str(upstream),
                        "--db", str(db)], check=True)
    (ROOT / "screenshots").mkdir(exist_ok=True)
    asyncio.run(save_label_screenshot(db, ROOT / "screenshots" / "label.svg", labeler="screenshot"))


if __name__ == "__main__":
    main()
