"""A scrollable view of one rich renderable that renders lines on demand (Textual's line API).

Swapping its content never triggers a layout pass of the screen (a Static inside a VerticalScroll does), and
only the visible lines are turned into strips; that keeps stepping through a trajectory within a frame even
when a step carries hundreds of KB of output."""

from __future__ import annotations

from rich.console import RenderableType
from rich.segment import Segment
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class LazyView(ScrollView):
    DEFAULT_CSS = """
    LazyView { overflow-y: auto; overflow-x: hidden; }
    """

    def __init__(self, renderable: RenderableType | None = None, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.renderable: RenderableType = renderable if renderable is not None else Text("")
        self._lines: list[list[Segment]] = []
        self._width = 0
        self._strips: LRUCache[int, Strip] = LRUCache(1024)

    def show(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._width = 0
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._layout_lines()
        self.refresh()

    def _layout_lines(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 1 or width == self._width:
            return
        console = self.app.console
        self._lines = console.render_lines(self.renderable, console.options.update_width(width - 1), pad=False)
        self._width = width
        self._strips.clear()
        self.virtual_size = Size(width, len(self._lines))

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
