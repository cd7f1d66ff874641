"""A scrollable view of one rich renderable that renders lines on demand (Textual's line API).

Swapping its content never triggers a layout pass of the screen (a Static inside a VerticalScroll does), and
only the visible lines are turned into strips; that keeps stepping through a trajectory within a frame even
when a step carries hundreds of KB of output.

Wrapping is lazy too: a Group is cut into pieces (its parts, and big texts in blocks of lines) and only the
pieces that fill the first screens are wrapped when the content is shown; the rest is wrapped in slices of a few
milliseconds between frames, so opening a step with MBs of output or thousands of diffs never freezes the UI
(issue #13.2). Scrolling past what is wrapped so far simply finds the lines arrive a frame later."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

BLOCK_LINES = 200  # a big Text is wrapped this many source lines at a time
SLICE_SECONDS = 0.008  # background wrapping per frame: well under a 60 Hz frame


def pieces(renderable: RenderableType) -> Iterator[RenderableType]:
    """The renderable as independent pieces whose wrapped lines, concatenated, equal the whole's."""
    if isinstance(renderable, Group):
        for part in renderable.renderables:
            yield from pieces(part)
    elif isinstance(renderable, Text) and renderable.plain.count("\n") >= BLOCK_LINES:
        lines = renderable.split("\n", allow_blank=True)
        for i in range(0, len(lines), BLOCK_LINES):
            yield Text("\n").join(lines[i:i + BLOCK_LINES])
    else:
        yield renderable


class LazyView(ScrollView):
    DEFAULT_CSS = """
    LazyView { overflow-y: auto; overflow-x: hidden; }
    """

    def __init__(self, renderable: RenderableType | None = None, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.renderable: RenderableType = renderable if renderable is not None else Text("")
        self._lines: list[list[Segment]] = []
        self._pending: deque[RenderableType] = deque()
        self._width = 0
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self._scheduled = False
        self._reveal: re.Pattern[str] | None = None

    def show(self, renderable: RenderableType, reveal: re.Pattern[str] | None = None) -> None:
        """Show `renderable` from its top, or scrolled to the first line matching `reveal` (a search hit)."""
        self.renderable = renderable
        self._reveal = reveal
        self._width = 0
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._layout_lines()
        self.refresh()

    @property
    def complete(self) -> bool:
        """True once every line of the current content is wrapped (tests and benchmarks wait on it)."""
        return self._width > 0 and not self._pending

    def _wrap(self, piece: RenderableType) -> None:
        console = self.app.console
        self._lines.extend(console.render_lines(piece, console.options.update_width(self._width - 1), pad=False))

    def _layout_lines(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 1 or width == self._width:
            return
        self._width = width
        self._lines = []
        self._strips.clear()
        self._pending = deque(pieces(self.renderable))
        # Enough for what is on screen now (and a page of scrolling); the rest follows between frames.
        want = int(self.scroll_offset.y) + 2 * max(self.size.height, 24)
        while self._pending and len(self._lines) < want:
            self._wrap(self._pending.popleft())
        target = self._find(self._reveal) if self._reveal is not None else None
        self._reveal = None
        self.virtual_size = Size(width, len(self._lines))
        if target is not None:  # after the refresh that applies the new virtual size, or it clamps to 0
            self.call_after_refresh(self.scroll_to, y=max(0, target - 2), animate=False)
        self._schedule()

    def _find(self, pattern: re.Pattern[str]) -> int | None:
        """First wrapped line matching `pattern`, wrapping further pieces (synchronously) until one does."""
        start = 0
        while True:
            for i in range(start, len(self._lines)):
                if pattern.search("".join(seg.text for seg in self._lines[i])):
                    return i
            start = len(self._lines)
            if not self._pending:
                return None
            self._wrap(self._pending.popleft())

    def _schedule(self) -> None:
        if self._pending and not self._scheduled:
            self._scheduled = True
            self.set_timer(0.001, self._wrap_more)  # (a 0 s timer divides by zero in Textual)

    def _wrap_more(self) -> None:
        self._scheduled = False
        end = time.perf_counter() + SLICE_SECONDS
        before = len(self._lines)
        while self._pending and time.perf_counter() < end:
            self._wrap(self._pending.popleft())
        if len(self._lines) != before:
            self.virtual_size = Size(self._width, len(self._lines))
            self.refresh()
        self._schedule()

    def on_resize(self) -> None:
        self._width = 0
        self._layout_lines()

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def render_line(self, y: int) -> Strip:
        self._layout_lines()
        width = self.scrollable_content_region.width
        i = int(self.scroll_offset.y) + y
        if i >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(i)
        if strip is None:
            strip = Strip([Segment(" "), *self._lines[i]]).apply_style(self.rich_style)
            strip = strip.adjust_cell_length(width, self.rich_style)
            self._strips[i] = strip
        return strip
