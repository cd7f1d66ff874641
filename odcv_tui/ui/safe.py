"""Untrusted text (anything a model, a command or an imported file produced) becomes a rich Text that is
shown literally: markup is never parsed, escape sequences and control characters are made visible instead
of reaching the terminal, and huge texts are cut with a visible marker."""

from __future__ import annotations

import re

from rich.text import Text

# CSI/OSC/other ESC sequences, then any remaining C0/C1 control character except tab and newline.
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
DEFAULT_CAP = 20_000


def clean(text: str | None) -> str:
    """Escape sequences shown as `␛[...`, other control characters as `�`; \\r\\n normalised."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n")
    text = _ESCAPES.sub(lambda m: "␛" + m.group(0)[1:], text)
    return _CONTROLS.sub("�", text)


def literal(text: str | None, style: str = "", cap: int | None = DEFAULT_CAP) -> Text:
    """A Text holding `text` verbatim (never markup); beyond `cap` characters a marker says how much is hidden."""
    body = clean(text)
    hidden = 0
    if cap is not None and len(body) > cap:
        hidden = len(body) - cap
        body = body[:cap]
    out = Text(body, style=style, no_wrap=False)
    if hidden:
        out.append(f"\n… {hidden:,} more characters hidden (press e to expand)", style="bold yellow")
    return out


def one_line(text: str | None, width: int = 80) -> str:
    """For table cells: first line, cleaned, cut to width. Callers wrap it in Text, never in markup."""
    first = clean(text).strip().split("\n", 1)[0]
    return first if len(first) <= width else first[: width - 1] + "…"
