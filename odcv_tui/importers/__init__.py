"""Importers of results produced elsewhere: the ODCV-Bench authors' published results and Inspect AI logs.

Headless (core + storage only). Each importer parses everything first and writes afterwards, so a
malformed file aborts with a one-line error before anything in runs.db changes.
"""

from odcv_tui.importers.common import ImportSummary

__all__ = ["ImportSummary"]
