"""`odcv serve` in a real headless Chromium (Debian's, driven by Playwright; no browser download): the page loads,
the Runs table arrives over the websocket and is drawn, Enter opens a trajectory, and the served explorer is
read-only (Live refuses). Also the bind address and the missing-DB error.

`ODCV_SCREENSHOTS=1` (or `python -m tests.test_serve_browser`) writes screenshots/serve.png; otherwise the
screenshot goes to the test's tmp dir.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from odcv_tui.importers.upstream import import_upstream
from odcv_tui.storage import open_db
from tests.conftest import FIXTURES, ROOT

CURRENT = FIXTURES / "upstream_results" / "repo" / "existing_results" / "current"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ANSI = re.compile(r"\x1b\[[0-9;?$]*[A-Za-z]|\x1b\][^\x07]*\x07")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (dev extra)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    db = tmp_path / "runs.db"
    d = open_db(db)
    import_upstream(d, CURRENT, integrity=True)
    d.conn.close()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "odcv_tui.cli.main", "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                assert r.status == 200
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                proc.kill()
                pytest.fail(f"odcv serve did not come up: {out[-2000:]}")
            time.sleep(0.2)
    yield url, proc
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


class Screen:
    """What the served explorer sent to the page: the websocket frames, escapes stripped."""

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.page: Any = None

    def on_frame(self, frame: str | bytes) -> None:
        self.raw.append(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))

    def text(self, since: int = 0) -> str:
        return ANSI.sub("", "".join(self.raw[since:]))

    def wait_for(self, pattern: str, since: int = 0, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text(since)):
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never arrived; last output: {self.text(since)[-600:]!r}")
            self.page.wait_for_timeout(100)  # Playwright's sync API delivers events only while it is called


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/install_test_deps.sh)")
def test_served_explorer_in_headless_chromium(served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    url, _ = served
    shot = ROOT / "screenshots" / "serve.png" if os.environ.get("ODCV_SCREENSHOTS") else tmp_path / "serve.png"
    screen = Screen()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = screen.page = browser.new_page(viewport={"width": 1400, "height": 900})
            # The page asks Google for a web font; this box (and CI) is offline, so only the local server answers.
            page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), lambda route: route.abort())
            page.on("websocket", lambda ws: ws.on("framereceived", screen.on_frame))
            page.goto(url, wait_until="domcontentloaded")
            # The Runs table: its count line and rows from the imported fixture.
            screen.wait_for(r"7 runs")
            screen.wait_for(r"gpt-5\.5.*Scen-A")
            assert page.locator("canvas, .xterm-screen").count() > 0  # drawn by xterm.js in the page
            page.locator(".xterm-screen, canvas").first.click()
            # Read-only by default: the Live key refuses and says how to allow it.
            mark = len(screen.raw)
            page.keyboard.press("3")
            screen.wait_for(r"read-only explorer", since=mark)
            # Enter opens the selected run's trajectory (its steps and verdicts).
            mark = len(screen.raw)
            page.keyboard.press("Escape")
            page.keyboard.press("Enter")
            screen.wait_for(r"step 1", since=mark)
            screen.wait_for(r"integrity", since=mark)
            page.wait_for_timeout(1000)  # let xterm.js paint the last frame before the screenshot
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


def test_binds_loopback_and_refuses_a_missing_db(served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    url, proc = served
    port = int(url.rsplit(":", 1)[1].strip("/"))
    # Bound to 127.0.0.1 only: the machine's other addresses do not answer.
    listening = [ln.split()[1].split(":")[0] for ln in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if ln.split()[3] == "0A" and int(ln.split()[1].split(":")[1], 16) == port]
    assert listening == ["0100007F"], listening  # LISTEN on 127.0.0.1 (little-endian hex) and nothing else
    r = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "serve", "--db", str(tmp_path / "nope.db"),
                        "--port", str(_free_port())], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "nope.db" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert proc.poll() is None  # the server is still up


if __name__ == "__main__":  # pragma: no cover - regenerates screenshots/serve.png
    os.environ["ODCV_SCREENSHOTS"] = "1"
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", __file__ + "::test_served_explorer_in_headless_chromium"]))
