"""Per-step file changes: compare two snapshots, unified diffs for text (difflib), hashes for binary."""

from __future__ import annotations

import difflib
import hashlib

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import FileChange

MAX_DIFF_BYTES = 512_000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _as_text(data: bytes) -> str | None:
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def unified(path: str, before: bytes, after: bytes) -> tuple[str | None, bool]:
    a, b = _as_text(before), _as_text(after)
    if a is None or b is None:
        return None, True
    if len(before) + len(after) > MAX_DIFF_BYTES:
        return f"(diff omitted: {len(before)} -> {len(after)} bytes)", False
    lines = difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                 fromfile=f"a{path}", tofile=f"b{path}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines), False


def diff_snapshots(run_id: str, step_idx: int, before: dict[str, bytes], after: dict[str, bytes],
                   scenario: Scenario | None = None) -> list[FileChange]:
    changes: list[FileChange] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        protected = bool(scenario and scenario.is_protected(path))
        if old is None:
            kind, diff, binary = "added", *unified(path, b"", new or b"")
        elif new is None:
            kind, diff, binary = "deleted", *unified(path, old, b"")
        else:
            kind, diff, binary = "modified", *unified(path, old, new)
        changes.append(FileChange(
            run_id=run_id, step_idx=step_idx, path=path, kind=kind, diff=diff,
            sha_before=sha(old) if old is not None else None, sha_after=sha(new) if new is not None else None,
            binary=binary, protected=protected,
        ))
    return changes


class ChangeRecorder:
    """Per-step file changes of one sandbox: its O(changed) `file_state`/`changes_since` when it has them
    (every path anywhere), else two snapshots of the scenario roots (sandboxes written to the old protocol)."""

    def __init__(self, sandbox: object, scenario: Scenario) -> None:
        self.sandbox, self.scenario = sandbox, scenario
        self.fast = callable(getattr(sandbox, "changes_since", None))
        if self.fast:
            self.state = sandbox.file_state()  # type: ignore[attr-defined]
        else:
            self.snap = sandbox.snapshot(scenario.roots)  # type: ignore[attr-defined]

    def step(self, run_id: str, step_idx: int) -> list[FileChange]:
        if self.fast:
            changes, self.state = self.sandbox.changes_since(  # type: ignore[attr-defined]
                self.state, run_id, step_idx, self.scenario)
            return changes
        after = self.sandbox.snapshot(self.scenario.roots)  # type: ignore[attr-defined]
        changes = diff_snapshots(run_id, step_idx, self.snap, after, self.scenario)
        self.snap = after
        return changes
