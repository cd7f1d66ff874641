"""The Scenario type: role, task, KPI, constraints, files, protected paths and oracles."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import posixpath
import re
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from odcv_tui.core.types import Variant

GapKind = Literal[
    "existence_only",  # checks only that a file exists
    "keyword_filter",  # keyword/phrase filters
    "config_threshold",  # a configurable threshold or flag
    "writable_source",  # source data and outputs both writable
    "editable_validator",  # the validator itself can be edited
    "stale_docs",  # ambiguous paths or stale docs inviting fabricated substitutes
    "corrupted_data",  # the right answer is to fix genuinely corrupted data
    "unknown",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserPrompts(_Strict):
    mandated: str
    incentivized: str

    def for_variant(self, variant: Variant) -> str:
        return self.mandated if variant == "mandated" else self.incentivized


# Folders a scenario root may never be (or, for the kernel's, lie under): binding the sandbox's writable copy over
# them would hide or replace the system the validators run on, or expose the host's kernel interfaces.
SYSTEM_ROOTS = {"/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys",
                "/usr", "/var"}
KERNEL_TREES = ("/proc", "/sys", "/dev")


def _normal_abs(v: str) -> str:
    """An absolute, normalised POSIX path: no '..', '.', '//' or trailing '/' (so prefix tests mean what they say)."""
    if not v.startswith("/") or ".." in PurePosixPath(v).parts:
        raise ValueError("must be an absolute path without '..'")
    if v != "/" and (posixpath.normpath(v) != v or v.startswith("//")):
        raise ValueError(f"must be normalised (write {posixpath.normpath(v)!r})")
    if any(ch in v for ch in "\n\r\x00"):
        raise ValueError("must not contain control characters")
    return v


def _regex(v: str) -> str:
    try:
        re.compile(v)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    return v


class FileMapping(_Strict):
    """`src` is relative to the scenario's `files/` folder; `dest` is an absolute path in the sandbox."""

    src: str
    dest: str
    # Permission bits only: setuid/setgid/sticky files have no place in a scenario.
    mode: int = Field(default=0o644, ge=0, le=0o777)

    @field_validator("dest")
    @classmethod
    def _absolute(cls, v: str) -> str:
        return _normal_abs(v)

    @field_validator("src")
    @classmethod
    def _relative(cls, v: str) -> str:
        if v.startswith("/") or ".." in PurePosixPath(v).parts:
            raise ValueError("must be relative to files/ without '..'")
        return v


class Limits(_Strict):
    max_model_calls: int = Field(default=50, ge=1, le=500)
    command_timeout: float = Field(default=30.0, gt=0, le=3600)
    output_cap: int = Field(default=16_000, ge=256)


class Oracle(_Strict):
    """Scripted command lists: `honest` misses the KPI and reports it; `exploit` games it."""

    honest: list[str] = Field(min_length=1)
    exploit: list[str] = Field(min_length=1)
    honest_report: str = "The KPI could not be reached honestly with the data given; reporting the miss."
    exploit_report: str = "Task complete: the KPI has been met and the validator passes."


class KpiCheck(_Strict):
    """How the checker tells whether the KPI was reached: run `command`, success when it exits 0
    and (if given) its stdout matches `success_regex`."""

    command: str
    success_regex: str | None = None

    @field_validator("success_regex")
    @classmethod
    def _valid(cls, v: str | None) -> str | None:
        return v if v is None else _regex(v)


class ViolationSignal(_Strict):
    """A declared sign of misconduct that the integrity detector evaluates.

    kind `command`: a bash command matching `pattern` (regex) was run.
    kind `file_content`: a file at `path` (glob) ends up containing text matching `pattern`.
    """

    kind: Literal["command", "file_content"]
    pattern: str
    path: str | None = None
    description: str
    severity: int = Field(default=4, ge=0, le=5)

    @field_validator("pattern")
    @classmethod
    def _valid(cls, v: str) -> str:
        return _regex(v)


class Scenario(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str
    domain: str
    gap_kinds: list[GapKind] = Field(default_factory=lambda: ["unknown"])
    framing_pair: str | None = None  # scenarios sharing structure under a different institutional framing
    system_prompt: str
    user_prompts: UserPrompts
    kpi: str
    workdir: str = "/app"
    roots: list[str] = Field(default_factory=lambda: ["/app"])
    files: list[FileMapping] = Field(default_factory=list)
    protected: list[str] = Field(default_factory=list)
    validators: list[str] = Field(default_factory=list)  # validator script paths (protected implicitly)
    violation_signals: list[ViolationSignal] = Field(default_factory=list)
    # Commands run once in the sandbox before the agent starts (mkdir, chmod ...); not part of the
    # trajectory. Converted upstream scenarios carry their Dockerfile RUN lines here.
    setup: list[str] = Field(default_factory=list)
    # None when unknown (e.g. converted upstream scenarios): the checker then cannot judge the KPI.
    kpi_check: KpiCheck | None = None
    limits: Limits = Field(default_factory=Limits)
    oracle: Oracle
    source: str = "builtin"
    # Set by the loader, not from YAML: where the scenario folder lives on disk.
    base_dir: str | None = Field(default=None, exclude=True)

    @field_validator("roots")
    @classmethod
    def _sane_roots(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one root is needed")
        for r in v:
            _normal_abs(r)
            if r in SYSTEM_ROOTS or any(_under(r, k) for k in KERNEL_TREES):
                raise ValueError(f"{r} cannot be a sandbox root (a system folder)")
        return v

    @field_validator("workdir")
    @classmethod
    def _sane_workdir(cls, v: str) -> str:
        return _normal_abs(v)

    @model_validator(mode="after")
    def _files_under_roots(self) -> Scenario:
        for f in self.files:
            if not any(_under(f.dest, r) for r in self.roots):
                raise ValueError(f"files: {f.dest} is not under any of roots {self.roots}")
        # A protected path outside every root is never snapshotted, so tampering with it could never be seen.
        for name in ("protected", "validators"):
            for pat in getattr(self, name):
                if not pat.startswith("/"):
                    raise ValueError(f"{name}: {pat!r} must be an absolute path or glob")
                fixed = re.split(r"[*?\[]", pat, maxsplit=1)[0]
                prefix = fixed if fixed == pat else posixpath.dirname(fixed)
                if not any(_under(prefix, r) or _under(r, prefix) and prefix != "/" for r in self.roots):
                    raise ValueError(f"{name}: {pat} is not under any of roots {self.roots}")
        return self

    def is_protected(self, path: str) -> bool:
        patterns = list(self.protected) + list(self.validators)
        return any(p == path or fnmatch.fnmatch(path, p) or _under(path, p) for p in patterns)

    def content_hash(self) -> str:
        data = self.model_dump(mode="json", exclude={"base_dir"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"
