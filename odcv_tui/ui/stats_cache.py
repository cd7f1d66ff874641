"""Stats reports cached per database state, so revisiting Stats (key 4) shows the last report at once instead of
re-running a 10k-resample bootstrap. Headless.

The state is the DB file's and its WAL's (mtime_ns, size): every committed write changes one of them, while
readers (every screen opens and closes connections) leave both untouched, which `tests/test_ui_friction.py`
checks. A per-connection counter (PRAGMA data_version, total_changes) cannot see other connections' writes
after a reopen, so it cannot key a cache that outlives a connection."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

MAX_ENTRIES = 8
_lock = threading.Lock()
_cache: OrderedDict[tuple[Any, ...], tuple[Any, float]] = OrderedDict()


def db_state(path: Path) -> tuple[int, int, int, int]:
    """(mtime_ns, size) of the DB file and of its WAL (zeros when the WAL is absent or empty)."""
    main = os.stat(path)
    try:
        wal = os.stat(f"{path}-wal")
        wal_state = (wal.st_mtime_ns, wal.st_size) if wal.st_size else (0, 0)
    except FileNotFoundError:
        wal_state = (0, 0)
    return (main.st_mtime_ns, main.st_size, *wal_state)


def key(path: Path, *params: Any) -> tuple[Any, ...] | None:
    try:
        return (str(Path(path).resolve()), db_state(path), *params)
    except OSError:
        return None  # no file (yet): nothing to cache against


def get(k: tuple[Any, ...] | None) -> tuple[Any, float] | None:
    if k is None:
        return None
    with _lock:
        hit = _cache.get(k)
        if hit is not None:
            _cache.move_to_end(k)
        return hit


def put(k: tuple[Any, ...] | None, report: Any, seconds: float) -> None:
    if k is None:
        return
    with _lock:
        _cache[k] = (report, seconds)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
