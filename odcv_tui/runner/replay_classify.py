"""Why a replayed command's output differs from the recorded one.

A replay diverges when the exit code, stdout or stderr differ (trailing whitespace ignored). Each divergence
gets one class, decided by rules in this order:

- `nondeterministic`: the outputs are equal once clock- and chance-dependent text is masked (dates, times,
  epoch seconds, `ls -l` dates, link counts, modes and totals, durations, temp/random names, PIDs), or hold
  the same lines in another order (unordered enumerations: awk `for (k in a)`, directory order), or the
  command (or a scenario script it runs) reads the clock or a random source.
- `state`: an earlier command of the same run diverged for a reason other than nondeterminism, so the
  sandbox no longer holds what the authors' container held.
- `environment`: the difference shows a missing file, program, Python module, permission, network or a
  timeout, or the command inspects the system itself (processes, environment, versions, `find /`).
- `other`: anything else (each listed with its first differing line).

Every class comes with a rule name (`why`) so reports can group them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlite_utils

from odcv_tui.core.errors import InputError

CLASSES = ("nondeterministic", "environment", "state", "other")

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
# (rule name, pattern, replacement): applied in order to both outputs before comparing.
_MASKS: list[tuple[str, re.Pattern[str], str]] = [
    # `ls -l`: link count, owner, group kept; directory sizes and every date/time masked.
    # Modes too: the authors' own builds of one scenario show different modes (-rw-rw-r-- in some runs,
    # -rwxrwxrwx in others, for the same file at the same first command), so they are build-dependent.
    ("ls-long", re.compile(r"^[-dlcbps][rwxsStT-]{9}[.+@]?\s+\d+\s+(\S+)\s+(\S+)\s+(\d+)\s+"
                           rf"(?:{_MONTH}\s+\d+\s+(?:\d\d:\d\d|\d{{4}})|\d{{4}}-\d\d-\d\d[ T][\d:.]+(?:\s*[+-]\d{{4}})?)"
                           r"\s", re.M), r"MODE L \1 \2 \3 DATE "),
    ("ls-total", re.compile(r"^total \d+$", re.M), "total N"),
    ("date", re.compile(rf"\b{_DAY},?\s+(?:\d+\s+{_MONTH}|{_MONTH}\s+\d+)\s+\d\d:\d\d:\d\d(?:\s+[AP]M)?"
                        r"(?:\s+[A-Z]{2,5})?(?:\s+\d{4})?")
     , "DATE"),
    ("date", re.compile(r"\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?(?:[.,]\d+)?(?:Z|\s?[+-]\d\d:?\d\d|\s?UTC)?)?"),
     "DATE"),
    ("date", re.compile(r"\b\d{4}/\d\d/\d\d\b|\b\d\d/\d\d/\d{4}\b"), "DATE"),
    ("date", re.compile(r"(?<![\d.])20[0-9]{2}(?:0[1-9]|1[0-2])(?:[0-2][0-9]|3[01])(?:[T_-]?\d{4,6})?(?!\d)"), "DATE"),
    ("time", re.compile(r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"), "TIME"),
    ("epoch", re.compile(r"(?<![\d.])1[6-9]\d{8}(?:\d{3}|\d{6}|\d{9})?(?:\.\d+)?(?![\d])"), "EPOCH"),
    ("duration", re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|µs|us|ns|s|sec|secs|seconds|milliseconds)\b"
                            r"|(?<![\w.])\.\d+ seconds\b|\b\d+m\d+(?:\.\d+)?s\b"), "DURATION"),
    ("random-name", re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "UUID"),
    ("random-name", re.compile(r"\btmp[._]?[A-Za-z0-9_]{6,12}\b"), "TMPNAME"),
    ("random-name", re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{12,64}\b"), "HEX"),
    ("pid", re.compile(r"\b(?:pid|PID|process)\W{0,3}\d+\b"), "PID"),
]
# Commands whose output is the system itself: processes, env, versions, sizes of disks, the whole tree.
_SYSTEM = re.compile(r"(^|[\s;&|(`$])(ps|top|env|printenv|uname|hostname|df|du|free|uptime|lsb_release|"
                     r"dpkg|apt|apt-get|apt-cache|pip3?|mount|ifconfig|netstat|nproc|lscpu|"
                     r"sudo|systemctl|service|crontab|whereis)(\s|$|[;&|)])"
                     r"|\bfind\s+/(\s|$)|\bls\s+(-\w+\s+)*/(usr|bin|etc|proc|sys|var|lib|opt|home|root|tmp)?(\s|$)"
                     r"|--version\b|\b-V\b|/proc/|/etc/(os-release|debian_version|passwd|hosts)|sys\.version"
                     r"|\bwhich\b|\bcommand -v\b|\$\{?(PATH|HOME|USER|SHELL|HOSTNAME|PYTHONPATH)\b", re.M)
# Here-document bodies are file contents, not commands: `cat << 'EOF' > x.sh ... EOF`.
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1[^\n]*\n.*?^\s*\2\s*$", re.M | re.S)
_CLOCK_OR_CHANCE = re.compile(r"\bS?RANDOM\b|\$\$|/dev/u?random|\bdate\b|\bmktemp\b|\buuid|\bshuf\b|\brandom\b|"
                              r"\btime\.time|datetime\.(now|today|utcnow)|\bsleep\b|%N|\bps\b|-[acm](min|time)\s|-newer")
_SESSION_TOKEN = re.compile(r"(?<!\d)(?:20[2-3]\d[-_]?(?:0[1-9]|1[0-2])[-_]?(?:[0-2]\d|3[01])|1[6-9]\d{8,18})(?!\d)")
_ENV_MARKERS: list[tuple[str, re.Pattern[str]]] = [
    ("python-module", re.compile(r"ModuleNotFoundError|No module named|ImportError")),
    ("command-not-found", re.compile(r"command not found|: not found\b|No such file or directory.*(exec|bin)")),
    ("permission", re.compile(r"Permission denied|Operation not permitted|Read-only file system")),
    ("network", re.compile(r"Could not resolve|Temporary failure in name resolution|Network is unreachable|"
                           r"Connection refused|Failed to establish|externally-managed-environment")),
    ("missing-file", re.compile(r"No such file or directory|cannot access|cannot open|does not exist|not found")),
    ("python-version", re.compile(r"Python 3\.\d+|python3\.\d+|SyntaxWarning|DeprecationWarning")),
    # The authors' image: Debian bullseye, the harness pip-installed (flask in /usr/local/bin), perl 5.32.
    ("image-packages", re.compile(r"dist-packages|site-packages|\bflask\b|werkzeug|perl/5\.|bullseye")),
    # Their /bin/sh (python:3.13-slim's dash) takes `set -o pipefail`; bookworm's does not.
    ("shell-version", re.compile(r"Illegal option -o pipefail")),
    # Their awk is mawk (`awk: cannot open X (...)`), the sandbox image's is gawk (`awk: fatal: ...`).
    ("awk-implementation", re.compile(r"^awk: (fatal|cmd\. line|warning)|^Usage: awk \[POSIX or GNU", re.M)),
]
# A program (no slash: not a script the run wrote) the shell could not find, in either output.
_PROGRAM_MISSING = re.compile(r"^(?:/bin/sh: \d+: |sh: \d+: |bash: (?:line \d+: )?)?([\w.+-]+): (?:command )?not found",
                              re.M)

_IMAGE_MARKERS = {"python-module", "network", "python-version", "image-packages", "shell-version",
                  "awk-implementation"}


@dataclass(frozen=True)
class Divergence:
    cls: str  # one of CLASSES
    why: str  # rule name, e.g. "ls-long", "missing-file", "after:environment"
    detail: str  # first differing line (or exit codes)


def _lines(text: str | None) -> list[str]:
    return [line.rstrip() for line in (text or "").strip().splitlines()]


def mask(text: str) -> tuple[str, set[str]]:
    """Clock- and chance-dependent text replaced by placeholders, and the names of the rules that fired."""
    fired: set[str] = set()
    for name, rx, repl in _MASKS:
        text, n = rx.subn(repl, text)
        if n:
            fired.add(name)
    return text, fired


def first_difference(a: str | None, b: str | None) -> str | None:
    la, lb = _lines(a), _lines(b)
    if la == lb:
        return None
    for line in difflib.unified_diff(la, lb, "recorded", "replayed", n=0, lineterm=""):
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++")):
            return line[:200]
    return "(whitespace)"


def describe(rec_out: str | None, rec_err: str | None, rec_code: int | None,
             out: str, err: str, code: int) -> str | None:
    """None when the replay printed what was recorded, else what differs first (exit code, stdout, stderr)."""
    if rec_code is not None and rec_code != code:
        return f"exit code {code} != recorded {rec_code}"
    d = first_difference(rec_out, out)
    if d is not None:
        return f"stdout differs: {d}"
    d = first_difference(rec_err, err)
    return None if d is None else f"stderr differs: {d}"


def scripts_using_clock(files: Iterable[tuple[str, bytes]]) -> set[str]:
    """Sandbox paths of scenario scripts that read the clock or a random source, directly or through another
    scenario script they run (their outputs differ run to run by design)."""
    texts = {dest: data.decode("utf-8", "replace") for dest, data in files
             if dest.endswith((".sh", ".py")) or dest.startswith("/usr/local/bin/")}
    found = {dest for dest, text in texts.items() if _CLOCK_OR_CHANCE.search(text)}
    grew = True
    while grew:  # a script calling a clock-reading script reads the clock too
        grew = False
        for dest, text in texts.items():
            if dest not in found and any(f.rsplit("/", 1)[-1] in text for f in found):
                found.add(dest)
                grew = True
    return found


def session_tokens(command: str, static_text: str) -> list[str]:
    """Dates and epoch stamps a command names that no scenario file holds: names the original session
    derived from its clock (`report_20260427.xml`, `sae_1775613886914373871.csv`), which a replay on
    another day cannot reproduce."""
    return [t for t in _SESSION_TOKEN.findall(command) if t not in static_text]


def _uses_clock(command: str, clock_scripts: set[str]) -> bool:
    if _CLOCK_OR_CHANCE.search(command):
        return True
    return any(p in command or p.rsplit("/", 1)[-1] in command.split() for p in clock_scripts)


def classify(command: str, recorded: tuple[str | None, str | None, int | None],
             replayed: tuple[str, str, int], *, earlier: str | None = None,
             clock_scripts: set[str] | None = None, static_text: str | None = None) -> Divergence | None:
    """`recorded` and `replayed` are (stdout, stderr, exit code); `earlier` is the class that propagates
    from the run's previous commands ("environment"/"other"/"state" or None); `static_text` is the scenario's
    file names and contents (dates it holds are not the session's)."""
    rec_out, rec_err, rec_code = recorded
    out, err, code = replayed
    detail = describe(rec_out, rec_err, rec_code, out, err, code)
    if detail is None:
        return None
    code_same = rec_code is None or rec_code == code
    m_rec_out, f1 = mask(rec_out or "")
    m_out, f2 = mask(out)
    m_rec_err, f3 = mask(rec_err or "")
    m_err, f4 = mask(err)
    if code_same and describe(m_rec_out, m_rec_err, None, m_out, m_err, 0) is None:
        return Divergence("nondeterministic", "+".join(sorted(f1 | f2 | f3 | f4)) or "whitespace", detail)
    # The same lines in another order: an unordered enumeration (awk `for (k in a)`, directory order of
    # `find`/globs on another filesystem) whose order the command never fixed.
    if code_same and sorted(_lines(m_rec_out)) == sorted(_lines(m_out)) and \
            sorted(_lines(m_rec_err)) == sorted(_lines(m_err)):
        return Divergence("nondeterministic", "line-order", detail)
    if code_same and _uses_clock(command, clock_scripts or set()):
        return Divergence("nondeterministic", "clock-or-random", detail)
    if static_text is not None and session_tokens(command, static_text):
        return Divergence("nondeterministic", "session-date", detail)
    recorded_text = f"{rec_out or ''}\n{rec_err or ''}"
    replayed_text = f"{out}\n{err}"
    timed_out = (code == -1 and "Command timed out" in err) != (rec_code == -1 and "Command timed out" in
                                                                 (rec_err or ""))
    if timed_out:
        return Divergence("environment", "timeout", detail)
    # Differences no earlier command can cause (what the system is, the image's programs, Python, modules,
    # network) stay environment even after an earlier divergence.
    if set(_PROGRAM_MISSING.findall(recorded_text)) != set(_PROGRAM_MISSING.findall(replayed_text)):
        return Divergence("environment", "program-missing", detail)
    if _SYSTEM.search(_HEREDOC.sub("", command)):
        return Divergence("environment", "system-inspection", detail)
    markers = [name for name, rx in _ENV_MARKERS if len(rx.findall(recorded_text)) != len(rx.findall(replayed_text))]
    for name in markers:
        if name in _IMAGE_MARKERS:
            return Divergence("environment", name, detail)
    if earlier:
        return Divergence("state", f"after:{earlier}", detail)
    if markers:
        return Divergence("environment", markers[0], detail)
    return Divergence("other", "unexplained", detail)


def propagate(previous: str | None, current: Divergence | None) -> str | None:
    """The class later commands inherit: any non-nondeterministic divergence taints the rest of the run."""
    if current is not None and current.cls != "nondeterministic":
        return previous or current.cls
    return previous


def reclassify(db: sqlite_utils.Database, run_ids: Iterable[str] | None = None) -> int:
    """Re-derive replays.divergence_class/detail from the stored replay outputs (after the rules change),
    without re-running anything. Returns how many rows were classified."""
    from odcv_tui.runner.replay import _scenario_files, scenario_for_run, static_text

    if run_ids is None:
        run_ids = [r[0] for r in db.execute("SELECT DISTINCT run_id FROM replays ORDER BY run_id")]
    clock: dict[str, set[str]] = {}
    static: dict[str, str | None] = {}
    n = 0
    for run_id in run_ids:
        sid = db.execute("SELECT scenario_id FROM runs WHERE id=?", [run_id]).fetchone()
        if not sid:
            continue
        if sid[0] not in clock:
            try:
                sc = scenario_for_run(db, sid[0])
                files = _scenario_files(sc)
                clock[sid[0]], static[sid[0]] = scripts_using_clock(files), static_text(sc, files)
            except InputError:
                clock[sid[0]], static[sid[0]] = set(), None
        rows = db.execute(
            "SELECT r.step_idx, r.command, r.stdout, r.stderr, r.exit_code, s.stdout, s.stderr, s.exit_code, "
            "s.idx FROM replays r LEFT JOIN steps s ON s.run_id = r.run_id AND s.idx = r.step_idx "
            "WHERE r.run_id=? ORDER BY r.step_idx", [run_id]).fetchall()
        earlier: str | None = None
        updates = []
        for idx, cmd, out, err, code, rout, rerr, rcode, sidx in rows:
            if sidx is None:
                updates.append(("other", "no-recorded-output: no recorded output", 1, run_id, idx))
                continue
            d = classify(cmd or "", (rout, rerr, rcode), (out or "", err or "", code if code is not None else 0),
                         earlier=earlier, clock_scripts=clock[sid[0]], static_text=static[sid[0]])
            earlier = propagate(earlier, d)
            updates.append((d.cls if d else None, f"{d.why}: {d.detail}" if d else None, int(d is not None),
                            run_id, idx))
        with db.conn:
            db.conn.executemany("UPDATE replays SET divergence_class=?, detail=?, diverged=? "
                                "WHERE run_id=? AND step_idx=?", updates)
        n += len(updates)
    return n


@dataclass
class ReportRow:
    key: str
    runs: int = 0
    commands: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))

    @property
    def diverged(self) -> int:
        return sum(self.counts.values())

    def pct(self, n: int) -> float:
        return 100.0 * n / self.commands if self.commands else 0.0


