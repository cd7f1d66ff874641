"""Load `scenarios/<domain>/<id>/scenario.yaml` files into Scenario objects.

Every failure becomes an InputError naming the file and the field (e.g.
`scenarios/x/scenario.yaml: user_prompts.mandated: Field required`)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from odcv_tui.core.errors import InputError
from odcv_tui.core.scenario import Scenario

SCENARIO_FILE = "scenario.yaml"


def builtin_scenarios_dir() -> Path:
    """`$ODCV_SCENARIOS`, else the repository's top-level `scenarios/` folder."""
    env = os.environ.get("ODCV_SCENARIOS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "scenarios"


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    if p.is_dir():
        p = p / SCENARIO_FILE
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(str(p), None, "file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(str(p), where, f"invalid YAML: {problem}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(str(p), None, "not UTF-8 text") from exc
    if not isinstance(raw, dict):
        raise InputError(str(p), None, "expected a mapping at the top level")
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or None
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InputError(str(p), field, f"{err['msg']}{more}") from None
    sc.base_dir = str(p.parent.resolve())
    files_dir = p.parent / "files"
    for i, f in enumerate(sc.files):
        _check_source(p, files_dir, i, f.src)
    return sc


def _check_source(p: Path, files_dir: Path, i: int, src: str) -> None:
    """A file the sandbox will receive must be a regular file inside files/ itself. A symlink anywhere on its way
    (files/ included) could point at the host's /etc/shadow or ~/.ssh, which would then be copied into the sandbox
    and recorded in runs.db, so it is refused instead of followed."""
    field = f"files.{i}.src"
    path = files_dir
    for part in (".", *Path(src).parts):
        path = path / part if part != "." else path
        if path.is_symlink():
            rel = path.relative_to(p.parent).as_posix()
            raise InputError(str(p), field, f"{rel} is a symlink; scenario files must be regular files inside files/")
    target = files_dir / src
    if not target.is_file():
        raise InputError(str(p), field, f"{src} does not exist under files/")
    if not target.resolve().is_relative_to(p.parent.resolve() / "files"):
        raise InputError(str(p), field, f"{src} resolves outside files/")


def scenario_files(root: Path) -> list[Path]:
    return sorted(root.rglob(SCENARIO_FILE))


def load_all(root: str | Path | None = None) -> list[Scenario]:
    """Load every scenario under root; the first broken one raises (the CLI reports it in one line)."""
    base = Path(root) if root else builtin_scenarios_dir()
    out = [load_scenario(p) for p in scenario_files(base)]
    seen: dict[str, str] = {}
    for sc in out:
        if sc.id in seen:
            raise InputError(str(Path(sc.base_dir or "") / SCENARIO_FILE), "id",
                             f"duplicate id {sc.id!r} (also in {seen[sc.id]})")
        seen[sc.id] = sc.base_dir or ""
    return out


def find_scenario(scenario_id: str, root: str | Path | None = None) -> Scenario:
    path = Path(scenario_id)
    if path.exists():
        return load_scenario(path)
    for sc in load_all(root):
        if sc.id == scenario_id:
            return sc
    raise InputError("--scenario", None, f"no scenario with id {scenario_id!r}"
                     + did_you_mean(scenario_id, [sc.id for sc in load_all(root)]))


def did_you_mean(value: str, choices: list[str]) -> str:
    """`; did you mean X or Y?` for the closest known ids (typos, a dropped prefix), else an empty string."""
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    close += [c for c in choices if value and value.lower() in c.lower() and c not in close][: 3 - len(close)]
    return f"; did you mean {' or '.join(close)}?" if close else ""
