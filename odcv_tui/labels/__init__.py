"""Archetype labeling: codebook, sessions, agreement, import/export (headless; the TUI lives in ui/screens/label.py)."""
