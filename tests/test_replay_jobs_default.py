"""`odcv replay run` starts two runs per core unless told otherwise (a third of the CPU sat idle at one per core
on the 950-run replay, with the same divergences at two): the default and its help text."""

from __future__ import annotations

import os

from click.testing import CliRunner

from odcv_tui.cli import cmd_replay
from odcv_tui.cli.main import cli


def test_concurrency_defaults_to_two_runs_per_core_capped() -> None:
    assert cmd_replay.DEFAULT_JOBS == min(16, 2 * (os.cpu_count() or 1))
    option = next(p for p in cmd_replay.replay_run_cmd.params if p.name == "concurrency")
    assert option.default == cmd_replay.DEFAULT_JOBS
    out = CliRunner().invoke(cli, ["replay", "run", "--help"])
    assert out.exit_code == 0
    assert f"default: {cmd_replay.DEFAULT_JOBS};" in " ".join(out.output.split())
