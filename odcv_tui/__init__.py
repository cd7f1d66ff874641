"""odcv-tui: a terminal workbench for KPI-pressure stress tests of AI agents."""

__version__ = "0.1.0"
