"""Shared fixtures: real SQLite files in tmp dirs and the tiny test scenario."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.openai_server import openai_server  # noqa: E402,F401 - the scripted OpenAI-compatible server fixture

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
UPSTREAM = Path(os.environ.get("ODCV_UPSTREAM_DIR", ROOT.parent / "shared" / "upstream-odcv"))


@pytest.fixture(autouse=True)
def _own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the TUI remembers (ui/prefs.py, e.g. the labeler name) stays inside each test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture
def mini_scenario():
    from odcv_tui.scenarios import load_scenario

    return load_scenario(FIXTURES / "scenarios" / "mini-sla")
