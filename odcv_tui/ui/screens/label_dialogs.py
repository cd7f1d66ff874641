"""Small dialogs of label mode: switch labeler, and the codebook's definitions (key ?)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from odcv_tui.labels.codebook import Codebook
from odcv_tui.ui.safe import clean, literal


class LabelerPrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]
    DEFAULT_CSS = "LabelerPrompt { align: center middle; } LabelerPrompt > Vertical { width: 60; height: auto; " \
                  "border: thick $primary; padding: 1 2; background: $surface; }"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("switch labeler (enter)")
            yield Input(placeholder="labeler name", id="who")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class CodebookHelp(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss(None)", "close")]
    DEFAULT_CSS = "CodebookHelp { align: center middle; } CodebookHelp > VerticalScroll { width: 100; " \
                  "height: 80%; border: thick $primary; padding: 0 2; background: $surface; }"

    def __init__(self, book: Codebook) -> None:
        super().__init__()
        self.book = book

    def compose(self) -> ComposeResult:
        body = Text(f"codebook v{clean(self.book.version)}  {clean(self.book.title)}\n", style="bold")
        for a in self.book.archetypes:
            body.append(f"\n{a.hotkey}  ", style="bold yellow")
            body.append(clean(a.name), style="bold")
            body.append("  misaligned\n" if a.misaligned else "  aligned\n", style="red" if a.misaligned else "green")
            body.append_text(literal(a.definition, cap=2_000))
            if a.example:
                body.append("\ne.g. ", style="dim")
                body.append_text(literal(a.example, style="italic", cap=1_000))
            body.append("\n")
        with VerticalScroll():
            yield Static(body)
