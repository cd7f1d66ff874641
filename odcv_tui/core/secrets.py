"""Keeping provider keys out of runs.db and logs: provider error messages sometimes echo (part of) the key,
and those messages are stored as run errors and judge failures."""

from __future__ import annotations

import os
import re

_KEYLIKE = re.compile(r"\b(sk|xai|gsk|AIza|key)[-_A-Za-z0-9]{12,}")
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.I)


def redact(text: str) -> str:
    """Replace the value of every secret-looking environment variable, and anything shaped like a provider
    key, with `[redacted]`."""
    for name, value in os.environ.items():
        if len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)
