"""The import's fast paths against the slow ones they replaced: the regex for `call:` lines must give exactly
what ast.literal_eval gives, for any strings the harness could have written, and hand anything else to the
literal_eval path; the header scan must split steps exactly as the line-by-line loop did."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odcv_tui.core.errors import InputError
from odcv_tui.importers.upstream_parse import _blocks, _calls, _calls_fast

UPSTREAM = Path(os.environ.get("ODCV_UPSTREAM_DIR", Path(__file__).resolve().parents[2] / "shared" / "upstream-odcv"))


def _reference(text: str) -> list[tuple[str, str, str]]:
    value = ast.literal_eval(text)
    return [(str(c.get("id") or ""), c["function"]["name"], c["function"]["arguments"]) for c in value]


def _triples(calls: object) -> list[tuple[str, str, str]]:
    assert isinstance(calls, list)
    return [(c.id, c.name, c.arguments) for c in calls]


# Any unicode (lone surrogates included), quotes of both kinds, backslashes and control characters.
_TEXT = st.text(st.characters(codec=None), max_size=40) | st.sampled_from(["", "'", '"', "'\"", "\\", "\\'", "\n"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT, _TEXT), min_size=1, max_size=3))
def test_fast_path_equals_literal_eval_for_any_strings(items: list[tuple[str, str, str]]) -> None:
    text = repr([{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in items])
    fast = _calls_fast(text)
    assert fast is not None, text  # repr always writes the shape the fast path knows
    assert _triples(fast) == _reference(text) == [(i, n, a) for i, n, a in items]


@pytest.mark.parametrize("text", [
    "[{'id': None, 'type': 'function', 'function': {'name': 'bash', 'arguments': '{}'}}]",  # None id
    "[{'type': 'function', 'id': 'a', 'function': {'name': 'bash', 'arguments': '{}'}}]",  # other key order
    "[{'id': 'a', 'type': 'function', 'function': {'name': 'bash', 'arguments': {'command': 'ls'}}}]",  # dict args
    "[{'id': 'a', 'type': 'function', 'function': {'name': 'bash', 'arguments': '\\q'}}]",  # escape repr never writes
    "[{'id': 'a', 'type': 'function', 'function': {'name': 'bash', 'arguments': '{}'}} ]",
    "[{'id': 'a', 'type': 'function', 'function': {'name': 'bash', 'arguments': '{}'}},{'id': 'b', 'type': "
    "'function', 'function': {'name': 'bash', 'arguments': '{}'}}]",  # no space after the comma
])
def test_other_shapes_fall_back_and_still_parse(text: str) -> None:
    assert _calls_fast(text) is None
    calls = _calls(Path("x.txt"), 1, text)
    assert [c.name for c in calls] and all(c.name == "bash" for c in calls)


def test_unterminated_string_fails_fast_not_exponentially() -> None:
    text = "[{'id': 'x', 'type': 'function', 'function': {'name': 'bash', 'arguments': '" + "a\\n" * 20000 + "}}]"
    assert _calls_fast(text) is None


@pytest.mark.skipif(not (UPSTREAM / "agent_logs").is_dir(), reason="upstream corpus not present")
def test_every_published_call_line_takes_the_fast_path_with_the_same_result() -> None:
    lines = [line[6:].rstrip("\n") for f in sorted((UPSTREAM / "agent_logs").glob("*/experiments/*/messages_record.txt"))
             for line in f.open(encoding="utf-8") if line.startswith("call: ")]
    assert len(lines) > 5000
    for text in lines:
        fast = _calls_fast(text)
        assert fast is not None, text[:200]
        assert _triples(fast) == _reference(text)


# ---- step blocks: the header scan must split exactly as the original line-by-line loop did ----

_LINE_HEADER = re.compile(r"^== Step (\d+) ==$")


def _blocks_by_line(text: str) -> list[tuple[int, int, list[str]]] | tuple[str, str]:
    """The reference: every line visited; a header counts only when it is the next number."""
    blocks: list[tuple[int, int, list[str]]] = []
    for i, line in enumerate(text.split("\n"), start=1):
        m = _LINE_HEADER.match(line)
        if m and int(m.group(1)) == len(blocks) + 1:
            blocks.append((int(m.group(1)), i, []))
        elif blocks:
            blocks[-1][2].append(line)
        elif line.strip():
            return ("error", f"line {i}")
    return blocks


def _blocks_now(text: str) -> list[tuple[int, int, list[str]]] | tuple[str, str]:
    try:
        return [(b.number, b.line, b.lines) for b in _blocks(Path("x"), text)]
    except InputError as exc:
        return ("error", str(exc.field))


_PIECES = ["== Step 1 ==", "== Step 2 ==", "== Step 3 ==", "== Step 2 == x", "", "  ", "role: user", "content: hi",
           "\r", "== Step 1 ==\r", "x == Step 1 =="]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=5), max_size=10), st.booleans())
def test_block_split_equals_the_line_by_line_reference(lines: list[str], trailing_newline: bool) -> None:
    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    assert _blocks_now(text) == _blocks_by_line(text)
