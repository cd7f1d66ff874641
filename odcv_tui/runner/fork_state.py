"""Rebuild a parent run's sandbox state at the fork step and prove it: re-execute its recorded bash
commands the way the replay does (its own functions: same shell, same divergence classes), and for runs
with recorded file changes check that every changed path hashes to its recorded sha_after."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from odcv_tui.core.errors import OdcvError
from odcv_tui.core.protocols import Sandbox
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import FileChange, RunRecord, Step
from odcv_tui.runner.replay import _bash_calls, _scenario_files, _takes_shell, run_like_upstream
from odcv_tui.runner.replay_classify import classify, propagate, scripts_using_clock
from odcv_tui.sandbox.filediff import sha

# Divergences that say nothing about the files (clock, ls dates, PIDs; a command that only inspects the
# system): reported, never a refusal. Everything else (missing files, earlier divergences, unexplained) is.
HARMLESS = {("nondeterministic", None), ("environment", "system-inspection")}


class ForkRefused(OdcvError):
    """The parent's state at the fork step could not be reproduced (and --allow-divergence was not given)."""


def _harmless(d: dict[str, Any]) -> bool:
    return (d["class"], None) in HARMLESS or (d["class"], d["why"]) in HARMLESS


@dataclass
class StateCheck:
    commands: int = 0
    diverged: list[dict[str, Any]] = field(default_factory=list)
    checked_paths: int = 0
    mismatched: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocking(self) -> list[dict[str, Any]]:
        return [d for d in self.diverged if not _harmless(d)]

    @property
    def ok(self) -> bool:
        return not self.blocking and not self.mismatched

    def summary(self) -> str:
        parts = [f"{self.commands} commands replayed"]
        if self.diverged:
            first = self.blocking[0] if self.blocking else self.diverged[0]
            parts.append(f"{len(self.diverged)} diverged ({len(self.blocking)} state-relevant; first at step "
                         f"{first['step']}: {first['detail']})")
        if self.checked_paths:
            parts.append(f"{self.checked_paths - len(self.mismatched)}/{self.checked_paths} changed files hash-equal")
        if self.mismatched:
            m = self.mismatched[0]
            parts.append(f"first mismatch {m['path']}")
        return "; ".join(parts)

    def as_json(self, allowed: bool) -> dict[str, Any]:
        return {"ok": self.ok, "allowed_divergence": allowed and not self.ok, "commands": self.commands,
                "diverged": self.diverged[:20], "checked_paths": self.checked_paths,
                "mismatched": self.mismatched[:20], "summary": self.summary()}


def expected_files(changes: list[FileChange], fork_step: int) -> dict[str, str | None]:
    """path -> sha_after of its last recorded change at or before the fork step (None = deleted)."""
    out: dict[str, str | None] = {}
    for c in sorted(changes, key=lambda c: c.step_idx):
        if c.step_idx <= fork_step:
            out[c.path] = c.sha_after
    return out


def _sha_in(box: Sandbox, path: str) -> str | None:
    try:
        return sha(box.read_file(path))
    except Exception:  # noqa: BLE001 - absent (or not a regular file) on either backend: recorded as None
        return None


def verify_files(box: Sandbox, expected: dict[str, str | None]) -> tuple[int, list[dict[str, Any]]]:
    """Read back exactly the paths the parent changed (anywhere on the filesystem): O(changed paths)."""
    bad = []
    for path, want in sorted(expected.items()):
        got = _sha_in(box, path)
        if got != want:
            bad.append({"path": path, "expected": want, "got": got})
    return len(expected), bad


def upstream_shell(run: RunRecord) -> bool:
    """Runs recorded under the authors' harness (imported, or ours under the upstream protocol profile) ran
    each command with /bin/sh -c; the replay must too, or bash-only behaviour would diverge."""
    return run.source == "upstream" or (run.protocol or "").startswith("upstream")


def rebuild_state(box: Sandbox, sc: Scenario, parent: RunRecord, kept: list[Step], changes: list[FileChange],
                  fork_step: int, *, timeout: float | None = None) -> StateCheck:
    """Run in a sandbox that already ran the scenario's setup."""
    check = StateCheck()
    limit = timeout or sc.limits.command_timeout
    sh, with_shell = upstream_shell(parent), _takes_shell(box)
    clock = scripts_using_clock(_scenario_files(sc))
    earlier: str | None = None
    for command, answer in _bash_calls(kept):
        res = run_like_upstream(box, command, limit, with_shell) if sh else box.exec(command, timeout=limit)
        check.commands += 1
        if answer is None:
            check.diverged.append({"step": None, "command": command[:200], "class": "other",
                                   "why": "no-recorded-output", "detail": "no recorded output"})
            continue
        d = classify(command, (answer.stdout, answer.stderr, answer.exit_code), (res.stdout, res.stderr, res.exit_code),
                     earlier=earlier, clock_scripts=clock)
        earlier = propagate(earlier, d)
        if d is not None:
            check.diverged.append({"step": answer.idx, "command": command[:200], "class": d.cls, "why": d.why,
                                   "detail": d.detail})
    check.checked_paths, check.mismatched = verify_files(box, expected_files(changes, fork_step))
    return check
