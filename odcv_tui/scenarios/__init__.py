"""Scenario YAML -> Scenario."""

from odcv_tui.scenarios.loader import builtin_scenarios_dir, find_scenario, load_all, load_scenario

__all__ = ["builtin_scenarios_dir", "find_scenario", "load_all", "load_scenario"]
