"""Parsers for the ODCV-Bench published results: `messages_record.txt` trajectories and the score tables.

A trajectory is `== Step N ==` blocks; each block starts with `role: X`, then `content: ...` (may span
lines), and for assistant turns `reason: ...` and optionally `call: [...]` (a Python-repr list of
OpenAI-style tool calls whose `arguments` is a JSON string). Tool turns hold a JSON object with
stdout/stderr/returncode (or the task_complete acknowledgement).
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import VARIANTS, Step, ToolCall

_HEADER_RE = re.compile(r"^== Step (\d+) ==$", re.M)
# The same headers after a newline: a pattern starting with a literal is searched for that literal, one with `^`
# is tried at every offset (6.6x slower on the published logs).
_NEXT_HEADER_RE = re.compile(r"\n== Step (\d+) ==$", re.M)

_ROLES = ("system", "user", "assistant", "tool")
NA_VALUES = {"", "N/A", "NA", "n/a", "nan", "NaN", "-"}


def _headers(text: str) -> Iterator[tuple[int, int, int]]:
    """(step number, start, end) of every `== Step N ==` line, in order."""
    first = _HEADER_RE.match(text)
    if first:
        yield int(first.group(1)), 0, first.end()
    for m in _NEXT_HEADER_RE.finditer(text):
        yield int(m.group(1)), m.start() + 1, m.end()


def _err(path: Path, line: int, msg: str) -> InputError:
    return InputError(str(path), f"line {line}", msg)


# The harness writes `call:` as Python's repr of its tool-call dicts, always in one shape. Matching that shape
# with one regex and decoding the three strings is ~5x cheaper than ast.literal_eval (a compile per line, 15%
# of a 100k-run import); anything else (other keys, None ids, hand edits) takes the literal_eval path. Escapes
# are limited to those repr writes, for which unicode_escape decoding is exact.
_ESC = r"\\(?:[\\'\"nrt]|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})"
_PY_STR = rf"'(?:[^'\\\n]++|{_ESC})*+'|\"(?:[^\"\\\n]++|{_ESC})*+\""
_CALL_ITEM = re.compile(rf"\{{'id': ({_PY_STR}), 'type': 'function', 'function': \{{'name': ({_PY_STR}), "
                        rf"'arguments': ({_PY_STR})\}}\}}(?:, (?=\{{)|(?=\]$))")


def _py_str(literal: str) -> str:
    body = literal[1:-1]
    if "\\" not in body:
        return body
    # Non-Latin-1 characters become \uXXXX first: unicode_escape reads its input as Latin-1 bytes.
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape")


def _calls_fast(text: str) -> list[ToolCall] | None:
    """The tool calls of a `call:` line in the harness's exact repr shape, else None."""
    if not (text.startswith("[{") and text.endswith("}]")):
        return None
    calls, pos, end = [], 1, len(text) - 1
    while pos < end:
        m = _CALL_ITEM.match(text, pos)
        if m is None:
            return None
        calls.append(ToolCall(id=_py_str(m.group(1)), name=_py_str(m.group(2)), arguments=_py_str(m.group(3))))
        pos = m.end()
    return calls


def _calls(path: Path, line: int, text: str) -> list[ToolCall]:
    fast = _calls_fast(text)
    if fast is not None:
        return fast
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        # MemoryError/RecursionError: a deeply nested literal exhausts the parser's stack.
        raise _err(path, line, f"call: not a Python list of tool calls ({type(exc).__name__})") from None
    if not isinstance(value, list):
        raise _err(path, line, "call: expected a list of tool calls")
    calls = []
    for i, c in enumerate(value):
        fn = c.get("function") if isinstance(c, dict) else None
        if not isinstance(fn, dict) or "name" not in fn:
            raise _err(path, line, f"call: tool call {i} has no function name")
        # Arguments stay the raw JSON text: a model's malformed JSON is evidence, not an import error.
        calls.append(ToolCall(id=str(c.get("id") or ""), name=str(fn["name"]),
                              arguments=_arguments(path, line, i, fn.get("arguments"))))
    return calls


def _arguments(path: Path, line: int, i: int, args: object) -> str:
    """The JSON text of a call's arguments: a string as written, a dict/list as JSON; a set, tuple or number
    is no tool-call shape the harness writes, so it is an error naming the line, not a traceback."""
    if isinstance(args, str):
        return args
    if args is None or isinstance(args, dict | list):
        try:
            return json.dumps(args or {})
        except (TypeError, ValueError, RecursionError) as exc:
            raise _err(path, line, f"call: tool call {i}: arguments are not JSON data ({exc})") from None
    raise _err(path, line, f"call: tool call {i}: arguments must be a JSON string or object, got "
                           f"{type(args).__name__}")


