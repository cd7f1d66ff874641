"""Full-text search hits as a reader wants them: FTS snippets shown as text (a tool row's content is the JSON
echo of its output, so a snippet can carry `\\"` and `\\n` escapes) with the matched words highlighted instead of
wrapped in « », and the pattern that highlights the searched words inside a whole step. Headless (rich only)."""

from __future__ import annotations

import json
import re

from rich.text import Text

from odcv_tui.core.literal import clean

HIT_STYLE = "bold black on yellow"
_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')
_MARKED = re.compile(r"«(.*?)»", re.S)


def unescape_json(text: str) -> str:
    """JSON string escapes to the characters they stand for (newlines and tabs become spaces in a snippet)."""

    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc in "nrtbf":
            return " "
        if esc.startswith("u"):
            try:
                return str(json.loads(f'"\\{esc}"'))
            except ValueError:
                return m.group(0)
        return esc

    return _ESCAPE.sub(one, text)


def snippet_text(snippet: str, width: int = 100) -> Text:
    """One table cell: the snippet unescaped, cleaned, on one line, cut to `width`, matches highlighted."""
    plain = " ".join(clean(unescape_json(snippet)).split())
    out = Text(no_wrap=True, overflow="ellipsis")
    pos = 0
    for m in _MARKED.finditer(plain):
        out.append(plain[pos:m.start()])
        out.append(m.group(1), style=HIT_STYLE)
        pos = m.end()
    out.append(plain[pos:])
    if out.cell_len > width:
        out.truncate(width, overflow="ellipsis")
    return out


def words_pattern(query: str) -> re.Pattern[str] | None:
    """Case-insensitive pattern for the searched words. FTS5 matches porter stems ('payments' finds 'payment'),
    so each word matches from its stem-ish prefix to the end of the word."""
    parts = []
    for word in query.split():
        word = word.strip('"')
        if not word:
            continue
        stem = word if len(word) <= 4 else word[: max(4, len(word) - 3)]
        parts.append(re.escape(stem) + r"\w*")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None
