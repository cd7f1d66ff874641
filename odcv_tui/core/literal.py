"""Untrusted text made literal for a terminal: escape sequences (OSC 52 clipboard writes, clear screen, cursor
moves...) and other control characters are shown visibly instead of reaching the terminal. Headless (no rich,
no textual) so the CLI's plain output and the TUI's rich Text share one definition."""

from __future__ import annotations

import re

# CSI/OSC/other ESC sequences (7-bit and the 8-bit CSI), then any remaining C0/C1 control except tab/newline.
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi overrides/isolates can make a terminal show text in an order other than the bytes (Trojan Source).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def clean(text: str | None) -> str:
    """Escape sequences shown as `␛[...`, other control characters as `�`; \\r\\n normalised to \\n."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n")
    text = _ESCAPES.sub(lambda m: "␛" + m.group(0)[1:], text)
    text = _BIDI.sub("�", text)
    return _CONTROLS.sub("�", text)


def cell(text: object, width: int | None = None) -> str:
    """A one-line table cell: cleaned, newlines and tabs shown as spaces, optionally cut to width with `…`."""
    s = clean("" if text is None else str(text)).replace("\n", " ").replace("\t", " ")
    if width is not None and len(s) > width:
        return s[: max(width - 1, 0)] + "…"
    return s