@dataclass
class _Block:
    number: int
    line: int  # 1-based line of the `== Step N ==` header
    lines: list[str] = field(default_factory=list)


def _blocks(path: Path, text: str) -> list[_Block]:
    blocks: list[_Block] = []
    # Only header lines are visited (a per-line loop was 8% of an import); a header counts only when it is the
    # next number: a model may print "== Step 3 ==" itself, which then stays part of the step's text.
    starts: list[tuple[int, int, int]] = []  # (line number, offset of the header, offset after it)
    line, pos = 1, 0
    for number, start, end in _headers(text):
        if number != len(starts) + 1:
            continue
        line += text.count("\n", pos, start)
        pos = start
        starts.append((line, start, end))
    head = text[: starts[0][1]] if starts else text
    if head.strip():
        bad = next(i for i, ln in enumerate(head.split("\n"), start=1) if ln.strip())
        raise _err(path, bad, "expected '== Step 1 ==' before any content")
    for n, (ln, _, end) in enumerate(starts):
        stop = starts[n + 1][1] - 1 if n + 1 < len(starts) else len(text)  # -1: the newline before the next header
        body = text[end + 1: stop] if end < len(text) else ""
        blocks.append(_Block(n + 1, ln, body.split("\n") if end < stop else []))
    return blocks


def _fields(path: Path, b: _Block) -> tuple[str, dict[str, str]]:
    lines = b.lines
    while lines and lines[-1] == "":
        lines = lines[:-1]
    if not lines or not lines[0].startswith("role: "):
        raise _err(path, b.line + 1, f"step {b.number}: expected 'role: ...'")
    role = lines[0][6:].strip()
    if role not in _ROLES:
        raise _err(path, b.line + 1, f"step {b.number}: unknown role {role!r}")
    if len(lines) < 2 or not (lines[1].startswith("content: ") or lines[1] == "content:"):
        raise _err(path, b.line + 2, f"step {b.number}: expected 'content: ...'")
    body = lines[1:]
    cut = {"call": len(body), "reason": len(body)}
    if role == "assistant":
        # Fields come in the harness's fixed order; the LAST `call:`/`reason:` lines are the fields,
        # so message text that happens to start with "reason:" stays part of the message.
        cut["call"] = next((i for i in range(len(body) - 1, 0, -1) if body[i].startswith("call: ")), len(body))
        cut["reason"] = next((i for i in range(cut["call"] - 1, 0, -1)
                              if body[i] == "reason:" or body[i].startswith("reason: ")), cut["call"])
    out: dict[str, str] = {"content": "\n".join(body[: cut["reason"]])[len("content:"):].removeprefix(" ")}
    if cut["reason"] < cut["call"]:
        out["reason"] = "\n".join(body[cut["reason"]: cut["call"]])[len("reason:"):].removeprefix(" ")
    if cut["call"] < len(body):
        out["call"] = "\n".join(body[cut["call"]:])[len("call: "):]
        out["call@line"] = str(b.line + 2 + cut["call"])
    return role, out


def _tool_fields(raw: str) -> dict[str, object]:
    try:
        d = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    if not isinstance(d, dict):
        return {}
    out: dict[str, object] = {}
    if "stdout" in d or "returncode" in d:
        out = {"stdout": d.get("stdout"), "stderr": d.get("stderr"),
               "exit_code": d["returncode"] if isinstance(d.get("returncode"), int) else None}
    elif "error" in d:
        out = {"stderr": str(d["error"])}
    return out


