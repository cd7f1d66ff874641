"""`odcv import inspect FILE.eval...`: Inspect AI logs -> runs, steps, verdicts.

A `.eval` log is a zip: `header.json` (the eval spec: task, model, run id) and one
`samples/<id>_epoch_<n>.json` per sample (messages, scores, metadata, usage). Recent Inspect versions
compress entries with zstd (zip method 93), which the stdlib zipfile cannot open, so those entries are
read raw and decompressed with `zstandard`. The older single-JSON log (`.json`) is accepted too.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import sqlite_utils
import zstandard
from pydantic import ValidationError

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import VARIANTS, RunRecord, Step, ToolCall, Verdict
from odcv_tui.importers.common import ImportSummary, ParsedRun, add_integrity, scenario_id_for
from odcv_tui.importers.writer import write_runs
from odcv_tui.storage.writes import now_iso

ZIP_ZSTANDARD = 93
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_SAMPLE = re.compile(r"^samples/.+\.json$")


# A .eval is untrusted input: 1 MB of deflate can claim (and hold) 1 GiB. What one log may decompress to, in
# total and per entry, is capped before anything is inflated; $ODCV_IMPORT_MAX_MB raises it for huge real logs.
MAX_LOG_BYTES = int(os.environ.get("ODCV_IMPORT_MAX_MB", "512")) << 20


class _Budget:
    """Decompressed bytes still allowed for one log."""

    def __init__(self, path: Path) -> None:
        self.path, self.left = path, MAX_LOG_BYTES

    def take(self, entry: str, size: int) -> None:
        if size > self.left:
            raise InputError(str(self.path), entry, f"decompresses to more than {MAX_LOG_BYTES >> 20} MiB "
                                                    "(a zip bomb? set ODCV_IMPORT_MAX_MB to allow more)")
        self.left -= size


def _read_entry(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget | None = None) -> bytes:
    (budget or _Budget(path)).take(info.filename, info.file_size)
    if info.compress_type != ZIP_ZSTANDARD:
        try:
            # zipfile never inflates past the declared file_size, which the budget has already accepted.
            with zf.open(info) as fh:
                return fh.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
            raise InputError(str(path), info.filename, f"corrupt or unsupported zip entry ({exc})") from None
    with path.open("rb") as fh:
        fh.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
        if fields[0] != 0x04034B50:
            raise InputError(str(path), info.filename, "bad zip local header")
        fh.seek(fields[9] + fields[10], 1)  # skip name and extra field
        raw = fh.read(info.compress_size)
    try:
        # Streamed frames may not record their size; the zip's uncompressed size bounds the output.
        return zstandard.ZstdDecompressor().decompress(raw, max_output_size=max(info.file_size, 1))
    except zstandard.ZstdError as exc:
        raise InputError(str(path), info.filename, f"corrupt zstd data ({exc})") from None


def _json(path: Path, entry: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f"{entry} line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else entry
        raise InputError(str(path), where, f"invalid JSON ({exc.msg if hasattr(exc, 'msg') else exc})") from None


def read_log(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, samples) of a .eval zip or a legacy .json log."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InputError(str(path), None, f"cannot read ({exc.strerror})") from None
    if head[:1] == b"{":
        _Budget(path).take("log", path.stat().st_size)
        log = _json(path, "log", path.read_bytes())
        if not isinstance(log, dict) or "eval" not in log:
            raise InputError(str(path), "eval", "missing: not an Inspect log")
        return log, list(log.get("samples") or [])
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise InputError(str(path), None, "not an Inspect .eval log (expected a zip archive)") from None
    budget = _Budget(path)
    with zf:
        names = {i.filename: i for i in zf.infolist()}
        if "header.json" in names:
            header = _json(path, "header.json", _read_entry(path, zf, names["header.json"], budget))
        elif "_journal/start.json" in names:  # a log still being written has only its journal
            header = _json(path, "_journal/start.json", _read_entry(path, zf, names["_journal/start.json"], budget))
        else:
            raise InputError(str(path), "header.json", "missing: not an Inspect .eval log")
        samples = [_json(path, n, _read_entry(path, zf, i, budget)) for n, i in sorted(names.items())
                   if _SAMPLE.match(n)]
    if not isinstance(header, dict) or not isinstance(header.get("eval"), dict):
        raise InputError(str(path), "header.json", "no 'eval' object")
    return header, samples


def _text(content: Any) -> tuple[str | None, str | None]:
    """(text, reasoning) of a message content: a string or a list of typed content blocks."""
    if content is None or isinstance(content, str):
        return content, None
    texts, reasoning = [], []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "reasoning":
            reasoning.append(str(block.get("reasoning") or block.get("summary") or ""))
        else:
            texts.append(f"[{kind}]")
    return ("\n".join(texts) or None), ("\n".join(reasoning) or None)


def _command(call: ToolCall) -> str | None:
    args = call.parsed_args() or {}
    cmd = args.get("command", args.get("cmd"))  # ours say `command`; Inspect's bash tool says `cmd`
    return cmd if isinstance(cmd, str) else None


def _steps(run_id: str, messages: list[Any]) -> list[Step]:
    steps: list[Step] = []
    calls: dict[str, ToolCall] = {}
    for i, m in enumerate(messages, start=1):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool"):
            continue
        text, reasoning = _text(m.get("content"))
        if m["role"] == "assistant":
            tcs = []
            for c in m.get("tool_calls") or []:
                args = c.get("arguments")
                tc = ToolCall(id=str(c.get("id") or ""), name=str(c.get("function") or "?"),
                              arguments=args if isinstance(args, str) else json.dumps(args or {}))
                calls[tc.id] = tc
                tcs.append(tc)
            bash = next((c for c in tcs if _command(c)), None)
            steps.append(Step(run_id=run_id, idx=i, role="assistant", content=text, reasoning=reasoning,
                              tool_calls=tcs, command=_command(bash) if bash else None))
        elif m["role"] == "tool":
            call = calls.get(str(m.get("tool_call_id") or ""))
            err = m.get("error") if isinstance(m.get("error"), dict) else None
            steps.append(Step(run_id=run_id, idx=i, role="tool", content=text, tool_call_id=m.get("tool_call_id"),
                              command=_command(call) if call else None, stdout=text,
                              stderr=str(err.get("message", "")) if err else None,
                              note=f"error:{err.get('type')}" if err else None))
        else:
            steps.append(Step(run_id=run_id, idx=i, role=m["role"], content=text, reasoning=reasoning))
    return steps


def _verdicts(run_id: str, scores: dict[str, Any]) -> list[Verdict]:
    out = []
    for scorer, sc in sorted((scores or {}).items()):
        if not isinstance(sc, dict):
            continue
        value = sc.get("value")
        items = value.items() if isinstance(value, dict) else [("", value)]
        for key, val in items:
            judge = f"{scorer}.{key}" if key else scorer
            numeric = isinstance(val, int | float) and not isinstance(val, bool) and 0 <= val <= 5
            # Values off the 0-5 rubric (C/I, 0-100...) are kept for reading but never counted.
            out.append(Verdict(run_id=run_id, judge=judge, kind="imported", score=float(val) if numeric else None,
                               reasoning=str(sc.get("explanation") or ""), rubric_version="inspect",
                               error=None if numeric else f"value {val!r} is not on the 0-5 rubric"))
    return out


def parse_log(path: Path, summary: ImportSummary) -> list[ParsedRun]:
    header, samples = read_log(path)
    ev = header["eval"]
    model = str(ev.get("model") or "unknown")
    task = str(ev.get("task") or path.stem)
    log_id = scenario_id_for(str(ev.get("run_id") or ev.get("task_id") or path.stem))
    runs = []
    for s in samples:
        if not isinstance(s, dict) or "id" not in s:
            raise InputError(str(path), "samples", "a sample without an id")
        try:
            runs.append(_sample_run(path, summary, s, model, task, log_id, ev))
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            # A field of the wrong type (tool_calls as a string, usage as a list...): one line naming the sample.
            raise InputError(str(path), f"sample {str(s['id'])[:60]}", f"unexpected field type ({_first(exc)})") from None
    if not samples:
        summary.warnings.append(f"{path.name}: no samples in the log")
    return runs


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _sample_run(path: Path, summary: ImportSummary, s: dict[str, Any], model: str, task: str, log_id: str,
                ev: dict[str, Any]) -> ParsedRun:
    meta = s.get("metadata") if isinstance(s.get("metadata"), dict) else {}
    variant = meta.get("variant")
    if variant not in VARIANTS:
        summary.warnings.append(f"{path.name}: sample {s['id']}: no metadata.variant; recorded as mandated")
        variant = "mandated"
    scenario = scenario_id_for(str(meta.get("scenario_id") or meta.get("scenario") or f"{task}-{s['id']}"))
    epoch = s.get("epoch", 1)
    run_id = f"in-{log_id}-{scenario_id_for(str(s['id']))}-e{epoch}"
    usage = s.get("model_usage") if isinstance(s.get("model_usage"), dict) else {}
    tokens = sum(int(u.get("total_tokens") or 0) for u in usage.values() if isinstance(u, dict))
    err = s.get("error")
    run = RunRecord(id=run_id, scenario_id=scenario, variant=variant, model=model, sandbox="inspect",
                    status="error" if err else "completed", source="inspect", source_set=task,
                    started=str(ev.get("created") or ""), tokens=tokens,
                    error=str(err.get("message") if isinstance(err, dict) else err)[:2000] if err else None)
    msgs = s.get("messages") if isinstance(s.get("messages"), list) else []
    return ParsedRun(run, _steps(run_id, msgs), _verdicts(run_id, s.get("scores") or {}))


def import_inspect(db: sqlite_utils.Database, paths: list[Path], *, integrity: bool = False) -> ImportSummary:
    """Import Inspect logs; every file is parsed before anything is written, all in one transaction
    (idempotent re-import). With `integrity`, integrity verdicts are judged in memory and written too."""
    summary = ImportSummary(source=", ".join(str(p) for p in paths))
    parsed = [r for p in paths for r in parse_log(Path(p), summary)]
    if integrity:
        add_integrity(db, parsed)
    created = now_iso()
    write_runs(db, [p.rows(created) for p in parsed], summary, source="inspect")
    return summary
