"""A column of text cells drawn with Textual's line API (used by Compare): cells wrap once per width and only
visible lines become strips, with the cursor's cell highlighted."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class CellStack(ScrollView):
    """A column's aligned cells drawn with the line API: cells are wrapped once per width and only the
    visible lines become strips, so stepping repaints one column's screenful, not a tree of widgets."""

    COMPONENT_CLASSES = {"cellstack--cursor"}
    DEFAULT_CSS = """
    CellStack { height: 1fr; overflow-y: scroll; overflow-x: hidden; }
    CellStack > .cellstack--cursor { background: $accent 20%; }
    """

    def __init__(self, texts: list[Text], cursor: int = 0) -> None:
        super().__init__()
        self.can_focus = False  # keys belong to the screen, so h/l/j/k work whatever the mouse did
        self.texts = texts
        self.cursor = cursor
        self._lines: list[Text] = []
        self._owner: list[int] = []  # cell index of each wrapped line (-1 for the gap between cells)
        self.offsets: list[int] = []  # first line of each cell
        self._width = 0
        self._strips: LRUCache[tuple[int, bool], Strip] = LRUCache(2048)

    def set_texts(self, texts: list[Text]) -> None:
        self.texts, self._width = texts, 0
        self._wrap()
        self.scroll_to_cursor()

    def _wrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 2 or width == self._width:
            return
        self._width = width
        lines, owner, offsets = [], [], []
        for k, text in enumerate(self.texts):
            offsets.append(len(lines))
            wrapped = text.wrap(self.app.console, width - 1) or [Text()]
            lines.extend(wrapped)
            owner.extend([k] * len(wrapped))
            lines.append(Text())
            owner.append(-1)
        self._lines, self._owner, self.offsets = lines, owner, offsets
        self._strips.clear()
        self.virtual_size = Size(width, len(lines))

    def on_resize(self) -> None:
        self._wrap()
        self.scroll_to_cursor()

    def set_cursor(self, k: int) -> None:
        self.cursor = max(0, min(len(self.texts) - 1, k))
        self.scroll_to_cursor()
        self.refresh()

    def scroll_to_cursor(self) -> None:
        if self.cursor < len(self.offsets):
            self.scroll_to(y=self.offsets[self.cursor], animate=False, immediate=True)

    def cell_at(self, y: int) -> int:
        i = int(self.scroll_offset.y) + y
        return self._owner[i] if 0 <= i < len(self._owner) else -1

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        i = int(self.scroll_offset.y) + y
        if i >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        on_cursor = self._owner[i] == self.cursor and self.cursor >= 0
        strip = self._strips.get((i, on_cursor))
        if strip is None:
            base = self.rich_style
            if on_cursor:
                base = base + self.get_component_rich_style("cellstack--cursor")
            segments = [Segment(" "), *self._lines[i].render(self.app.console)]
            strip = Strip(segments).apply_style(base).adjust_cell_length(width, base)
            self._strips[(i, on_cursor)] = strip
        return strip