def parse_messages(path: Path, run_id: str) -> list[Step]:
    """All steps of one `messages_record.txt`; raises InputError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(str(path), None, f"cannot read ({exc.strerror})") from None
    steps: list[Step] = []
    pending: list[ToolCall] = []  # calls of the last assistant turn not yet answered, in order
    users = 0
    for b in _blocks(path, text):
        role, f = _fields(path, b)
        content = f.get("content")
        if role == "assistant":
            calls = _calls(path, int(f["call@line"]), f["call"]) if "call" in f else []
            first_bash = next((c.parsed_args() or {} for c in calls if c.name == "bash"), {})
            cmd = first_bash.get("command")
            bad = [c.name for c in calls if c.parsed_args() is None]
            # Upstream writes Python's repr of a missing message body: "None" is absence, not text.
            steps.append(Step(run_id=run_id, idx=b.number, role="assistant",
                              content=None if content in (None, "", "None") else content,
                              reasoning=f.get("reason") or None, tool_calls=calls,
                              command=cmd if isinstance(cmd, str) else None,
                              note="malformed_args" if bad else None))
            pending = list(calls)
        elif role == "tool":
            call = pending.pop(0) if pending else None
            args = (call.parsed_args() or {}) if call else {}
            cmd = args.get("command") if call and call.name == "bash" else None
            steps.append(Step(run_id=run_id, idx=b.number, role="tool", content=content,
                              tool_call_id=call.id if call else None,
                              command=cmd if isinstance(cmd, str) else None,
                              **_tool_fields(content or "")))  # type: ignore[arg-type]
        else:
            users += role == "user"
            # The harness's later user turns are its fixed nudge after a reply without a tool call.
            note = "nudge" if role == "user" and users > 1 else None
            steps.append(Step(run_id=run_id, idx=b.number, role=role, content=content, note=note))  # type: ignore[arg-type]
    return steps


# ---- score tables -------------------------------------------------------------------------------


def split_column(col: str) -> tuple[str, str] | None:
    """`grok-4.20-incentivized` -> (`grok-4.20`, `incentivized`); None for row_* and other extras."""
    model, _, variant = col.strip().rpartition("-")
    if not model or variant not in VARIANTS or col.startswith("row_"):
        return None
    return model, variant


@dataclass
class Cell:
    scenario: str
    model: str
    variant: str
    value: str
    line: int


def read_table(path: Path) -> list[Cell]:
    """Cells of a scenario x `<model>-<variant>` CSV, footer rows (`col_*`) and `row_*` columns dropped."""
    try:
        fh = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(str(path), None, f"cannot read ({exc.strerror})") from None
    with fh:
        # strict: an unterminated quote is an error, not one giant cell swallowing the rest of the file.
        reader = csv.reader(fh, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(str(path), "line 1", "empty file; expected a header 'scenario,<model>-<variant>,...'") from None
        except csv.Error as exc:
            raise _err(path, 1, f"bad CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise _err(path, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if not header or header[0].strip().lower() != "scenario":
            raise _err(path, 1, "expected the first column to be 'scenario'")
        cols = [(i, split_column(c)) for i, c in enumerate(header) if i > 0]
        if not any(mv for _, mv in cols):
            raise _err(path, 1, "no '<model>-<mandated|incentivized>' columns")
        cells: list[Cell] = []
        try:
            for row in reader:
                line = reader.line_num
                if not row or not row[0].strip() or row[0].startswith("col_"):
                    continue
                if len(row) > len(header):
                    raise _err(path, line, f"{len(row)} cells but the header has {len(header)}")
                for i, mv in cols:
                    if mv and i < len(row):
                        cells.append(Cell(row[0].strip(), mv[0], mv[1], row[i], line))
        except csv.Error as exc:
            raise _err(path, reader.line_num, f"bad CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise _err(path, reader.line_num + 1, f"not UTF-8 text ({exc.reason})") from None
    return cells


def shorter_than_stored(stored_steps: dict[str, int], run_id: str, parsed_steps: int) -> str | None:
    """Why a parsed run must not replace the stored one: a re-import whose messages_record.txt has fewer steps
    than runs.db holds (a truncated or missing file) would silently throw the complete trajectory away."""
    have = stored_steps.get(run_id, 0)
    if parsed_steps < have:
        return (f"{run_id}: the log has {parsed_steps} steps but runs.db holds {have}; kept the stored run "
                "(truncated or missing messages_record.txt?)")
    return None


def parse_score(path: Path, cell: Cell) -> float | None:
    """None for N/A; a score in [0, 5] otherwise; anything else is a one-line error."""
    v = cell.value.strip()
    if v in NA_VALUES:
        return None
    try:
        score = float(v)
    except ValueError:
        raise _err(path, cell.line, f"{cell.model}-{cell.variant}: not a score: {v[:40]!r}") from None
    if not 0.0 <= score <= 5.0:
        raise _err(path, cell.line, f"{cell.model}-{cell.variant}: score {score} outside 0..5")
    return score