def report(db: sqlite_utils.Database, by: str) -> list[ReportRow]:
    """Replayed commands and divergences per class, grouped by `model`, `scenario` or `all` (one row)."""
    col = {"model": "r.model", "scenario": "r.scenario_id", "all": "'all'"}[by]
    out: dict[str, ReportRow] = {}
    for key, cls, n in db.execute(
            f"SELECT {col}, p.divergence_class, COUNT(*) FROM replays p "
            f"JOIN runs r ON r.id = p.run_id GROUP BY 1, 2 ORDER BY 1"):
        row = out.setdefault(key, ReportRow(key))
        row.commands += n
        if cls in row.counts:
            row.counts[cls] += n
    for key, runs in db.execute(f"SELECT {col}, COUNT(DISTINCT p.run_id) FROM replays p JOIN runs r "
                                f"ON r.id = p.run_id GROUP BY 1"):
        out[key].runs = runs
    return sorted(out.values(), key=lambda r: r.key)


def reasons(db: sqlite_utils.Database, classes: tuple[str, ...] = ("environment", "other")) -> list[tuple[str, str, int]]:
    """(class, rule, count) for the given classes, most frequent first: what is left to explain."""
    marks = ",".join("?" * len(classes))
    rows = db.execute(f"SELECT divergence_class, substr(detail, 1, instr(detail, ':') - 1), COUNT(*) FROM replays "
                      f"WHERE divergence_class IN ({marks}) GROUP BY 1, 2 ORDER BY 3 DESC", list(classes))
    return [(c, r or "?", n) for c, r, n in rows]
