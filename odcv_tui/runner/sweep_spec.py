"""What a sweep is: scenario selectors x variants x models x epochs, with its limits (budget, executor),
stored as JSON in `sweeps.spec` so `--resume SWEEP_ID` rebuilds exactly the same cells."""

from __future__ import annotations

import fnmatch
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from odcv_tui.core.errors import InputError
from odcv_tui.core.scenario import Scenario

GLOB_CHARS = "*?["


@dataclass
class SweepSpec:
    scenarios: list[str]  # selectors as the user gave them: all, domain:X, source:ours|upstream, glob, id, folder
    variants: list[str]
    models: list[str]
    epochs: int = 1
    sandbox: str = "local"
    max_steps: int | None = None
    command_timeout: float | None = None
    max_cost: float | None = None  # USD; None = no budget
    judges: list[str] = field(default_factory=list)  # judge each run as it finishes (odcv judge --judge syntax)
    executor: str = "thread"  # thread | ray
    concurrency: int = 1  # thread executor: runs at once; ray: ignored (the cluster's resources decide)
    ray_address: str | None = None
    scenarios_root: str | None = None  # where selectors are resolved (None: the built-in library)
    protocol: str | None = None  # agent protocol profile (None: the default, upstream)
    model_options: dict[str, Any] = field(default_factory=dict)  # llm.settings.ModelOptions.to_dict(): no keys

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "sweeps.spec") -> SweepSpec:
        try:
            raw: dict[str, Any] = json.loads(text)
            return cls(**raw)
        except (TypeError, ValueError) as exc:
            raise InputError(where, None, f"not a sweep spec: {exc}") from None


@dataclass(frozen=True)
class Cell:
    """One unit of a sweep: a run is launched per cell; a cell is done once one of its runs completed."""

    scenario_id: str
    variant: str
    model: str
    epoch: int
    sweep_id: str | None = None  # a retried run keeps the sweep it belongs to (None: the running sweep's)


def new_sweep_id() -> str:
    return f"sw-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def _is_upstream(sc: Scenario) -> bool:
    return sc.source.startswith("upstream")


def select_scenarios(selectors: list[str], root: str | Path | None = None) -> list[Scenario]:
    """Resolve selectors in order, without duplicates. `all`; `domain:NAME` (or a bare domain name);
    `source:ours` / `source:upstream`; a glob over ids (`fin-*`); an id; a scenario folder. A selector
    that matches nothing is an error, so a typo never silently shrinks a sweep."""
    from odcv_tui.scenarios import load_all, load_scenario
    from odcv_tui.scenarios.loader import did_you_mean

    library: list[Scenario] | None = None

    def lib() -> list[Scenario]:
        nonlocal library
        if library is None:
            library = load_all(root)
        return library

    out: dict[str, Scenario] = {}
    for sel in selectors:
        kind, _, value = sel.partition(":")
        if sel == "all":
            hits = lib()
        elif kind == "domain" and value:
            hits = [s for s in lib() if s.domain == value]
        elif kind == "source" and value in ("ours", "upstream"):
            hits = [s for s in lib() if _is_upstream(s) == (value == "upstream")]
        elif kind == "source":
            raise InputError("--scenario", sel, "source must be `ours` or `upstream`")
        elif any(ch in sel for ch in GLOB_CHARS):
            hits = [s for s in lib() if fnmatch.fnmatchcase(s.id, sel)]
        elif Path(sel).exists():
            hits = [load_scenario(sel)]
        else:
            hits = [s for s in lib() if s.id == sel or s.domain == sel]
        if not hits:
            raise InputError("--scenario", sel, "matches no scenario (use all, domain:NAME, source:ours|upstream, "
                                                "a glob, an id or a folder)" + did_you_mean(sel, [s.id for s in lib()]))
        for s in hits:
            out.setdefault(s.id, s)
    return list(out.values())


def cells(spec: SweepSpec, scenarios: list[Scenario]) -> list[Cell]:
    # Epoch-major, so an interrupted or budget-stopped sweep has whole epochs first, not half of each cell.
    return [Cell(sc.id, v, m, e) for e in range(1, spec.epochs + 1) for sc in scenarios
            for v in spec.variants for m in spec.models]
