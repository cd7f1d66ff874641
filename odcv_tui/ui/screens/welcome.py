"""What a newcomer sees on an empty runs.db: three ways to get data in, each one key away."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from odcv_tui.ui.widgets.launch_form import PROVIDER_MODELS

# The same providers and variables as the Live form (one source, so the two screens never disagree).
PROVIDER_KEYS = tuple((name.split("/", 1)[0], key) for name, key in PROVIDER_MODELS)
KEY_VARS = tuple(key for _, key in PROVIDER_KEYS)


def welcome_text(db_path: Path) -> Text:
    keys = [k for k in KEY_VARS if os.environ.get(k)]
    t = Text()
    t.append("Welcome to odcv-tui\n\n", style="bold")
    t.append(f"{db_path} holds no runs yet. What next?\n\n")
    t.append("  o ", style="bold reverse")
    t.append("  watch an oracle agent game a validator right now (no API key, local sandbox)\n\n")
    t.append("  i ", style="bold reverse")
    t.append("  import the authors' 950 published trajectories:\n")
    t.append("       odcv import upstream PATH/TO/ODCV-Bench   or   odcv import upstream --download\n\n", style="cyan")
    t.append("  m ", style="bold reverse")
    t.append("  run a real model: set its provider's key, then pick the model in Live:\n")
    t.append("       " + ", ".join(f"{p} → {k}" for p, k in PROVIDER_KEYS) + "\n", style="cyan")
    t.append("       keys found now: " + (", ".join(keys) if keys else "none"), style="dim")
    t.append("\n\n  esc  ", style="bold reverse")
    t.append("  close this and look around")
    return t


class WelcomeScreen(ModalScreen[str]):
    BINDINGS = [
        Binding("o", "choose('oracle')", "oracle run"),
        Binding("i", "choose('import')", "import upstream"),
        Binding("m", "choose('model')", "real model"),
        Binding("escape", "choose('')", "close"),
    ]
    DEFAULT_CSS = """
    WelcomeScreen { align: center middle; }
    WelcomeScreen > Vertical { width: 100; height: auto; border: thick $primary; padding: 1 2; background: $panel; }
    """

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(welcome_text(self.db_path), id="welcome-text")
        yield Footer()

    def action_choose(self, what: str) -> None:
        self.dismiss(what)
