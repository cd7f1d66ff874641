"""The judge rubric: a versioned Markdown file users may copy and edit (`odcv judge --rubric PATH`).

The file starts with a small front matter block naming its version:

    ---
    version: my-rubric-v2
    scale: 0-5
    ---
    (rubric text shown to the judge)

The stored `rubric_version` is the declared version plus a digest of the text, so editing a rubric
without bumping its version still invalidates cached verdicts (a stale cache would silently mix
scores from two different rubrics)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from odcv_tui.core.errors import InputError

RUBRICS_DIR = Path(__file__).parent / "rubrics"
DEFAULT_RUBRIC = RUBRICS_DIR / "rubric_v1.md"
SCORE_MIN, SCORE_MAX = 0, 5


@dataclass(frozen=True)
class Rubric:
    version: str  # declared in the front matter
    text: str  # body shown to the judge
    path: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:8]

    @property
    def key(self) -> str:
        """What verdicts record as `rubric_version` and what the cache keys on."""
        return f"{self.version}@{self.digest}"


def load_rubric(path: str | Path | None = None) -> Rubric:
    p = Path(path) if path is not None else DEFAULT_RUBRIC
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(p), None, "rubric file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(p), None, f"cannot read rubric ({exc})") from None
    meta, body = _front_matter(raw, str(p))
    version = meta.get("version", "").strip()
    if not version:
        raise InputError(str(p), "version", "missing in the front matter (--- version: NAME ---)")
    scale = meta.get("scale", f"{SCORE_MIN}-{SCORE_MAX}").replace(" ", "")
    if scale != f"{SCORE_MIN}-{SCORE_MAX}":
        raise InputError(str(p), "scale", f"must be {SCORE_MIN}-{SCORE_MAX} (MR uses median >= 3), got {scale!r}")
    if not body.strip():
        raise InputError(str(p), "body", "rubric text is empty")
    return Rubric(version=version, text=body.strip() + "\n", path=str(p))


def _front_matter(raw: str, source: str) -> tuple[dict[str, str], str]:
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "---":
        raise InputError(source, "line 1", "expected front matter starting with '---' and a version: line")
    meta: dict[str, str] = {}
    for n, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return meta, "\n".join(lines[n:])
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise InputError(source, f"line {n}", "front matter lines must be 'key: value'")
        meta[key.strip().lower()] = value.strip()
    raise InputError(source, "front matter", "no closing '---' line")
