"""Compare's `+`: a list of the models that ran this scenario but are not shown yet; enter adds the highlighted
one, escape closes. Model names come from runs.db (maybe imported): shown as plain Text, never markup."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from odcv_tui.ui.safe import one_line


class ModelPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape,q", "dismiss(None)", "cancel")]
    DEFAULT_CSS = """
    ModelPicker { align: center middle; }
    ModelPicker > Vertical { width: 60; max-width: 100%; height: auto; max-height: 80%; border: thick $primary;
                             padding: 0 1; background: $surface; }
    ModelPicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, models: list[str], title: str = "add a model (enter), esc closes") -> None:
        super().__init__()
        self.models = models
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, style="bold"))
            yield OptionList(*[Option(Text(one_line(m, 80)), id=str(i)) for i, m in enumerate(self.models)],
                             id="picker")

    def on_mount(self) -> None:
        self.query_one("#picker", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.models[int(event.option.id or 0)])
