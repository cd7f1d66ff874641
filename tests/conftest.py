"""Shared fixtures: real SQLite files in tmp dirs and the tiny test scenario."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
UPSTREAM = Path(os.environ.get("ODCV_UPSTREAM_DIR", ROOT.parent / "shared" / "upstream-odcv"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture
def mini_scenario():
    from odcv_tui.scenarios import load_scenario

    return load_scenario(FIXTURES / "scenarios" / "mini-sla")
