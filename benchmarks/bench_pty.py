"""Explorer latency in a real pseudo-terminal, no test harness: `odcv tui --db X` runs as a child process on a pty;
keys are written to it as a terminal would send them and its output stream is read and timestamped.

For each key: key -> first byte (the app reacted) and key -> frame done (the last byte before the output stays
quiet for --quiet ms; the quiet time itself is not counted). The pty answers Textual's query for synchronized
output (DECRQM 2026), so each frame ends with ESC[?2026l as in a modern terminal; the script reports whether it saw
those markers. Actions: step (l then h in a trajectory, within its first 10 steps), scroll (down arrow in Runs), filter (enter in the filter box),
search (enter in the step search), compare (c in a trajectory, the screen drawn).

    python benchmarks/bench_pty.py                        # the 950-run corpus (imported into a temp DB)
    python benchmarks/bench_pty.py --db big.db            # any runs.db, e.g. bench_tui.py's 100k runs / 2M steps
    python benchmarks/bench_pty.py --synthetic 100000     # build that DB (minutes) with bench_tui.build
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

DEFAULT_SRC = Path(__file__).resolve().parents[2] / "shared" / "upstream-odcv"
ANSI = re.compile(rb"\x1b\[[0-9;?$<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>]")
DOWN, ENTER, ESC = b"\x1b[B", b"\r", b"\x1b"


class Pty:
    """A child process on a pseudo-terminal of a fixed size, its output timestamped as it arrives."""

    def __init__(self, argv: list[str], cols: int, rows: int) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "COLUMNS": str(cols),
               "LINES": str(rows), "TEXTUAL_ANIMATIONS": "none"}
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.chunks: list[tuple[float, bytes]] = []
        self.sync_frames = 0
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        tail = b""
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:
                return
            if not data:
                return
            t = time.perf_counter()
            with self.lock:
                self.chunks.append((t, data))
            seen = tail + data
            if b"\x1b[?2026$p" in seen:  # "do you support synchronized output?" -> yes, currently off
                os.write(self.master, b"\x1b[?2026;2$y")
            self.sync_frames += seen.count(b"\x1b[?2026l")
            tail = data[-16:]

    def text(self, since: int = 0) -> str:
        with self.lock:
            raw = b"".join(c for _, c in self.chunks[since:])
        return ANSI.sub(b"", raw).decode("utf-8", "replace")

    def settle(self, quiet: float, timeout: float = 60.0, since: int = 0, want: str | None = None) -> None:
        """Wait until the output has been quiet for `quiet` s (and, with `want`, contains that text)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                last = self.chunks[-1][0] if len(self.chunks) > since else None
            if last is not None and time.perf_counter() - last >= quiet and (want is None or want in self.text(since)):
                return
            time.sleep(quiet / 5)
        raise TimeoutError(f"no quiet output{f' containing {want!r}' if want else ''}; got {self.text(since)[-300:]!r}")

    def press(self, key: bytes, quiet: float, timeout: float = 30.0) -> tuple[float, float] | None:
        """(key -> first byte, key -> last byte before `quiet` s of silence), or None if the app printed nothing."""
        with self.lock:
            n0 = len(self.chunks)
        t0 = time.perf_counter()
        os.write(self.master, key)
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            time.sleep(quiet / 5)
            with self.lock:
                if len(self.chunks) > n0 and time.perf_counter() - self.chunks[-1][0] >= quiet:
                    return self.chunks[n0][0] - t0, self.chunks[-1][0] - t0
        with self.lock:
            if len(self.chunks) > n0:
                return self.chunks[n0][0] - t0, self.chunks[-1][0] - t0
        return None

    def cpu(self) -> float:
        """CPU seconds the app has used (all its threads): per key, a figure other tenants of the box barely move."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def type(self, text: str, quiet: float) -> None:
        for ch in text:
            self.press(ch.encode(), quiet)

    def close(self) -> None:
        try:
            os.write(self.master, b"\x11")  # ctrl+q
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        os.close(self.master)


def measure(db: Path, repeat: int, quiet: float, cols: int, rows: int, search: str,
            flt: str) -> tuple[dict[str, list[tuple[float, float]]], dict[str, float]]:
    out: dict[str, list[tuple[float, float]]] = {}
    cpu: dict[str, float] = {}
    t0 = time.perf_counter()
    term = Pty([sys.executable, "-m", "odcv_tui.cli.main", "tui", "--db", str(db)], cols, rows)
    try:
        term.settle(quiet * 3, want="runs")
        out["start -> Runs drawn"] = [(0.0, term.chunks[-1][0] - t0)]

        def add(name: str, r: tuple[float, float] | None) -> None:
            if r is not None:
                out.setdefault(name, []).append(r)

        c = term.cpu()
        for _ in range(repeat):
            add("scroll (down in Runs)", term.press(DOWN, quiet))
        cpu["scroll (down in Runs)"] = (term.cpu() - c) / repeat
        term.press(b"/", quiet)
        term.type(flt, quiet)
        add(f"filter (enter: {flt})", term.press(ENTER, quiet))
        term.press(ESC, quiet)  # leave the box
        term.press(ESC, quiet)  # clear the filter
        term.settle(quiet)
        term.press(b"s", quiet)
        term.type(search, quiet)
        add(f"search (enter: {search})", term.press(ENTER, quiet))
        term.press(ESC, quiet)
        term.press(ESC, quiet)
        term.settle(quiet)
        mark = len(term.chunks)
        add("open trajectory (enter)", term.press(ENTER, quiet))
        term.settle(quiet, since=mark, want="step")
        c = term.cpu()
        for i in range(repeat):  # l x10, h x10, ...: stays within the first steps of the run
            add("step (l / h)", term.press(b"l" if (i // 10) % 2 == 0 else b"h", quiet))
        cpu["step (l / h)"] = (term.cpu() - c) / repeat
        for _ in range(min(repeat, 5)):
            add("compare (c, drawn)", term.press(b"c", quiet))
            term.press(ESC, quiet)
            term.settle(quiet)
    finally:
        term.close()
    print(f"  synchronized-output frames seen: {term.sync_frames}")
    return out, cpu


def corpus_db(tmp: Path, src: Path) -> Path:
    from odcv_tui.importers.upstream import import_upstream
    from odcv_tui.storage import open_db

    path = tmp / "corpus.db"
    db = open_db(path)
    import_upstream(db, src, integrity=True, workers=os.cpu_count() or 1)
    db.conn.close()
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None, help="an existing runs.db (default: import --src into a temp DB)")
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--synthetic", type=int, default=0, help="build bench_tui.py's synthetic DB with this many runs")
    ap.add_argument("--repeat", type=int, default=30, help="key presses per action")
    ap.add_argument("--quiet", type=float, default=0.12, help="seconds of silence that end a frame")
    ap.add_argument("--size", default="160x45")
    ap.add_argument("--search", default="validator")
    ap.add_argument("--filter", default="model:gpt")
    args = ap.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None and args.synthetic:
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_tui import build

            db = Path(tmp) / "big.db"
            build(db, args.synthetic, 20)
        if db is None:
            if not (args.src / "agent_logs").is_dir():
                sys.exit(f"bench_pty: {args.src}: no agent_logs/ (pass --src or --db)")
            db = corpus_db(Path(tmp), args.src)
        print(f"db {db} ({db.stat().st_size / 1e6:.0f} MB), {args.size} pty, quiet {args.quiet * 1000:.0f} ms, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        res, cpu = measure(db, args.repeat, args.quiet, cols, rows, args.search, args.filter)
    print(f"{'action':34s} {'key->first byte':>18s} {'key->frame done':>18s}   n   (medians; min of frame done; "
          "app CPU per key)")
    for name, xs in res.items():
        first = statistics.median(x[0] for x in xs) * 1000
        done = statistics.median(x[1] for x in xs) * 1000
        extra = f"; CPU {cpu[name] * 1000:.1f} ms/key" if name in cpu else ""
        print(f"{name:34s} {first:15.1f} ms {done:15.1f} ms {len(xs):4d}   min {min(x[1] for x in xs) * 1000:.1f} ms"
              f"{extra}")


if __name__ == "__main__":
    main()
