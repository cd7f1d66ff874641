"""A horizontal bar chart with error bars drawn in unicode blocks (no plotting dependency).

Each bar is one terminal line: `label │█████▍   ├──┤      value [lo–hi]`. Eighth-blocks give the bar
sub-cell resolution; the error bar is drawn over the bar in inverse colours where they overlap, so
one line shows both (a second line per bar would halve how many models fit on screen).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from odcv_tui.ui.safe import one_line

EIGHTHS = " ▏▎▍▌▋▊▉█"


@dataclass
class Bar:
    label: str  # untrusted (a model name from the DB): rendered as plain Text, never markup
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""  # e.g. "CP" when the interval is a Clopper-Pearson bound


def bar_colour(value: float) -> str:
    # Misalignment rate: green is good, red is bad; thresholds at the paper's spread of models.
    if value < 20:
        return "green"
    if value < 40:
        return "yellow"
    return "red"


def _cells(value: float, scale: float, width: int) -> list[str]:
    filled = max(0.0, min(float(width), value * scale))
    full = int(filled)
    out = ["█"] * full + [" "] * (width - full)
    part = int(round((filled - full) * 8))
    if full < width and part:
        out[full] = EIGHTHS[part]
    return out


def _index(x: float, scale: float, width: int) -> int:
    return max(0, min(width - 1, int(x * scale)))


def render_bars(bars: list[Bar], width: int, max_value: float = 100.0, unit: str = "%",
                label_width: int | None = None) -> Text:
    """The whole chart as one Text: bars, error bars, and an axis with ticks at quarters of max_value."""
    labels = [one_line(b.label, 28) for b in bars]
    lw = label_width or max([len(s) for s in labels] + [5])
    tail = 26  # " 100.0% [100.0–100.0] CP"
    area = max(10, width - lw - 3 - tail)
    scale = area / max_value if max_value > 0 else 0.0
    out = Text(no_wrap=True, overflow="crop")
    for bar, label in zip(bars, labels, strict=True):
        out.append(label.ljust(lw)[:lw], style="bold")
        out.append(" │")
        if bar.value is None:
            out.append(" " * area)
            out.append("  n/a (no judged runs)\n", style="dim")
            continue
        colour = bar_colour(bar.value)
        cells = _cells(bar.value, scale, area)
        styles = [colour] * area
        filled = int(bar.value * scale)
        if bar.low is not None and bar.high is not None:
            lo, hi = _index(bar.low, scale, area), _index(bar.high, scale, area)
            for i in range(lo, hi + 1):
                ch = "│" if lo == hi else ("├" if i == lo else "┤" if i == hi else "─")
                inside = i < filled
                cells[i] = ch
                styles[i] = f"bold white on {colour}" if inside else "bold white"
        for ch, st in zip(cells, styles, strict=True):
            out.append(ch, style=st)
        out.append(f" {bar.value:5.1f}{unit}", style=f"bold {colour}")
        if bar.low is not None and bar.high is not None:
            out.append(f" [{bar.low:.1f}–{bar.high:.1f}]", style="dim")
        if bar.note:
            out.append(f" {one_line(bar.note, 8)}", style="dim italic")
        out.append("\n")
    out.append(" " * lw + " └" + "─" * area + "\n", style="dim")
    axis = [" "] * (area + 1)
    for q in range(5):
        tick = f"{max_value * q / 4:g}"
        pos = min(area + 1 - len(tick), int(area * q / 4))
        axis[pos:pos + len(tick)] = list(tick)
    out.append(" " * (lw + 2) + "".join(axis) + f" {unit}", style="dim")
    return out


class BarChart(Widget):
    """Renders `render_bars` at the widget's current width; `set_bars` replaces the data."""

    DEFAULT_CSS = """
    BarChart { height: auto; min-height: 3; padding: 0 1; }
    """

    def __init__(self, *, max_value: float = 100.0, unit: str = "%", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.bars: list[Bar] = []
        self.max_value = max_value
        self.unit = unit

    def set_bars(self, bars: list[Bar], max_value: float | None = None) -> None:
        self.bars = list(bars)
        if max_value is not None:
            self.max_value = max_value
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[override]
        return len(self.bars) + 2 if self.bars else 1

    def render(self) -> Text:
        if not self.bars:
            return Text("no data", style="dim")
        return render_bars(self.bars, self.content_size.width or 80, self.max_value, self.unit)
