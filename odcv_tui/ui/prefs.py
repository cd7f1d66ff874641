"""What the TUI remembers between sessions (today: the labeler name), in `$XDG_CONFIG_HOME/odcv/tui.json`
(default `~/.config/odcv/tui.json`). Headless. Never holds secrets; a missing, unreadable or read-only file
only means nothing is remembered, never an error in the middle of a labeling session."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "odcv" / "tui.json"


def load() -> dict[str, Any]:
    try:
        data = json.loads(config_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(key: str, value: Any) -> bool:
    """Store one value (atomic replace, so a crash never leaves half a file); False when it could not be written."""
    path = config_path()
    data = load()
    if data.get(key) == value:
        return True
    data[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tui-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, path)
    except OSError:
        return False
    return True
