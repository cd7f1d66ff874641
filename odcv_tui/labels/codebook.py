"""The archetype codebook: a versioned, user-editable YAML file of misconduct archetypes (key, name,
definition, example, hotkey). Labels store a hash of each definition so that editing a definition flags the
labels made under the old wording as stale. Bad files fail with one line naming the file and field."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from odcv_tui.core.errors import InputError

DEFAULT_CODEBOOK = Path(__file__).with_name("codebook_v1.yaml")
# Keys label mode already uses for navigation, citing, undo and notes, plus the app's global 1-5 screen keys.
RESERVED_KEYS = frozenset("hjklnpcudevqi012345")


class Archetype(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    hotkey: str
    definition: str = Field(min_length=1)
    example: str = ""
    misaligned: bool = True

    @field_validator("hotkey", mode="before")
    @classmethod
    def _hotkey(cls, v: Any) -> str:
        v = str(v)
        if len(v) != 1 or not (v.isascii() and v.isalnum()):
            raise ValueError("must be a single letter or digit")
        if v.lower() in RESERVED_KEYS:
            raise ValueError(f"{v!r} is taken by label mode (reserved: {' '.join(sorted(RESERVED_KEYS))})")
        return v

    def definition_hash(self) -> str:
        # Whitespace-normalised so re-wrapping a YAML paragraph does not make every label stale.
        return hashlib.sha256(" ".join(self.definition.split()).encode()).hexdigest()[:12]


class Codebook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    title: str = ""
    archetypes: list[Archetype] = Field(min_length=1)
    source: str = Field(default="", exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> str:
        return str(v) if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _unique(self) -> Codebook:
        seen_keys: set[str] = set()
        seen_hot: dict[str, str] = {}
        for i, a in enumerate(self.archetypes):
            if a.key in seen_keys:
                raise _FieldError(f"archetypes[{i}].key", f"duplicate key {a.key!r}")
            if a.hotkey in seen_hot:
                raise _FieldError(f"archetypes[{i}].hotkey",
                                  f"{a.hotkey!r} already used by {seen_hot[a.hotkey]!r}")
            seen_keys.add(a.key)
            seen_hot[a.hotkey] = a.key
        return self

    def get(self, key: str) -> Archetype | None:
        return next((a for a in self.archetypes if a.key == key), None)

    def by_hotkey(self, hotkey: str) -> Archetype | None:
        return next((a for a in self.archetypes if a.hotkey == hotkey), None)

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.archetypes]

    @property
    def misaligned_keys(self) -> set[str]:
        return {a.key for a in self.archetypes if a.misaligned}

    def hashes(self) -> dict[str, str]:
        return {a.key: a.definition_hash() for a in self.archetypes}


class _FieldError(ValueError):
    """A cross-field problem that still knows which field to name in the one-line error."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


_LOC_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


def _loc(parts: tuple[Any, ...]) -> str:
    return _LOC_INDEX.sub(r"[\1]", ".".join(str(p) for p in parts))


def parse_codebook(text: str, source: str) -> Codebook:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(source, where, str(problem)) from None
    if not isinstance(data, dict):
        raise InputError(source, None, "expected a mapping with version, title and archetypes")
    try:
        book = Codebook.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, _FieldError):
            raise InputError(source, ctx_err.field, ctx_err.message) from None
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(source, _loc(err["loc"]) or None, msg) from None
    book.source = source
    return book


def load_codebook(path: str | Path | None = None) -> Codebook:
    """The codebook at `path`, or the shipped default."""
    p = Path(path) if path else DEFAULT_CODEBOOK
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(p), None, "codebook file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(p), None, f"cannot read codebook ({exc})") from None
    return parse_codebook(text, str(p))


@dataclass(frozen=True)
class Staleness:
    """Why a stored label may no longer fit: the run was re-imported with other content, or the codebook's
    definitions changed since the label was made."""

    trajectory_changed: bool = False
    changed: tuple[str, ...] = ()  # archetypes whose definition differs from when the label was made
    removed: tuple[str, ...] = ()  # applied archetypes that are gone from the codebook
    added: tuple[str, ...] = ()  # archetypes the labeler could not choose back then
    version_only: str = ""  # old codebook version, when no per-definition hashes were stored

    @property
    def stale(self) -> bool:
        return bool(self.trajectory_changed or self.changed or self.removed or self.added or self.version_only)

    def reason(self) -> str:
        parts = []
        if self.trajectory_changed:
            parts.append("trajectory changed since labeled (run re-imported)")
        if self.changed:
            parts.append("definition changed: " + ", ".join(self.changed))
        if self.removed:
            parts.append("no longer in codebook: " + ", ".join(self.removed))
        if self.added:
            parts.append("new in codebook: " + ", ".join(self.added))
        if self.version_only:
            parts.append(f"labeled under codebook v{self.version_only}")
        return "; ".join(parts)


def staleness(book: Codebook, *, archetypes: list[str], label_hash: str, run_hash: str,
              label_version: str, label_hashes: dict[str, str] | None) -> Staleness:
    # An empty hash on either side means "unknown" (e.g. a run still running): never a reason to flag.
    traj = bool(label_hash and run_hash and label_hash != run_hash)
    current = book.hashes()
    if label_hashes is None:
        old = label_version if label_version and label_version != book.version else ""
        return Staleness(trajectory_changed=traj, version_only=old,
                         removed=tuple(a for a in archetypes if a not in current))
    changed = tuple(k for k, h in label_hashes.items() if k in current and current[k] != h)
    removed = tuple(a for a in archetypes if a not in current)
    added = tuple(k for k in current if k not in label_hashes)
    return Staleness(trajectory_changed=traj, changed=changed, removed=removed, added=added)
