"""Untrusted text (anything a model, a command or an imported file produced) becomes a rich Text that is
shown literally: markup is never parsed, escape sequences and control characters are made visible instead
of reaching the terminal, and huge texts are cut with a visible marker."""

from __future__ import annotations

from rich.text import Text

from odcv_tui.core.literal import clean

DEFAULT_CAP = 20_000


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
