"""Wires scenario + model + sandbox + runs.db + events; runs many at once."""

from odcv_tui.runner.run_one import RunOutcome, RunRequest, new_run_id, run_one
from odcv_tui.runner.runner import Runner

__all__ = ["RunOutcome", "RunRequest", "Runner", "new_run_id", "run_one"]
